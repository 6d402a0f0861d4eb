package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
	"github.com/idpgate/terraform-provider-idpgate/internal/workertest"
)

// grantAll is an access right for every method and path of api.
func grantAll(api *adminapi.API) []adminapi.AccessRight {
	return []adminapi.AccessRight{{APIID: api.ID}}
}

func TestProxyRoutesByLongestSegmentPrefix(t *testing.T) {
	h := newHarness(t)
	up := newEchoUpstream(t)
	api := h.createAPI(adminapi.API{Name: "api", ListenPath: "/api", UpstreamURL: up.URL + "/root"})
	v2 := h.createAPI(adminapi.API{Name: "v2", ListenPath: "/api/v2/", UpstreamURL: up.URL, StripListenPath: true})
	h.createPolicy(adminapi.Policy{Name: "all", ClientIDs: []string{"app"},
		AccessRights: append(grantAll(api), grantAll(v2)...)})
	tok := h.fake.token("t1", token.Identity{Subject: "alice", ClientID: "app"})

	for _, tc := range []struct{ path, upstreamPath, query string }{
		{"/api", "/root/api", ""},
		{"/api/items?x=1", "/root/api/items", "x=1"},
		{"/api/v2", "/", ""},
		{"/api/v2/items/7", "/items/7", ""},
		{"/api/v2x", "/root/api/v2x", ""}, // not a segment of /api/v2
	} {
		e := decodeEcho(t, expect(t, h.do("GET", tc.path, tok), http.StatusOK))
		if e.Path != tc.upstreamPath || e.Query != tc.query {
			t.Errorf("%s reached upstream as %s?%s, want %s?%s", tc.path, e.Path, e.Query, tc.upstreamPath, tc.query)
		}
	}
	// an escaped character stays escaped after the listen path is stripped
	if e := decodeEcho(t, expect(t, h.do("GET", "/api/v2/a%3Fb%20c", tok), http.StatusOK)); e.URI != "/a%3Fb%20c" {
		t.Errorf("escaped path reached upstream as %s", e.URI)
	}
	// an escaped slash is refused (request/path_rules.go): the policy would see two segments, the
	// upstream one
	expect(t, h.do("GET", "/api/v2/a%2Fb", tok), http.StatusBadRequest)
	for _, p := range []string{"/apiary", "/", "/other/api"} {
		resp := h.do("GET", p, tok)
		if code := errorCode(t, expect(t, resp, http.StatusNotFound)); code != "not_found" {
			t.Errorf("%s: %s", p, code)
		}
	}
	expect(t, h.do("GET", "/api/v2/../../secret", tok), http.StatusBadRequest)
}

