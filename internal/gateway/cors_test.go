package gateway

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
)

// corsGateway protects /spa (CORS for https://app.example.com and https://*.apps.example.com,
// credentials, PUT and GET, the header X-Request-Id) and /plain (no CORS); the upstream sets
// its own Access-Control-Allow-Origin, which the gateway must replace.
func corsGateway(t *testing.T, options ...func(*Options)) (h *harness, tok string, upstreamCalls *atomic.Int32) {
	h = newHarnessIn(t, t.TempDir(), newFakeValidators(), options...)
	calls := new(atomic.Int32)
	up := newEchoUpstreamWith(t, func(w http.ResponseWriter) {
		calls.Add(1)
		w.Header().Set("Access-Control-Allow-Origin", "https://upstream-says.example")
		w.Header().Set("X-Upstream", "1")
	})
	spa := h.createAPI(adminapi.API{Name: "spa", ListenPath: "/spa", UpstreamURL: up.URL,
		CORS: &adminapi.CORS{AllowedOrigins: []string{"https://app.example.com", "https://*.apps.example.com"},
			AllowedMethods: []string{"GET", "PUT"}, AllowedHeaders: []string{"X-Request-Id"}, ExposedHeaders: []string{"X-Upstream"},
			AllowCredentials: true, MaxAge: adminapi.Duration(10 * time.Minute)}})
	plain := h.createAPI(adminapi.API{Name: "plain", ListenPath: "/plain", UpstreamURL: up.URL})
	h.createPolicy(adminapi.Policy{Name: "p", ClientIDs: []string{"app"}, AccessRights: []adminapi.AccessRight{
		{APIID: spa.ID, Methods: []string{"GET"}}, {APIID: plain.ID}},
		RateLimit: &adminapi.Limit{Requests: 3, Per: adminapi.Duration(time.Hour)}})
	tok = h.fake.token("app-token", token.Identity{Subject: "alice", ClientID: "app"})
	return h, tok, calls
}

func newEchoUpstreamWith(t *testing.T, set func(http.ResponseWriter)) *httptest.Server {
	t.Helper()
	echo := newEchoUpstream(t)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		set(w)
		echo.Config.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(up.Close)
	return up
}

func preflight(origin, method, headers string) []string {
	h := []string{"Origin", origin, "Access-Control-Request-Method", method}
	if headers != "" {
		h = append(h, "Access-Control-Request-Headers", headers)
	}
	return h
}

func accessControl(h http.Header) []string {
	var names []string
	for k := range h {
		if strings.HasPrefix(k, "Access-Control-") {
			names = append(names, k)
		}
	}
	return names
}

func TestCORSPreflight(t *testing.T) {
	h, _, calls := corsGateway(t)
	validations := h.fake.validate.Load()

	resp := h.do("OPTIONS", "/spa/items", "", preflight("https://app.example.com", "PUT", "authorization,x-request-id")...)
	expect(t, resp, http.StatusNoContent)
	for name, want := range map[string]string{
		"Access-Control-Allow-Origin": "https://app.example.com", "Access-Control-Allow-Methods": "PUT",
		"Access-Control-Allow-Headers": "authorization,x-request-id", "Access-Control-Allow-Credentials": "true",
		"Access-Control-Max-Age": "600", "Vary": "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
	} {
		if got := resp.Header.Get(name); got != want {
			t.Errorf("allowed preflight: %s = %q, want %q", name, got, want)
		}
	}
	if resp := h.do("OPTIONS", "/spa/items", "", preflight("https://a.b.apps.example.com", "GET", "")...); resp.StatusCode != http.StatusNoContent ||
		resp.Header.Get("Access-Control-Allow-Origin") != "https://a.b.apps.example.com" {
		t.Errorf("wildcard origin: %d %v", resp.StatusCode, resp.Header)
	}
	for name, hdr := range map[string][]string{
		"origin not allowed": preflight("https://evil.example.com", "GET", ""),
		"apex of a wildcard": preflight("https://apps.example.com", "GET", ""),
		"suffix lookalike":   preflight("https://evilapps.example.com", "GET", ""),
		"other scheme":       preflight("http://app.example.com", "GET", ""),
		"other port":         preflight("https://app.example.com:8443", "GET", ""),
		"method not allowed": preflight("https://app.example.com", "DELETE", ""),
		"header not allowed": preflight("https://app.example.com", "GET", "authorization, x-secret"),
		"origin with a path": preflight("https://app.example.com/", "GET", ""),
		"lower-case method":  preflight("https://app.example.com", "put", ""),
		"null origin":        preflight("null", "GET", ""),
	} {
		resp := h.do("OPTIONS", "/spa/items", "", hdr...)
		body := expect(t, resp, http.StatusForbidden)
		if ac := accessControl(resp.Header); len(ac) != 0 || errorCode(t, body) != "cors_refused" {
			t.Errorf("%s: refused with %v, body %s", name, ac, body)
		}
	}
	if n := h.fake.validate.Load(); n != validations {
		t.Errorf("preflights checked %d tokens", n-validations)
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("preflights reached the upstream %d times", n)
	}
	// An API without CORS: OPTIONS is a request like any other, and needs a token.
	expect(t, h.do("OPTIONS", "/plain/items", "", preflight("https://app.example.com", "GET", "")...), http.StatusUnauthorized)
	if !strings.Contains(h.metricsText(), `idpgate_requests_total{api="spa",outcome="preflight"} 2`) {
		t.Error("preflights not counted")
	}
}

