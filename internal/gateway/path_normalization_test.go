package gateway

import (
	"net/http"
	"strings"
	"testing"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
)

// The attacker's probes of issue 23: a permissive API at "/" beside /orders on the same
// backend, and spellings of /orders/private/x that the gateway routed to "/" while the backend
// reads /orders/private/x. With each path_normalization, through the proxy and the decision
// endpoint alike.
func TestAmbiguousSpellingsDoNotReachAnotherAPI(t *testing.T) {
	probes := []string{"/orders;x=1/private/x", "/orders./private/x", "/orders%3b/private/x", "/orders%3B/private/x",
		"/orders%20/private/x", "/orders%2e/private/x", "/orders%ef%bc%8fprivate/x", "//orders/private/x", "/orders/private/x."}
	setup := func(t *testing.T, mode string, caseInsensitive bool) (*harness, *recordingUpstream, string) {
		h := newHarness(t)
		up := newRecordingUpstream(t)
		root := h.createAPI(adminapi.API{Name: "root", ListenPath: "/", UpstreamURL: up.URL, PathNormalization: mode})
		orders := h.createAPI(adminapi.API{Name: "orders", ListenPath: "/orders", UpstreamURL: up.URL, PathNormalization: mode,
			CaseInsensitivePaths: caseInsensitive})
		h.createPolicy(adminapi.Policy{Name: "p", ClientIDs: []string{"app"}, AccessRights: []adminapi.AccessRight{
			{APIID: root.ID}, {APIID: orders.ID, Paths: []string{"/public/**"}}}})
		return h, up, h.fake.token("t", token.Identity{ClientID: "app"})
	}
	ask := func(t *testing.T, h *harness, tok, target string) (proxy, decision int) {
		addr := strings.TrimPrefix(h.proxy.URL, "http://")
		proxy, _ = rawExchange(t, addr, "GET "+target+" HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer "+tok+"\r\nConnection: close\r\n\r\n")
		decision, _ = decisionRaw(t, addr, DefaultDecisionPath, tok, "X-Forwarded-Method", "GET", "X-Forwarded-Uri", target)
		return proxy, decision
	}

	t.Run("reject_request by default", func(t *testing.T) {
		h, up, tok := setup(t, "", false)
		for _, p := range probes {
			if proxy, decision := ask(t, h, tok, p); proxy != http.StatusBadRequest || decision != http.StatusBadRequest {
				t.Errorf("%s: proxy %d, decision %d; want 400", p, proxy, decision)
			}
		}
		if got := up.received(); len(got) != 0 {
			t.Errorf("the upstream received %q", got)
		}
		if proxy, decision := ask(t, h, tok, "/orders/public/a%20b"); proxy != http.StatusOK || decision != http.StatusOK {
			t.Errorf("an unambiguous path: proxy %d, decision %d; want 200", proxy, decision)
		}
	})
	t.Run("normalize_and_forward", func(t *testing.T) {
		h, up, tok := setup(t, adminapi.PathNormalizationNormalize, false)
		for _, p := range probes {
			if proxy, decision := ask(t, h, tok, p); proxy != http.StatusForbidden || decision != http.StatusForbidden {
				t.Errorf("%s: proxy %d, decision %d; want 403 (decided as /orders/private/x)", p, proxy, decision)
			}
		}
		if got := up.received(); len(got) != 0 {
			t.Errorf("the upstream received %q", got)
		}
		for _, p := range []string{"/orders;x=1/public/x", "//orders/public//x", "/orders%ef%bc%8fpublic/x.", "/orders/public;a/x%20"} {
			if proxy, decision := ask(t, h, tok, p); proxy != http.StatusOK || decision != http.StatusOK {
				t.Errorf("%s: proxy %d, decision %d; want 200", p, proxy, decision)
			}
		}
		if got := up.received(); len(got) != 4 || strings.Join(got, " ") != strings.Repeat("GET /orders/public/x ", 3)+"GET /orders/public/x" {
			t.Errorf("the upstream received %q; want the normal form each time", got)
		}
	})
	t.Run("keep_unchanged", func(t *testing.T) {
		h, up, tok := setup(t, adminapi.PathNormalizationKeep, false)
		// what the API chose: the spelling reaches "/" as sent
		if proxy, decision := ask(t, h, tok, "/orders;x=1/private/x"); proxy != http.StatusOK || decision != http.StatusOK {
			t.Errorf("keep_unchanged: proxy %d, decision %d; want 200", proxy, decision)
		}
		if got := up.received(); len(got) != 1 || got[0] != "GET /orders;x=1/private/x" {
			t.Errorf("the upstream received %q", got)
		}
	})
	t.Run("one stricter API decides", func(t *testing.T) {
		h := newHarness(t)
		up := newRecordingUpstream(t)
		root := h.createAPI(adminapi.API{Name: "root", ListenPath: "/", UpstreamURL: up.URL, PathNormalization: adminapi.PathNormalizationKeep})
		orders := h.createAPI(adminapi.API{Name: "orders", ListenPath: "/orders", UpstreamURL: up.URL})
		h.createPolicy(adminapi.Policy{Name: "p", ClientIDs: []string{"app"}, AccessRights: []adminapi.AccessRight{{APIID: root.ID}, {APIID: orders.ID}}})
		tok := h.fake.token("t", token.Identity{ClientID: "app"})
		if proxy, decision := ask(t, h, tok, "/orders;x=1/private/x"); proxy != http.StatusBadRequest || decision != http.StatusBadRequest {
			t.Errorf("keep_unchanged at / but reject_request at /orders: proxy %d, decision %d; want 400", proxy, decision)
		}
	})
	t.Run("case_insensitive_paths", func(t *testing.T) {
		h, up, tok := setup(t, "", true)
		for _, p := range []string{"/ORDERS/private/x", "/Orders/Private/x", "/orders/PRIVATE/x"} {
			if proxy, decision := ask(t, h, tok, p); proxy != http.StatusForbidden || decision != http.StatusForbidden {
				t.Errorf("%s: proxy %d, decision %d; want 403 (decided as /orders/private/x)", p, proxy, decision)
			}
		}
		for _, p := range []string{"/ORDERS/Public/ID-42", "/orders/PUBLIC/ID-42"} {
			if proxy, decision := ask(t, h, tok, p); proxy != http.StatusOK || decision != http.StatusOK {
				t.Errorf("%s: proxy %d, decision %d; want 200", p, proxy, decision)
			}
		}
		if got := up.received(); len(got) != 2 || got[0] != "GET /ORDERS/Public/ID-42" || got[1] != "GET /orders/PUBLIC/ID-42" {
			t.Errorf("the upstream received %q; want the path as sent (values keep their case)", got)
		}
	})
	t.Run("case_insensitive_paths at /, another API below", func(t *testing.T) {
		h := newHarness(t)
		up := newRecordingUpstream(t)
		root := h.createAPI(adminapi.API{Name: "root", ListenPath: "/", UpstreamURL: up.URL, CaseInsensitivePaths: true})
		orders := h.createAPI(adminapi.API{Name: "orders", ListenPath: "/orders", UpstreamURL: up.URL})
		h.createPolicy(adminapi.Policy{Name: "p", ClientIDs: []string{"app"}, AccessRights: []adminapi.AccessRight{{APIID: root.ID}, {APIID: orders.ID, Paths: []string{"/public/**"}}}})
		tok := h.fake.token("t", token.Identity{ClientID: "app"})
		if proxy, decision := ask(t, h, tok, "/ORDERS/private/x"); proxy != http.StatusBadRequest || decision != http.StatusBadRequest {
			t.Errorf("/ORDERS/private/x: proxy %d, decision %d; want 400", proxy, decision)
		}
		if proxy, _ := ask(t, h, tok, "/Other/x"); proxy != http.StatusOK {
			t.Errorf("/Other/x: %d; want 200 from the case-insensitive /", proxy)
		}
	})
}

