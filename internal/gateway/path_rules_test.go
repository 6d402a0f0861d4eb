package gateway

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
)

// Route lookup tries no prefix deeper than the deepest listen path, kept up to date as APIs
// come and go, so a path of any length costs a few map lookups (BenchmarkLongPath).
func TestRouteLookupStopsAtTheDeepestListenPath(t *testing.T) {
	h := newHarness(t)
	const up = "http://upstream.internal"
	h.createAPI(adminapi.API{Name: "a", ListenPath: "/a", UpstreamURL: up})
	deep := h.createAPI(adminapi.API{Name: "deep", ListenPath: "/a/b/c/", UpstreamURL: up})
	check := func(maxDepth int, routes map[string]string) {
		t.Helper()
		snap := h.gw.config.Snapshot()
		if snap.MaxDepth() != maxDepth {
			t.Errorf("maxDepth %d, want %d", snap.MaxDepth(), maxDepth)
		}
		for path, want := range routes {
			got := ""
			if rt := snap.Lookup("gw", path); rt != nil {
				got = rt.Name
			}
			if got != want {
				t.Errorf("%s routed to %q, want %q", path, got, want)
			}
		}
	}
	check(3, map[string]string{"/a/b/c/d/e": "deep", "/a/b/c": "deep", "/a/b/c/": "deep", "/a/b/cd": "a", "/a/b": "a",
		"/a": "a", "/ab": "", "/": "", "/a" + strings.Repeat("/b", 1000): "a"})
	if err := h.admin.DeleteAPI(t.Context(), deep.ID); err != nil {
		t.Fatal(err)
	}
	check(1, map[string]string{"/a/b/c/d": "a", "/a": "a"})
	h.createAPI(adminapi.API{Name: "root", ListenPath: "/", UpstreamURL: up})
	check(1, map[string]string{"/a/b/c/d": "a", "/b/c": "root", "/": "root"})
}

// TestPathFormsReachTheUpstreamAsChecked sends each form through a gateway whose policy grants
// /public/** only. The forms that some upstream reads as another path are refused; the others
// reach the upstream as a request line whose segments, each decoded, are exactly the segments
// the policy checked.
func TestPathFormsReachTheUpstreamAsChecked(t *testing.T) {
	h := newHarness(t)
	up := newEchoUpstream(t)
	// keep_unchanged: the ambiguous spellings of path_normalization pass (";" below); the
	// rules of request/path_rules.go hold whatever an API chooses.
	api := h.createAPI(adminapi.API{Name: "svc", ListenPath: "/svc", UpstreamURL: up.URL, PathNormalization: adminapi.PathNormalizationKeep})
	h.createPolicy(adminapi.Policy{Name: "p", ClientIDs: []string{"app"},
		AccessRights: []adminapi.AccessRight{{APIID: api.ID, Paths: []string{"/public/**"}}}})
	tok := h.fake.token("t", token.Identity{ClientID: "app"})
	addr := strings.TrimPrefix(h.proxy.URL, "http://")
	send := func(form string) (int, string) {
		return rawExchange(t, addr, "GET /svc"+form+" HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer "+tok+"\r\nConnection: close\r\n\r\n")
	}

	for _, form := range []string{ // read as /private by Tomcat, IIS, NFKC or double-decoding upstreams
		"/public/..;/..;/private", "/public/%c0%ae%c0%ae/private", "/public/%ef%bc%8e%ef%bc%8e/private",
		"/public/%252e%252e/private", "/public%2fx", "/public/x%2f..%2f..%2fprivate", "/public/%2e%2e/private",
		"/public/../private", "/public/..%5cprivate", "/public/%5c..%5c..%5cprivate",
	} {
		if status, body := send(form); status != http.StatusBadRequest {
			t.Errorf("%s: status %d (%s); want 400", form, status, body)
		}
	}
	for _, form := range []string{"/public/a%20b", "/public/caf%C3%A9", "/public/x;a=1", "/public/a%3Fb/c%23d", "/public/100%25"} {
		status, body := send(form)
		if status != http.StatusOK {
			t.Errorf("%s: status %d (%s); want 200", form, status, body)
			continue
		}
		checked := strings.Split(mustUnescape(t, "/svc"+form), "/")
		var received []string
		for _, seg := range strings.Split(decodeEcho(t, []byte(body)).URI, "/") {
			received = append(received, mustUnescape(t, seg))
		}
		if !slices.Equal(received, checked) {
			t.Errorf("%s: the upstream received segments %q; the policy checked %q", form, received, checked)
		}
	}
}

func mustUnescape(t *testing.T, p string) string {
	t.Helper()
	s, err := url.PathUnescape(p)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