// TestCORSAnswers: every answer to an allowed origin carries the CORS headers, refusals
// included; other origins get none; the upstream's own are replaced.
func TestCORSAnswers(t *testing.T) {
	h, tok, _ := corsGateway(t)
	origin := []string{"Origin", "https://app.example.com"}
	check := func(name string, resp *http.Response, status int) {
		t.Helper()
		expect(t, resp, status)
		if got := resp.Header.Values("Access-Control-Allow-Origin"); len(got) != 1 || got[0] != "https://app.example.com" {
			t.Errorf("%s: Access-Control-Allow-Origin %q", name, got)
		}
		if resp.Header.Get("Access-Control-Allow-Credentials") != "true" ||
			!strings.Contains(resp.Header.Get("Access-Control-Expose-Headers"), "WWW-Authenticate, Retry-After") ||
			!strings.Contains(resp.Header.Get("Access-Control-Expose-Headers"), "X-Upstream") {
			t.Errorf("%s: %v", name, resp.Header)
		}
		if !strings.Contains(strings.Join(resp.Header.Values("Vary"), ","), "Origin") {
			t.Errorf("%s: no Vary: Origin", name)
		}
	}
	check("allowed", h.do("GET", "/spa/items", tok, origin...), http.StatusOK)
	check("no token", h.do("GET", "/spa/items", "", origin...), http.StatusUnauthorized)
	check("bad token", h.do("GET", "/spa/items", "forged", origin...), http.StatusUnauthorized)
	check("method not granted", h.do("DELETE", "/spa/items", tok, origin...), http.StatusForbidden)
	check("within the limit", h.do("GET", "/spa/items", tok, origin...), http.StatusOK)
	h.do("GET", "/spa/items", tok, origin...).Body.Close()
	check("rate limited", h.do("GET", "/spa/items", tok, origin...), http.StatusTooManyRequests)

	resp := h.do("GET", "/spa/items", "", "Origin", "https://evil.example.com")
	expect(t, resp, http.StatusUnauthorized)
	if ac := accessControl(resp.Header); len(ac) != 0 || resp.Header.Get("Vary") != "Origin" {
		t.Errorf("other origin: %v", resp.Header)
	}
	// Without CORS on the API, the upstream's own headers pass as they are.
	resp = h.do("GET", "/plain/items", "", "Origin", "https://app.example.com")
	expect(t, resp, http.StatusUnauthorized)
	if len(accessControl(resp.Header)) != 0 {
		t.Errorf("API without CORS: %v", resp.Header)
	}
}

func TestCORSAnyOrigin(t *testing.T) {
	h := newHarness(t)
	up := newEchoUpstream(t)
	h.createAPI(adminapi.API{Name: "pub", ListenPath: "/pub", UpstreamURL: up.URL, CORS: &adminapi.CORS{AllowedOrigins: []string{"*"}, AllowedHeaders: []string{"*"}}})
	resp := h.do("OPTIONS", "/pub/x", "", preflight("https://anyone.example", "DELETE", "x-anything, authorization")...)
	expect(t, resp, http.StatusNoContent)
	if resp.Header.Get("Access-Control-Allow-Origin") != "*" || resp.Header.Get("Access-Control-Allow-Credentials") != "" ||
		resp.Header.Get("Access-Control-Allow-Headers") != "x-anything, authorization" || resp.Header.Get("Access-Control-Max-Age") != "" {
		t.Errorf("any origin: %v", resp.Header)
	}
}

// TestCORSDecisionPreflight: at the decision endpoint a preflight is recognised from the
// forwarded method of a trusted proxy, never from anyone else's.
func TestCORSDecisionPreflight(t *testing.T) {
	fwd := append([]string{"X-Forwarded-Method", "OPTIONS", "X-Forwarded-Uri", "/spa/items"}, preflight("https://app.example.com", "PUT", "")...)
	h, tok, _ := corsGateway(t)
	resp, _ := h.decide(DefaultDecisionPath, "", fwd...)
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Errorf("preflight from a trusted proxy: %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = h.decide(DefaultDecisionPath, "", append([]string{"X-Forwarded-Method", "OPTIONS", "X-Forwarded-Uri", "/spa/items"},
		preflight("https://evil.example.com", "PUT", "")...)...)
	if resp.StatusCode != http.StatusForbidden || len(accessControl(resp.Header)) != 0 {
		t.Errorf("refused preflight from a trusted proxy: %d %v", resp.StatusCode, resp.Header)
	}
	// The answer to an allowed request carries the headers nginx copies to the client.
	resp, _ = h.decide(DefaultDecisionPath, tok, "X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/spa/items", "Origin", "https://app.example.com")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Errorf("allowed decision: %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = h.decide(DefaultDecisionPath, "", "X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/spa/items", "Origin", "https://app.example.com")
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Errorf("refused decision: %d %v", resp.StatusCode, resp.Header)
	}

	untrusted, _, _ := corsGateway(t, func(o *Options) { o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")} })
	resp, _ = untrusted.decide(DefaultDecisionPath+"/spa/items", "", fwd...)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("X-Forwarded-Method OPTIONS from an untrusted caller made a preflight: %d", resp.StatusCode)
	}
}
