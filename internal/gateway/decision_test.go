package gateway

import (
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
)

// decisionGateway protects /orders (GET only, 2 requests a minute for client "app") with a
// forwarded claim, and returns a token of "app" and one of "intruder".
func decisionGateway(t *testing.T, options ...func(*Options)) (h *harness, app, intruder string) {
	h = newHarnessIn(t, t.TempDir(), newFakeValidators(), options...)
	up := newEchoUpstream(t)
	api := h.createAPI(adminapi.API{Name: "orders", ListenPath: "/orders", UpstreamURL: up.URL,
		ForwardClaims: map[string]string{"X-Tenant": "tenant"},
		JWT:           &adminapi.JWTValidation{Issuer: "https://i", JWKSURI: "https://i/k", RequiredScopes: []string{"orders"}}})
	h.createPolicy(adminapi.Policy{Name: "gold", ClientIDs: []string{"app"},
		AccessRights: []adminapi.AccessRight{{APIID: api.ID, Methods: []string{"GET"}}},
		RateLimit:    &adminapi.Limit{Requests: 2, Per: adminapi.Duration(time.Minute)}})
	app = h.fake.token("app-token", token.Identity{Subject: "alice", ClientID: "app", Scopes: []string{"orders"},
		Claims: map[string]any{"tenant": "acme"}})
	intruder = h.fake.token("intruder-token", token.Identity{Subject: "mallory", ClientID: "intruder", Scopes: []string{"orders"}})
	return h, app, intruder
}

// decide sends a decision request to path on the proxy listener with the given headers
// (name, value pairs) and returns the answer with its body read.
func (h *harness) decide(path, bearer string, hdr ...string) (*http.Response, string) {
	h.t.Helper()
	resp := h.do("GET", path, bearer, hdr...)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func TestDecisionAnswers(t *testing.T) {
	h, app, intruder := decisionGateway(t)
	fwd := func(method, uri string) []string {
		return []string{"X-Forwarded-Method", method, "X-Forwarded-Uri", uri}
	}

	resp, body := h.decide("/_idpgate/decide", app, fwd("GET", "/orders/1?x=1")...)
	if resp.StatusCode != http.StatusOK || body != "" {
		t.Fatalf("allowed: %d %q, want 200 and an empty body", resp.StatusCode, body)
	}
	for name, want := range map[string]string{adminapi.HeaderSubject: "alice", adminapi.HeaderClientID: "app",
		adminapi.HeaderScope: "orders", "X-Tenant": "acme", "X-Ratelimit-Remaining": "1"} {
		if got := resp.Header.Get(name); got != want {
			t.Errorf("allowed: %s = %q, want %q", name, got, want)
		}
	}
	if resp.Header.Get(adminapi.HeaderPolicy) == "" {
		t.Error("allowed: no X-Idpgate-Policy")
	}

	resp, _ = h.decide("/_idpgate/decide", "", fwd("GET", "/orders/1")...)
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != `Bearer realm="idpgate"` {
		t.Errorf("no token: %d, WWW-Authenticate %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	if resp, _ = h.decide("/_idpgate/decide", intruder, fwd("GET", "/orders/1")...); resp.StatusCode != http.StatusForbidden {
		t.Errorf("another client: %d, want 403", resp.StatusCode)
	}
	if resp, _ = h.decide("/_idpgate/decide", app, fwd("DELETE", "/orders/1")...); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a method the policy does not grant: %d, want 403", resp.StatusCode)
	}
	resp, _ = h.decide("/_idpgate/decide", app, "X-Original-Method", "GET", "X-Original-URI", "/orders/2") // nginx's names
	if resp.StatusCode != http.StatusOK {
		t.Errorf("X-Original-URI: %d, want 200", resp.StatusCode)
	}
	resp, _ = h.decide("/_idpgate/decide", intruder, "X-Original-Method", "GET", "X-Original-URL", "https://shop.example/orders/2?x=1") // ingress-nginx
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("X-Original-URL: %d, want the intruder's 403", resp.StatusCode)
	}
	resp, _ = h.decide("/_idpgate/decide", app, fwd("GET", "/orders/3")...)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || resp.Header.Get("X-Ratelimit-Limit") != "2" {
		t.Errorf("past the limit: %d, headers %v", resp.StatusCode, resp.Header)
	}
	if resp, body = h.decide("/_idpgate/decide", app, fwd("GET", "/unprotected")...); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a request no API serves: %d %s, want the proxy's 404", resp.StatusCode, body)
	}
	if resp, body = h.decide("/_idpgate/decide", app); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "names no request") {
		t.Errorf("a decision request that names nothing: %d %s, want 403 saying so", resp.StatusCode, body)
	}
	if resp, _ = h.decide("/_idpgate/decide", app, fwd("GET", "http://evil/orders/1")...); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("an absolute forwarded URI: %d, want 400", resp.StatusCode)
	}
	if resp, _ = h.decide("/_idpgate/decide", app, fwd("GET", "/orders/../admin")...); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a forwarded URI with dot segments: %d, want 400 (the path rules apply)", resp.StatusCode)
	}
	if !containsLine(h.metricsText(), `idpgate_requests_total{api="orders",outcome="forwarded"} 2`) {
		t.Error("allowed decisions are not counted as the proxy's forwarded requests")
	}
}

