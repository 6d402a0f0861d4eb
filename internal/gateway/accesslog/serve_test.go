package accesslog

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestServeWritesOneLinePerRequest: the line carries what the checks decided, the status the
// handler wrote first (200 when it only wrote a body), the bytes written and the client's
// path and address as JSON strings, whatever they hold.
func TestServeWritesOneLinePerRequest(t *testing.T) {
	var out bytes.Buffer
	l := New(&out, nil)
	serve := func(status int, body string, c *Checked) map[string]any {
		t.Helper()
		out.Reset()
		r := httptest.NewRequest(http.MethodPost, "/orders/%22x%5C%01", nil)
		r.RemoteAddr = "192.0.2.1:4321"
		l.Serve(httptest.NewRecorder(), r, func(w http.ResponseWriter, r *http.Request, rec *Record) {
			rec.Request(r)
			if c != nil {
				rec.Decided(*c)
				rec.Upstream = 1500 * time.Microsecond
			}
			if status != 0 {
				w.WriteHeader(status)
				w.WriteHeader(http.StatusTeapot) // ignored, as net/http does
			}
			_, _ = w.Write([]byte(body))
		})
		l.Flush()
		var line map[string]any
		if err := json.Unmarshal(out.Bytes(), &line); err != nil || bytes.Count(out.Bytes(), []byte("\n")) != 1 {
			t.Fatalf("not one JSON line: %q (%v)", out.String(), err)
		}
		return line
	}

	got := serve(http.StatusForbidden, "denied", &Checked{Outcome: "forbidden", API: "orders", APIID: "api_1",
		ClientID: "app", Subject: "sub\"1", Policy: "pol_1"})
	want := map[string]any{"level": "INFO", "msg": "access", "api": "orders", "method": "POST",
		"path": "/orders/%22x%5C%01", "status": 403.0, "outcome": "forbidden", "client_id": "app",
		"subject": "sub\"1", "policy": "pol_1", "upstream_ms": 1.5, "bytes": 6.0, "remote": "192.0.2.1:4321",
		"decision": false}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %#v, want %#v (line %v)", k, got[k], v, got)
		}
	}
	if _, ok := got["trace_id"]; ok {
		t.Errorf("trace_id without tracing: %v", got)
	}
	if ts, _ := got["time"].(string); ts == "" {
		t.Errorf("no time: %v", got)
	} else if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
		t.Errorf("time %q: %v", ts, err)
	}

	got = serve(0, "ok!", nil)
	if got["status"] != 200.0 || got["bytes"] != 3.0 || got["outcome"] != "" || got["upstream_ms"] != 0.0 {
		t.Errorf("a body without a status is a 200 of 3 bytes with nothing decided: %v", got)
	}
	l.Close()
}

// TestNewIsNilWhenOff: no writer and no tracing is no log, and its methods are safe on nil.
func TestNewIsNilWhenOff(t *testing.T) {
	if l := New(nil, nil); l != nil {
		t.Fatalf("New(nil, nil) = %v, want nil", l)
	}
	var rec *Record
	rec.Request(httptest.NewRequest(http.MethodGet, "/", nil))
	rec.Decided(Checked{Outcome: "forwarded"})
	var l *Log
	l.Close()
}