// strip_listen_path cuts the listen path that routing matched: in another case for a
// case-insensitive API, and from the normal form for normalize_and_forward.
func TestStripListenPathAfterNormalizationAndCase(t *testing.T) {
	h := newHarness(t)
	up := newRecordingUpstream(t)
	ci := h.createAPI(adminapi.API{Name: "ci", ListenPath: "/iis", UpstreamURL: up.URL, StripListenPath: true, CaseInsensitivePaths: true})
	norm := h.createAPI(adminapi.API{Name: "norm", ListenPath: "/java/app", UpstreamURL: up.URL, StripListenPath: true,
		PathNormalization: adminapi.PathNormalizationNormalize})
	h.createPolicy(adminapi.Policy{Name: "p", ClientIDs: []string{"app"}, AccessRights: []adminapi.AccessRight{{APIID: ci.ID}, {APIID: norm.ID}}})
	tok := h.fake.token("t", token.Identity{ClientID: "app"})
	addr := strings.TrimPrefix(h.proxy.URL, "http://")
	for target, want := range map[string]string{
		"/IIS/Items/A%20B":                   "GET /Items/A%20B",
		"/iis":                               "GET /",
		"/java;jsessionid=1/app//items./x;v": "GET /items/x",
		"/java/app/items%3bx/y":              "GET /items/y",
	} {
		before := len(up.received())
		if status, body := rawExchange(t, addr, "GET "+target+" HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer "+tok+"\r\nConnection: close\r\n\r\n"); status != http.StatusOK {
			t.Errorf("%s: %d %s", target, status, body)
			continue
		}
		if got := up.received()[before:]; len(got) != 1 || got[0] != want {
			t.Errorf("%s: the upstream received %q, want %q", target, got, want)
		}
	}
}