func TestProxyTokenAnswers(t *testing.T) {
	h := newHarness(t)
	up := newEchoUpstream(t)
	api := h.createAPI(adminapi.API{Name: "orders", ListenPath: "/orders", UpstreamURL: up.URL,
		JWT: &adminapi.JWTValidation{Issuer: "https://i", JWKSURI: "https://i/k", RequiredScopes: []string{"orders:read"}}})
	h.createPolicy(adminapi.Policy{Name: "p", ClientIDs: []string{"app"}, AccessRights: grantAll(api)})
	good := h.fake.token("good", token.Identity{Subject: "s", ClientID: "app", Scopes: []string{"orders:read"}})
	noScope := h.fake.token("noscope", token.Identity{Subject: "s", ClientID: "app"})

	resp := h.do("GET", "/orders/1", "")
	body := expect(t, resp, http.StatusUnauthorized)
	if got := resp.Header.Get("WWW-Authenticate"); got != `Bearer realm="idpgate"` {
		t.Errorf("no token: WWW-Authenticate %q must carry no error (RFC 6750 3.1)", got)
	}
	if h.fake.validate.Load() != 0 {
		t.Error("a request without a token must not reach the validator")
	}
	_ = body

	resp = h.do("GET", "/orders/1", "forged")
	body = expect(t, resp, http.StatusUnauthorized)
	if got := resp.Header.Get("WWW-Authenticate"); !strings.Contains(got, `error="invalid_token"`) {
		t.Errorf("bad token: WWW-Authenticate %q", got)
	}
	if strings.Contains(string(body), "crypto") || strings.Contains(string(body), "verification") {
		t.Errorf("the body must not say why a signature failed: %s", body)
	}
	if errorCode(t, body) != "invalid_token" {
		t.Errorf("body %s", body)
	}

	expect(t, h.getAs("GET", "/orders/1", "", "Authorization", "BEARER "+good), http.StatusOK) // scheme is case-insensitive

	resp = h.do("GET", "/orders/1", noScope)
	body = expect(t, resp, http.StatusForbidden)
	if got := resp.Header.Get("WWW-Authenticate"); !strings.Contains(got, `error="insufficient_scope"`) || !strings.Contains(got, `scope="orders:read"`) {
		t.Errorf("insufficient scope: WWW-Authenticate %q", got)
	}
	if errorCode(t, body) != "insufficient_scope" {
		t.Errorf("body %s", body)
	}

	resp = h.do("GET", "/orders/1", "idp-down")
	if errorCode(t, expect(t, resp, http.StatusServiceUnavailable)) != "temporarily_unavailable" {
		t.Error("IdP outage must be a 503 temporarily_unavailable")
	}
	if got := resp.Header.Get("Retry-After"); got != "5" {
		t.Errorf("IdP outage: Retry-After %q, want 5 (seconds): clients must be told when to come back", got)
	}

	text := h.metricsText()
	for _, line := range []string{
		`idpgate_requests_total{api="orders",outcome="forwarded"} 1`,
		`idpgate_requests_total{api="orders",outcome="unauthorized"} 2`,
		`idpgate_requests_total{api="orders",outcome="forbidden"} 1`,
		`idpgate_requests_total{api="orders",outcome="unavailable"} 1`,
		`idpgate_token_validation_seconds_count 4`,
		`idpgate_upstream_duration_seconds_count{api="orders"} 1`,
	} {
		if !containsLine(text, line) {
			t.Errorf("metrics lack %q", line)
		}
	}
}

func TestProxyBrokenValidatorAnswers503(t *testing.T) {
	h := newHarness(t)
	up := newEchoUpstream(t)
	h.fake.failFor["broken"] = errors.New("jwks_uri unreachable")
	broken := h.createAPI(adminapi.API{Name: "broken", ListenPath: "/broken", UpstreamURL: up.URL})
	fine := h.createAPI(adminapi.API{Name: "fine", ListenPath: "/fine", UpstreamURL: up.URL})
	h.createPolicy(adminapi.Policy{Name: "p", ClientIDs: []string{"app"}, AccessRights: append(grantAll(broken), grantAll(fine)...)})
	tok := h.fake.token("t", token.Identity{ClientID: "app"})
	expect(t, h.do("GET", "/broken/x", tok), http.StatusServiceUnavailable)
	expect(t, h.do("GET", "/fine/x", tok), http.StatusOK)
}

func TestProxyPolicyBinding(t *testing.T) {
	h := newHarness(t)
	up := newEchoUpstream(t)
	api := h.createAPI(adminapi.API{Name: "orders", ListenPath: "/orders", UpstreamURL: up.URL})
	other := h.createAPI(adminapi.API{Name: "other", ListenPath: "/other", UpstreamURL: up.URL})
	byClient := h.createPolicy(adminapi.Policy{Name: "by-client", ClientIDs: []string{"app"}, AccessRights: grantAll(api)})
	byClaim := h.createPolicy(adminapi.Policy{Name: "gold", AccessRights: grantAll(api)})

	cases := []struct {
		name   string
		id     token.Identity
		path   string
		status int
	}{
		{"client id bound", token.Identity{ClientID: "app"}, "/orders/1", 200},
		{"other client", token.Identity{ClientID: "intruder"}, "/orders/1", 403},
		{"policy claim by name", token.Identity{ClientID: "x", Policies: []string{"gold"}}, "/orders/1", 200},
		{"policy claim by id", token.Identity{Policies: []string{byClaim.ID}}, "/orders/1", 200},
		{"policy claim unknown", token.Identity{Policies: []string{"platinum"}}, "/orders/1", 403},
		{"bound, wrong API", token.Identity{ClientID: "app"}, "/other/1", 403},
	}
	for i, tc := range cases {
		tok := h.fake.token(fmt.Sprintf("tok%d", i), tc.id)
		resp := h.do("GET", tc.path, tok)
		body := expect(t, resp, tc.status)
		if tc.status == 403 && errorCode(t, body) != "access_denied" {
			t.Errorf("%s: %s", tc.name, body)
		}
		if tc.status == 200 {
			e := decodeEcho(t, body)
			want := byClient.ID
			if tc.id.ClientID != "app" {
				want = byClaim.ID
			}
			if got := e.Header[adminapi.HeaderPolicy]; len(got) != 1 || got[0] != want {
				t.Errorf("%s: policy header %v, want %s", tc.name, got, want)
			}
		}
	}
	_ = other
}

