package accesslog

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", `q"uote\\back`, "ctl\x00\x01\n\t\x7f", "café ü 漢字", "bad\xff\xfeutf8", "</script>"} {
		b := appendJSONString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Errorf("%q encodes as %s, not JSON: %v", s, b, err)
			continue
		}
		want := string([]rune(s)) // each invalid byte becomes U+FFFD
		if got != want {
			t.Errorf("%q round-trips as %q", s, got)
		}
	}
}

// chunkRecorder records the size of every write it gets.
type chunkRecorder struct{ writes [][]byte }

func (c *chunkRecorder) Write(p []byte) (int, error) {
	c.writes = append(c.writes, append([]byte(nil), p...))
	return len(p), nil
}

func TestWholeLinesWritesWholeLinesOfAtMostPipeBuf(t *testing.T) {
	var rec chunkRecorder
	var in []byte
	for i := 0; i < 200; i++ {
		in = append(in, strings.Repeat("x", i*7%300)+"\n"...)
	}
	long := strings.Repeat("y", 9000) + "\n"
	in = append(in, long...)
	if n, err := (wholeLines{&rec}).Write(in); err != nil || n != len(in) {
		t.Fatalf("wrote %d of %d: %v", n, len(in), err)
	}
	var joined []byte
	for _, w := range rec.writes {
		if w[len(w)-1] != '\n' {
			t.Errorf("a write ends mid-line: ...%q", w[max(0, len(w)-10):])
		}
		if len(w) > pipeAtomicWrite && string(w) != long {
			t.Errorf("a write of %d bytes holds more than one long line", len(w))
		}
		joined = append(joined, w...)
	}
	if string(joined) != string(in) {
		t.Error("the writes do not add up to the input")
	}
	if len(rec.writes) < 2 {
		t.Errorf("%d writes for %d bytes", len(rec.writes), len(in))
	}
}
