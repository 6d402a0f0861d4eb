package accesslog

import (
	"slices"
	"strings"
	"testing"
)

// TestWholeLinesAtThePipeBoundary: a line of exactly pipeAtomicWrite bytes is written whole
// in one write; one byte more (4,097) is written alone, never joined to a neighbour nor split;
// lines that together pass the boundary by one byte are two writes.
func TestWholeLinesAtThePipeBoundary(t *testing.T) {
	line := func(n int) string { return strings.Repeat("x", n-1) + "\n" } // n bytes, newline included
	for _, tc := range []struct {
		name  string
		lines []string
		want  []int // the sizes of the writes
	}{
		{"one line of 4096", []string{line(4096)}, []int{4096}},
		{"one line of 4097", []string{line(4097)}, []int{4097}},
		{"4096 then 4097", []string{line(4096), line(4097)}, []int{4096, 4097}},
		{"4097 then a short line", []string{line(4097), line(10)}, []int{4097, 10}},
		{"a short line then 4097", []string{line(10), line(4097)}, []int{10, 4097}},
		{"two lines of 2048", []string{line(2048), line(2048)}, []int{4096}},
		{"2048 and 2049", []string{line(2048), line(2049)}, []int{2048, 2049}},
		{"4095 then 2", []string{line(4095), line(2)}, []int{4095, 2}},
		{"4094 then 2", []string{line(4094), line(2)}, []int{4096}},
		{"10 and 4086 then 5", []string{line(10), line(4086), line(5)}, []int{4096, 5}},
	} {
		var rec chunkRecorder
		in := strings.Join(tc.lines, "")
		if n, err := (wholeLines{&rec}).Write([]byte(in)); err != nil || n != len(in) {
			t.Fatalf("%s: wrote %d of %d: %v", tc.name, n, len(in), err)
		}
		var got []int
		var joined strings.Builder
		for _, w := range rec.writes {
			got = append(got, len(w))
			joined.Write(w)
		}
		if !slices.Equal(got, tc.want) || joined.String() != in {
			t.Errorf("%s: writes of %v bytes, want %v", tc.name, got, tc.want)
		}
	}
}

// TestAccessLogNeverSplitsALineAcrossFlushes: when the buffer fills, the lines in it are
// written and the line that did not fit starts the next write; no write ends mid-line, so
// another writer on the same pipe cannot interleave inside a line.
func TestAccessLogNeverSplitsALineAcrossFlushes(t *testing.T) {
	var rec chunkRecorder
	l := New(&rec, nil)
	var in strings.Builder
	for i := range 3 * bufferSize / 300 {
		line := []byte(strings.Repeat("x", 200+i%199) + "\n")
		in.Write(line)
		l.writeLine(line)
	}
	l.Close()
	var joined strings.Builder
	for _, w := range rec.writes {
		if w[len(w)-1] != '\n' {
			t.Fatalf("a write of %d bytes ends mid-line", len(w))
		}
		joined.Write(w)
	}
	if joined.String() != in.String() {
		t.Error("the writes do not add up to the lines")
	}
}