func TestProxyMethodsPathsScopes(t *testing.T) {
	h := newHarness(t)
	up := newEchoUpstream(t)
	api := h.createAPI(adminapi.API{Name: "shop", ListenPath: "/shop", UpstreamURL: up.URL})
	h.createPolicy(adminapi.Policy{Name: "p", ClientIDs: []string{"app"}, AccessRights: []adminapi.AccessRight{
		{APIID: api.ID, Methods: []string{"GET"}, Paths: []string{"/items", "/items/*"}},
		{APIID: api.ID, Methods: []string{"POST", "DELETE"}, Paths: []string{"/admin/**"}, RequiredScopes: []string{"shop:admin"}},
	}})
	plain := h.fake.token("plain", token.Identity{ClientID: "app", Scopes: []string{"shop:read"}})
	admin := h.fake.token("admin", token.Identity{ClientID: "app", Scopes: []string{"shop:read", "shop:admin"}})

	for _, tc := range []struct {
		method, path, tok string
		status            int
		code              string
	}{
		{"GET", "/shop/items", plain, 200, ""},
		{"GET", "/shop/items/", plain, 200, ""},
		{"GET", "/shop/items/42", plain, 200, ""},
		{"GET", "/shop/items/42/parts", plain, 403, "access_denied"},
		{"POST", "/shop/items", plain, 403, "access_denied"},
		{"GET", "/shop/", plain, 403, "access_denied"},
		{"POST", "/shop/admin", plain, 403, "insufficient_scope"},
		{"POST", "/shop/admin/users/1/reset", plain, 403, "insufficient_scope"},
		{"POST", "/shop/admin/users/1/reset", admin, 200, ""},
		{"DELETE", "/shop/admin", admin, 200, ""},
		{"PUT", "/shop/admin", admin, 403, "access_denied"},
		{"GET", "/shop/administrator", admin, 403, "access_denied"},
	} {
		resp := h.do(tc.method, tc.path, tc.tok)
		body := expect(t, resp, tc.status)
		if tc.code != "" && errorCode(t, body) != tc.code {
			t.Errorf("%s %s: %s, want %s", tc.method, tc.path, body, tc.code)
		}
		if tc.code == "insufficient_scope" && !strings.Contains(resp.Header.Get("WWW-Authenticate"), `scope="shop:admin"`) {
			t.Errorf("%s %s: WWW-Authenticate %q", tc.method, tc.path, resp.Header.Get("WWW-Authenticate"))
		}
	}
}

func TestProxyMaxTokenAge(t *testing.T) {
	h := newHarness(t)
	up := newEchoUpstream(t)
	api := h.createAPI(adminapi.API{Name: "a", ListenPath: "/a", UpstreamURL: up.URL})
	h.createPolicy(adminapi.Policy{Name: "p", ClientIDs: []string{"app"}, AccessRights: grantAll(api), MaxTokenAge: adminapi.Duration(time.Minute)})
	fresh := h.fake.token("fresh", token.Identity{ClientID: "app", IssuedAt: time.Now().Add(-30 * time.Second)})
	old := h.fake.token("old", token.Identity{ClientID: "app", IssuedAt: time.Now().Add(-2 * time.Minute)})
	expect(t, h.do("GET", "/a", fresh), http.StatusOK)
	resp := h.do("GET", "/a", old)
	expect(t, resp, http.StatusUnauthorized)
	if !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("too old: %q", resp.Header.Get("WWW-Authenticate"))
	}
}

