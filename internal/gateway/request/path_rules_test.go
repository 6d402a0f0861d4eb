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
// count as segments, and a raw "#" is refused wherever it is.
func TestCheckRequestTarget(t *testing.T) {
	long := func(n int) string { return "/" + strings.Repeat("a", n-1) }
	segs := func(n int) string { return strings.Repeat("/a", n) }
	for _, tc := range []struct {
		name, target string
		status       int // 0: accepted
		reason       string
	}{
		{"at the length limit", long(adminapi.MaxRequestTargetBytes), 0, ""},
		{"one byte over the length limit", long(adminapi.MaxRequestTargetBytes + 1), http.StatusRequestURITooLong, "longer than 8192 bytes"},
		{"at the segment limit", segs(adminapi.MaxPathSegments), 0, ""},
		{"one segment over", segs(adminapi.MaxPathSegments + 1), http.StatusBadRequest, "more than 255 segments"},
		{"slashes in the query", "/a?q=" + strings.Repeat("/", adminapi.MaxPathSegments+1), 0, ""},
		{"a fragment in the path", "/a#/b", http.StatusBadRequest, "#"},
		{"a fragment in the query", "/a?q=1#x", http.StatusBadRequest, "#"},
		{"a fragment as the last byte", "/a#", http.StatusBadRequest, "#"},
		{"empty", "", 0, ""},
	} {
		ref := checkRequestTarget(tc.target)
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

// TestCheckForwardedURI: a forwarded URI is refused for what refuses a request target, and
// for a comma, a space or a tab anywhere, also as its last byte.
func TestCheckForwardedURI(t *testing.T) {
	for uri, refused := range map[string]string{
		"/public/x?a=1":                 "",
		"/public/x, /private/x":         "commas or whitespace",
		"/public/x,":                    "commas or whitespace",
		",/private/x":                   "commas or whitespace",
		"/public/x /private/x":          "commas or whitespace",
		"/public/x\t":                   "commas or whitespace",
		"/public/x#/private":            "#",
		"/a" + strings.Repeat("/", 255): "segments",
	} {
		ref := checkForwardedURI(uri)
		switch {
		case refused == "" && ref != nil:
			t.Errorf("%q refused: %s", uri, ref.description)
		case refused != "" && ref == nil:
			t.Errorf("%q accepted; want it refused (%s)", uri, refused)
		case refused != "" && !strings.Contains(ref.description, refused):
			t.Errorf("%q: %q does not say %q", uri, ref.description, refused)
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

// TestCheckDecodedPathBoundaries: the byte rules at the edges of their ranges: 0x1f and DEL
// are control characters, space and "~" are not; "%" followed by two hex digits is a double
// encoding, by one at the end of the path or by a non-hex byte it is not; a byte at or above
// utf8.RuneSelf makes the path non-ASCII (NFKC is then applied), one below does not.
func TestCheckDecodedPathBoundaries(t *testing.T) {
	for _, tc := range []struct {
		path, refuse string
		ascii        bool
	}{
		{"/a\x1fb", "control", true},
		{"/a b", "", true},
		{"/a\x7f", "control", true},
		{"/a~", "", true},
		{"/a\\", "backslash", true},
		{"/a%41", "twice", true},
		{"/a%4", "", true},
		{"/a%4g", "", true},
		{"/a%g4", "", true},
		{"/a%", "", true},
		{"/a\x80", "", false},
		{"/é", "", false},
		{"/a\x7e", "", true},
		{"/a/../b", "segments", true},
	} {
		reason, ascii := checkDecodedPath(tc.path)
		if tc.refuse == "" && reason != "" || tc.refuse != "" && !strings.Contains(reason, tc.refuse) {
			t.Errorf("%q: reason %q, want one saying %q", tc.path, reason, tc.refuse)
		}
		if reason == "" && ascii != tc.ascii {
			t.Errorf("%q: ascii %v, want %v", tc.path, ascii, tc.ascii)
		}
	}
}
