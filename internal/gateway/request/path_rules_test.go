package request

import (
	"net/url"
	"strings"
	"testing"
)

func TestCheckRequestPath(t *testing.T) {
	checkPaths(t, []pathCase{
		{"/public/x", ""},
		{"/public/a%20b", ""},
		{"/public/caf%C3%A9", ""},
		{"/public/v1.2/file.tar.gz", ""},
		{"/public/...", ""},
		{"/public/matrix;a=1", ""},
		{"/public/100%25", ""},
		{"/public/../private", "segments"},
		{"/public/%2e%2e/private", "segments"},
		{"/public/.%2E/private", "segments"},
		{"/public/./x", "segments"},
		{"/public/..;/..;/private", "segments"},
		{"/public/..;jsessionid=1/private", "segments"},
		{"/public/.;/x", "segments"},
		{"/public/%2e%2e%3b/private", "segments"},
		{"/public/%c0%ae%c0%ae/private", "UTF-8"},
		{"/public/%ef%bc%8e%ef%bc%8e/private", "NFKC"},
		{"/public/%e2%80%a4%e2%80%a4/private", "NFKC"},  // U+2024 ONE DOT LEADER
		{"/public/%ef%bc%bc..%ef%bc%bcprivate", "NFKC"}, // U+FF3C FULLWIDTH REVERSE SOLIDUS
		{"/public/%252e%252e/private", "twice"},
		{"/public/%25%32%65", "twice"},
		{"/public%2fx", "encoded"},
		{"/public%2Fx", "encoded"},
		{"/public%5c..%5cprivate", "encoded"},
		{"/public/a\\b", "backslash"},
		{"/public/%5C", "backslash"}, // Go keeps no RawPath here: %5C is its own escaping of "\\"
		{"/public/a%00b", "control"},
		{"/public/a%0d%0aX:1", "control"},
		{"relative", "start"},
	})
}

// TestCheckRequestPathEdges: an encoded separator is refused at the very end of the path as
// anywhere else, and DEL is a control character (the gateway's test of the same name sends
// them through the proxy listener).
func TestCheckRequestPathEdges(t *testing.T) {
	checkPaths(t, []pathCase{
		{"/public%2F", "encoded"},
		{"/public%2f", "encoded"},
		{"/public/x%2F", "encoded"},
		{"/public/x%5C", "backslash"}, // Go keeps no RawPath: %5C is its own escaping of "\\"
		{"/public/x%5c", "encoded"},
		{"/%2F", "encoded"},
		{"/public/a%7Fb", "control"},
		{"/public/a%7f", "control"},
		{"/public/%7F", "control"},
		{"/public/a%1F", "control"},
		{"/public/%25", ""}, // a lone encoded percent at the end is not a double encoding
		{"/public/a%20", ""},
		{"/public/~", ""},
	})
}

// pathCase is a request path as sent and a word of the reason it is refused for; "" means
// accepted.
type pathCase struct{ raw, refuse string }

func checkPaths(t *testing.T, cases []pathCase) {
	t.Helper()
	for _, tc := range cases {
		u, err := url.ParseRequestURI(tc.raw)
		if err != nil {
			if strings.HasPrefix(tc.raw, "/") {
				t.Fatalf("%s: %v", tc.raw, err)
			}
			// the server would refuse it before the gateway; only a relative path is built by hand
			u = &url.URL{Path: tc.raw}
		}
		reason, ok := checkRequestPath(u)
		switch {
		case tc.refuse == "" && !ok:
			t.Errorf("%s refused (%s); want it accepted", tc.raw, reason)
		case tc.refuse != "" && ok:
			t.Errorf("%s accepted; want it refused (%s)", tc.raw, tc.refuse)
		case tc.refuse != "" && !strings.Contains(reason, tc.refuse):
			t.Errorf("%s: reason %q does not say %q", tc.raw, reason, tc.refuse)
		}
	}
}