func TestProxyRateLimit(t *testing.T) {
	h := newHarness(t)
	up := newEchoUpstream(t)
	api := h.createAPI(adminapi.API{Name: "a", ListenPath: "/a", UpstreamURL: up.URL})
	p := h.createPolicy(adminapi.Policy{Name: "p", ClientIDs: []string{"app", "app2"}, AccessRights: grantAll(api),
		RateLimit: &adminapi.Limit{Requests: 3, Per: adminapi.Duration(time.Minute)}})
	tok := h.fake.token("t", token.Identity{ClientID: "app"})
	for i := 0; i < 3; i++ {
		resp := h.do("GET", "/a", tok)
		expect(t, resp, http.StatusOK)
		if got := resp.Header.Get("X-RateLimit-Remaining"); got != strconv.Itoa(2-i) {
			t.Errorf("request %d: X-RateLimit-Remaining %q", i, got)
		}
		if resp.Header.Get("X-RateLimit-Limit") != "3" {
			t.Errorf("X-RateLimit-Limit %q", resp.Header.Get("X-RateLimit-Limit"))
		}
	}
	resp := h.do("GET", "/a", tok)
	body := expect(t, resp, http.StatusTooManyRequests)
	ra, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || ra < 1 || ra > 20 { // one token per 20s
		t.Errorf("Retry-After %q", resp.Header.Get("Retry-After"))
	}
	reset, _ := strconv.Atoi(resp.Header.Get("X-RateLimit-Reset"))
	if resp.Header.Get("X-RateLimit-Limit") != "3" || resp.Header.Get("X-RateLimit-Remaining") != "0" || reset < 50 || reset > 60 {
		t.Errorf("429 headers: %v", resp.Header)
	}
	if errorCode(t, body) != "rate_limit_exceeded" {
		t.Errorf("body %s", body)
	}
	// per client: another client of the same policy has its own budget
	expect(t, h.do("GET", "/a", h.fake.token("t2", token.Identity{ClientID: "app2"})), http.StatusOK)

	// raising the limit applies at once
	p.RateLimit.Requests = 100
	if _, err := h.admin.UpdatePolicy(context.Background(), p.ID, *p); err != nil {
		t.Fatal(err)
	}
	expect(t, h.do("GET", "/a", tok), http.StatusOK)
}

// A token without a client id (bound to its policy by the policy claim) is limited by its
// subject: every token of one subject shares a budget, another subject has its own.
func TestProxyRateLimitFallsBackToSubject(t *testing.T) {
	h := newHarness(t)
	up := newEchoUpstream(t)
	api := h.createAPI(adminapi.API{Name: "a", ListenPath: "/a", UpstreamURL: up.URL})
	h.createPolicy(adminapi.Policy{Name: "p", AccessRights: grantAll(api),
		RateLimit: &adminapi.Limit{Requests: 2, Per: adminapi.Duration(time.Minute)}})
	alice1 := h.fake.token("alice-1", token.Identity{Subject: "alice", Policies: []string{"p"}})
	alice2 := h.fake.token("alice-2", token.Identity{Subject: "alice", Policies: []string{"p"}})
	bob := h.fake.token("bob", token.Identity{Subject: "bob", Policies: []string{"p"}})
	expect(t, h.do("GET", "/a", alice1), http.StatusOK)
	expect(t, h.do("GET", "/a", alice2), http.StatusOK)
	expect(t, h.do("GET", "/a", alice1), http.StatusTooManyRequests)
	resp := h.do("GET", "/a", bob)
	expect(t, resp, http.StatusOK)
	if got := resp.Header.Get("X-RateLimit-Remaining"); got != "1" {
		t.Errorf("bob's X-RateLimit-Remaining = %q, want 1: his budget is his own", got)
	}
}