// TestDecisionForwardedHeadersFromUntrustedAddresses: when the caller is not a trusted proxy,
// X-Forwarded-* and X-Original-* cannot change the method or the path decided on.
func TestDecisionForwardedHeadersFromUntrustedAddresses(t *testing.T) {
	h, app, _ := decisionGateway(t, func(o *Options) { o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")} })
	lie := []string{"X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/orders/1", "X-Original-Method", "GET", "X-Original-URI", "/orders/1"}

	if resp, body := h.decide("/_idpgate/decide", app, lie...); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "names no request") {
		t.Errorf("forwarded headers alone from an untrusted address: %d %s, want 403", resp.StatusCode, body)
	}
	// Envoy's path_prefix form: the path below the prefix is the request line's own.
	if resp, _ := h.decide("/_idpgate/decide/orders/1", app, lie...); resp.StatusCode != http.StatusOK {
		t.Errorf("path below the prefix: %d, want 200", resp.StatusCode)
	}
	if resp, _ := h.decide("/_idpgate/decide/other/1", app, lie...); resp.StatusCode != http.StatusNotFound {
		t.Errorf("the forwarded URI replaced the request's own path: %d, want 404 for /other/1", resp.StatusCode)
	}
	resp := h.do("DELETE", "/_idpgate/decide/orders/1", app, "X-Forwarded-Method", "GET")
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("X-Forwarded-Method GET on a DELETE from an untrusted address: %d, want 403 (DELETE is not granted)", resp.StatusCode)
	}
}

// TestDecisionAndProxyGiveTheSameVerdict sends the same requests through the proxy and as
// decisions (both forms) and compares status, error code and challenge.
func TestDecisionAndProxyGiveTheSameVerdict(t *testing.T) {
	h, app, intruder := decisionGateway(t)
	type verdict struct {
		status    int
		challenge string
	}
	cases := []struct{ method, path, bearer string }{
		{"GET", "/orders/1", app}, {"GET", "/orders/1", ""}, {"GET", "/orders/1", "forged"},
		{"GET", "/orders/1", intruder}, {"POST", "/orders/1", app}, {"GET", "/nowhere", app},
		{"GET", "/orders/%2e%2e/x", app}, {"GET", "/orders/1", "idp-down"},
	}
	for i, c := range cases {
		// A fresh client per case keeps the rate limit out of the comparison.
		bearer := c.bearer
		if bearer == app {
			bearer = h.fake.token(fmt.Sprintf("app-%d", i), token.Identity{Subject: "alice", ClientID: fmt.Sprintf("app-%d", i),
				Scopes: []string{"orders"}, Policies: []string{"gold"}})
		}
		var got []verdict
		for _, send := range []func() *http.Response{
			func() *http.Response { return h.do(c.method, c.path, bearer) },
			func() *http.Response {
				r, _ := h.decide("/_idpgate/decide", bearer, "X-Forwarded-Method", c.method, "X-Forwarded-Uri", c.path)
				return r
			},
		} {
			resp := send()
			_ = resp.Body.Close()
			got = append(got, verdict{resp.StatusCode, resp.Header.Get("WWW-Authenticate")})
		}
		if got[0] != got[1] {
			t.Errorf("%s %s: proxy %+v, decision %+v", c.method, c.path, got[0], got[1])
		}
	}
}

