package request

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
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
		{"/public/a%2541", "twice"},
		{"/public/a%254", ""}, // one hex digit before the end
		{"/public/a%254g", ""},
		{"/public/a%25g4", ""},
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

// TestCheckRequestTarget: the limits hold at their boundaries (up to them a target passes, one
// byte or one segment over it is refused with its own status), slashes in the query do not
// count as segments, and a raw "#" is refused wherever it is. A forwarded URI
// (checkForwardedURI) is refused for the same, and for a comma, a space or a tab anywhere.
func TestCheckRequestTarget(t *testing.T) {
	long := func(n int) string { return "/" + strings.Repeat("a", n-1) }
	segs := func(n int) string { return strings.Repeat("/a", n) }
	for _, tc := range []struct {
		name, target string
		status       int // 0: accepted
		reason       string
		forwarded    bool
	}{
		{"at the length limit", long(adminapi.MaxRequestTargetBytes), 0, "", false},
		{"one byte over the length limit", long(adminapi.MaxRequestTargetBytes + 1), http.StatusRequestURITooLong, "longer than 8192 bytes", false},
		{"at the segment limit", segs(adminapi.MaxPathSegments), 0, "", false},
		{"one segment over", segs(adminapi.MaxPathSegments + 1), http.StatusBadRequest, "more than 255 segments", false},
		{"slashes in the query", "/a?q=" + strings.Repeat("/", adminapi.MaxPathSegments+1), 0, "", false},
		{"a fragment in the path", "/a#/b", http.StatusBadRequest, "#", false},
		{"a fragment in the query", "/a?q=1#x", http.StatusBadRequest, "#", false},
		{"a fragment as the last byte", "/a#", http.StatusBadRequest, "#", false},
		{"empty", "", 0, "", false},
		{"forwarded", "/public/x?a=1", 0, "", true},
		{"forwarded, two joined", "/public/x, /private/x", 400, "commas or whitespace", true},
		{"forwarded, a comma last", "/public/x,", 400, "commas or whitespace", true},
		{"forwarded, a comma first", ",/private/x", 400, "commas or whitespace", true},
		{"forwarded, a space", "/public/x /private/x", 400, "commas or whitespace", true},
		{"forwarded, a tab", "/public/x\t", 400, "commas or whitespace", true},
		{"forwarded, a fragment", "/public/x#/private", 400, "#", true},
		{"forwarded, one segment over", segs(adminapi.MaxPathSegments + 1), 400, "segments", true},
	} {
		ref := checkRequestTarget(tc.target)
		if tc.forwarded {
			ref = checkForwardedURI(tc.target)
		}
		switch {
		case tc.status == 0 && ref != nil:
			t.Errorf("%s: refused (%d %s)", tc.name, ref.status, ref.description)
		case tc.status != 0 && ref == nil:
			t.Errorf("%s: accepted; want %d", tc.name, tc.status)
		case tc.status != 0 && (ref.status != tc.status || ref.code != "invalid_request" || !strings.Contains(ref.description, tc.reason)):
			t.Errorf("%s: %d %s %q; want %d invalid_request saying %q", tc.name, ref.status, ref.code, ref.description, tc.status, tc.reason)
		}
	}
}

// TestRequestTarget: the target is the request line's as received; a request built in
// process without one has its URL's.
func TestRequestTarget(t *testing.T) {
	r := httptest.NewRequest("GET", "/a%2Fb?q=1", nil)
	if got := requestTarget(r); got != "/a%2Fb?q=1" {
		t.Errorf("received request: %q", got)
	}
	r.RequestURI = ""
	r.URL.Path, r.URL.RawPath = "/c/d", ""
	if got := requestTarget(r); got != "/c/d?q=1" {
		t.Errorf("request built in process: %q", got)
	}
}

// TestCheckDecodedPathASCII: a byte at or above utf8.RuneSelf makes a path non-ASCII (NFKC is
// then applied), the byte below does not.
func TestCheckDecodedPathASCII(t *testing.T) {
	for path, want := range map[string]bool{"/a\x7e": true, "/a\x80": false} {
		if reason, ascii := checkDecodedPath(path); reason != "" || ascii != want {
			t.Errorf("%q: %q, ascii %v; want ascii %v", path, reason, ascii, want)
		}
	}
}