func TestProxyQuota(t *testing.T) {
	h := newHarness(t)
	up := newEchoUpstream(t)
	api := h.createAPI(adminapi.API{Name: "a", ListenPath: "/a", UpstreamURL: up.URL})
	h.createPolicy(adminapi.Policy{Name: "p", ClientIDs: []string{"app"}, AccessRights: grantAll(api),
		Quota: &adminapi.Limit{Requests: 2, Per: adminapi.Duration(time.Hour)}})
	tok := h.fake.token("t", token.Identity{ClientID: "app"})
	expect(t, h.do("GET", "/a", tok), http.StatusOK)
	resp := h.do("GET", "/a", tok)
	expect(t, resp, http.StatusOK)
	if resp.Header.Get("X-RateLimit-Remaining") != "0" {
		t.Errorf("remaining quota %q", resp.Header.Get("X-RateLimit-Remaining"))
	}
	resp = h.do("GET", "/a", tok)
	body := expect(t, resp, http.StatusTooManyRequests)
	ra, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	if errorCode(t, body) != "quota_exceeded" || ra < 3500 || ra > 3600 {
		t.Errorf("quota refusal: %s, Retry-After %d", body, ra)
	}
	if !containsLine(h.metricsText(), `idpgate_requests_total{api="a",outcome="quota_exceeded"} 1`) {
		t.Error("quota refusal not counted")
	}
}

func TestProxyForwardsIdentityAndStripsForgedHeaders(t *testing.T) {
	h := newHarness(t)
	up := newEchoUpstream(t)
	api := h.createAPI(adminapi.API{Name: "a", ListenPath: "/a", UpstreamURL: up.URL,
		ForwardClaims: map[string]string{"X-Tenant": "tenant", "X-Roles": "roles", "X-Level": "level", "X-Missing": "nope"}})
	h.createPolicy(adminapi.Policy{Name: "p", ClientIDs: []string{"app"}, AccessRights: grantAll(api)})
	tok := h.fake.token("t", token.Identity{Subject: "alice", ClientID: "app", Scopes: []string{"a", "b"},
		Claims: map[string]any{"tenant": "acme\r\nX-Evil: 1", "roles": []any{"admin", "ops"}, "level": float64(3)}})

	resp := h.do("GET", "/a/x", tok,
		"X-Idpgate-Subject", "mallory", "x-idpgate-client-id", "root", "X-Idpgate-Anything", "1",
		"X-Missing", "forged", "X-Tenant", "forged")
	e := decodeEcho(t, expect(t, resp, http.StatusOK))
	want := map[string]string{
		"X-Idpgate-Subject": "alice", "X-Idpgate-Client-Id": "app", "X-Idpgate-Scope": "a b",
		"X-Tenant": "acmeX-Evil: 1", "X-Roles": "admin ops", "X-Level": "3",
		"Authorization": "Bearer t",
	}
	for k, v := range want {
		if got := e.Header[k]; len(got) != 1 || got[0] != v {
			t.Errorf("upstream saw %s = %q, want %q", k, got, v)
		}
	}
	for _, k := range []string{"X-Idpgate-Anything", "X-Missing", "X-Evil"} {
		if got, ok := e.Header[k]; ok {
			t.Errorf("upstream saw %s = %q; it must be removed", k, got)
		}
	}
	if len(e.Header["X-Forwarded-For"]) != 1 {
		t.Errorf("X-Forwarded-For: %v", e.Header["X-Forwarded-For"])
	}
}