// TestDecisionClientCannotPickThePath: a trusted proxy sets one pair of forwarded headers and
// passes the client's others through; a client's copy of the other name, or a second value,
// must not decide the path. The path below the prefix, when there is one, is the proxy's own.
func TestDecisionClientCannotPickThePath(t *testing.T) {
	h, app, _ := decisionGateway(t)
	for name, hdr := range map[string][]string{
		"other name, other path":   {"X-Original-URI", "/orders/1", "X-Forwarded-Uri", "/nowhere"},
		"other name, other method": {"X-Original-Method", "GET", "X-Forwarded-Method", "DELETE", "X-Original-URI", "/orders/1"},
		"URL, other path":          {"X-Original-URL", "https://shop.example/orders/1", "X-Forwarded-Uri", "/nowhere"},
	} {
		if resp, body := h.decide("/_idpgate/decide", app, hdr...); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "disagrees") {
			t.Errorf("%s: %d %s, want 400 saying the headers disagree", name, resp.StatusCode, body)
		}
	}
	resp := h.do("GET", "/_idpgate/decide", app, "X-Forwarded-Uri", "/orders/1", "X-Forwarded-Uri", "/nowhere")
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("X-Forwarded-Uri twice: %d, want 400", resp.StatusCode)
	}
	if resp, _ := h.decide("/_idpgate/decide/nowhere", app, "X-Forwarded-Uri", "/orders/1"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("path below the prefix and X-Forwarded-Uri: %d, want the 404 of /nowhere (the request line wins)", resp.StatusCode)
	}
	if resp, _ := h.decide("/_idpgate/decide", app, "X-Original-URI", "/orders/1", "X-Forwarded-Uri", "/orders/1"); resp.StatusCode != http.StatusOK {
		t.Errorf("both names with the same path: %d, want 200", resp.StatusCode)
	}
}

// TestDecisionMatchesHosts: a decision from a trusted proxy is matched by X-Forwarded-Host, as
// the proxy path is by Host; from an untrusted address X-Forwarded-Host is ignored.
func TestDecisionMatchesHosts(t *testing.T) {
	for _, trusted := range []bool{true, false} {
		var opts []func(*Options)
		if !trusted {
			opts = append(opts, func(o *Options) { o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")} })
		}
		h := newHarnessIn(t, t.TempDir(), newFakeValidators(), opts...)
		up := newEchoUpstream(t)
		api := h.createAPI(adminapi.API{Name: "shop", ListenPath: "/", Hosts: []string{"shop.example"}, UpstreamURL: up.URL})
		h.createPolicy(adminapi.Policy{Name: "p", ClientIDs: []string{"app"}, AccessRights: grantAll(api)})
		tok := h.fake.token("t", token.Identity{ClientID: "app"})
		resp, _ := h.decide("/_idpgate/decide/x", tok, "X-Forwarded-Host", "shop.example")
		if want := http.StatusNotFound; resp.StatusCode != want { // the request line's Host is 127.0.0.1
			t.Errorf("trusted=%v, Envoy form: %d, want %d", trusted, resp.StatusCode, want)
		}
		resp, _ = h.decide("/_idpgate/decide", tok, "X-Forwarded-Uri", "/x", "X-Forwarded-Host", "shop.example")
		want := http.StatusOK
		if !trusted {
			want = http.StatusForbidden // forwarded headers ignored: the request names nothing
		}
		if resp.StatusCode != want {
			t.Errorf("trusted=%v, X-Forwarded-Host shop.example: %d, want %d", trusted, resp.StatusCode, want)
		}
		if trusted {
			if resp, _ = h.decide("/_idpgate/decide", tok, "X-Forwarded-Uri", "/x", "X-Forwarded-Host", "other.example"); resp.StatusCode != http.StatusNotFound {
				t.Errorf("X-Forwarded-Host other.example: %d, want 404", resp.StatusCode)
			}
		}
	}
}
