package token

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestDoReadsOnlyACappedOKBody(t *testing.T) {
	const limit = 16
	for _, tc := range []struct {
		name, body string
		status     int
		wantErr    string
	}{
		{"at the cap", strings.Repeat("x", limit), http.StatusOK, ""},
		{"over the cap", strings.Repeat("x", limit+1), http.StatusOK, "larger than 16 bytes"},
		{"not 200", "{}", http.StatusAccepted, "status 202"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
			body, header, err := do(srv.Client(), req, limit)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || body != nil {
					t.Fatalf("body %q, error %v; want no body and an error with %q", body, err, tc.wantErr)
				}
				return
			}
			if err != nil || string(body) != tc.body || header.Get("Cache-Control") != "max-age=60" {
				t.Fatalf("body %q, header %v, error %v", body, header, err)
			}
		})
	}
}

func TestRedactedHidesThePassword(t *testing.T) {
	for raw, want := range map[string]string{
		"https://gw:s3cret@idp.example.test/jwks": "https://gw:xxxxx@idp.example.test/jwks",
		"https://idp.example.test/introspect":     "https://idp.example.test/introspect",
		"http://[::1":                             "(unparsable URL)",
	} {
		if got := redacted(raw); got != want {
			t.Errorf("redacted(%q) = %q, want %q", raw, got, want)
		}
	}
}