func TestProxyUpstreamDown(t *testing.T) {
	h := newHarness(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	api := h.createAPI(adminapi.API{Name: "a", ListenPath: "/a", UpstreamURL: dead})
	h.createPolicy(adminapi.Policy{Name: "p", ClientIDs: []string{"app"}, AccessRights: grantAll(api)})
	body := expect(t, h.do("GET", "/a", h.fake.token("t", token.Identity{ClientID: "app"})), http.StatusBadGateway)
	if errorCode(t, body) != "bad_gateway" || strings.Contains(string(body), "127.0.0.1") || strings.Contains(string(body), "refused") {
		t.Errorf("502 body must not show internals: %s", body)
	}
	if !containsLine(h.metricsText(), `idpgate_upstream_errors_total{api="a"} 1`) {
		t.Error("upstream error not counted")
	}
}

// TestSnapshotSwapUnderLoad hammers the proxy while the configuration changes underneath:
// every request must be answered 200 by the upstream.
func TestSnapshotSwapUnderLoad(t *testing.T) {
	h := newHarness(t)
	up := newEchoUpstream(t)
	api := h.createAPI(adminapi.API{Name: "a", ListenPath: "/a", UpstreamURL: up.URL})
	p := h.createPolicy(adminapi.Policy{Name: "p", ClientIDs: []string{"app"}, AccessRights: grantAll(api)})
	tok := h.fake.token("t", token.Identity{ClientID: "app"})
	builds := h.fake.forAPI.Load()

	var ok, failed atomic.Int64
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	stop := workertest.Start(8, func() {
		req, _ := http.NewRequest("GET", h.proxy.URL+"/a/x", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := client.Do(req)
		if err != nil {
			failed.Add(1)
			return
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			ok.Add(1)
		} else {
			failed.Add(1)
		}
	})
	ctx := context.Background()
	for i := 0; i < 40; i++ { // policy edits, unrelated API churn
		p.Name = fmt.Sprintf("p%d", i)
		if _, err := h.admin.UpdatePolicy(ctx, p.ID, *p); err != nil {
			t.Error(err)
		}
		x, err := h.admin.CreateAPI(ctx, adminapi.API{Name: fmt.Sprintf("x%d", i), ListenPath: fmt.Sprintf("/x%d", i),
			UpstreamURL: up.URL, JWT: api.JWT})
		if err != nil {
			t.Fatal(err)
		}
		if err := h.admin.DeleteAPI(ctx, x.ID); err != nil {
			t.Error(err)
		}
	}
	stop()
	if failed.Load() != 0 || ok.Load() < 50 {
		t.Errorf("during 120 config changes: %d ok, %d failed", ok.Load(), failed.Load())
	}
	// the API's validator was built once and kept across the unrelated changes (40 others)
	if n := h.fake.forAPI.Load() - builds; n != 40 {
		t.Errorf("ForAPI called %d times, want 40 (only for the new APIs)", n)
	}
}

// TestProxyRoutesByHost: APIs naming hosts are matched first, then those naming none; the
// longest listen path wins within each; Host is compared without case, port or trailing dot.
func TestProxyRoutesByHost(t *testing.T) {
	h := newHarness(t)
	up := newEchoUpstream(t)
	shop := h.createAPI(adminapi.API{Name: "shop", ListenPath: "/", Hosts: []string{"shop.example"}, UpstreamURL: up.URL + "/shop"})
	orders := h.createAPI(adminapi.API{Name: "orders", ListenPath: "/orders", UpstreamURL: up.URL + "/any"})
	ordersB := h.createAPI(adminapi.API{Name: "orders-b", ListenPath: "/orders", Hosts: []string{"b.example", "c.example"}, UpstreamURL: up.URL + "/b"})
	h.createPolicy(adminapi.Policy{Name: "p", ClientIDs: []string{"app"}, AccessRights: append(append(grantAll(shop), grantAll(orders)...), grantAll(ordersB)...)})
	tok := h.fake.token("t", token.Identity{ClientID: "app"})

	h.wantHostRoutes(t, tok, []hostRoute{
		{"shop.example", "/orders/1", "/shop/orders/1"}, // the host's API, although /orders is longer elsewhere
		{"SHOP.example.:8080", "/x", "/shop/x"},
		{"b.example", "/orders/1", "/b/orders/1"},
		{"c.example", "/orders/1", "/b/orders/1"},
		{"other.example", "/orders/1", "/any/orders/1"},
		{"b.example", "/elsewhere", ""}, // b.example serves only /orders; no host-less API has /
	})

	// the same listen path on an overlapping host is a conflict; on other hosts it is not
	_, err := h.admin.CreateAPI(context.Background(), adminapi.API{Name: "clash", ListenPath: "/orders/", Hosts: []string{"C.example"},
		UpstreamURL: up.URL, JWT: orders.JWT})
	var ae *adminapi.Error
	if !errors.As(err, &ae) || ae.Status != http.StatusConflict || ae.Field != "hosts" {
		t.Errorf("overlapping hosts on /orders: %v, want 409 on hosts", err)
	}
	h.createAPI(adminapi.API{Name: "orders-d", ListenPath: "/orders", Hosts: []string{"d.example"}, UpstreamURL: up.URL})
}
