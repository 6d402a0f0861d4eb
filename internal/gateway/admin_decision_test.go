package gateway

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/mockidp"
	"github.com/idpgate/terraform-provider-idpgate/internal/testcerts"
)

// decisionFixture: the real gateway (New, real validators) protecting three APIs with
// tokens of a mock IdP, under policies bound by client id and by policy claim, with scopes,
// a max token age, a sender constraint and limits.
type decisionFixture struct {
	h        *harness
	idp      *mockidp.Server
	upHits   *atomic.Int64
	orders   *adminapi.API
	admin    *adminapi.API
	bound    *adminapi.API
	reader   *adminapi.Policy
	limited  *adminapi.Policy
	dpopUser *dpopClient
	jkt      string
}

func newDecisionFixture(t *testing.T) *decisionFixture {
	t.Helper()
	f := &decisionFixture{idp: mockidp.NewTestServer(t, mockidp.Options{}), upHits: new(atomic.Int64)}
	f.h = newRealHarness(t)
	up := newEchoUpstream(t)
	echo := up.Config.Handler
	up.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.upHits.Add(1)
		echo.ServeHTTP(w, r)
	})
	upstream := up.URL
	jwt := func(required ...string) *adminapi.JWTValidation {
		return &adminapi.JWTValidation{Issuer: f.idp.URL(), JWKSURI: f.idp.JWKSURI(), RequiredScopes: required}
	}
	f.orders = f.h.createAPI(adminapi.API{Name: "orders", ListenPath: "/orders", UpstreamURL: upstream, JWT: jwt()})
	f.admin = f.h.createAPI(adminapi.API{Name: "admin", ListenPath: "/admin", UpstreamURL: upstream, JWT: jwt("admin")})
	f.bound = f.h.createAPI(adminapi.API{Name: "bound", ListenPath: "/bound", UpstreamURL: upstream, JWT: jwt(),
		SenderConstraint: adminapi.SenderConstraintDPoP})
	f.reader = f.h.createPolicy(adminapi.Policy{Name: "reader", ClientIDs: []string{"reader"}, AccessRights: []adminapi.AccessRight{
		{APIID: f.orders.ID, Methods: []string{"GET", "HEAD"}, Paths: []string{"/items/*"}, RequiredScopes: []string{"orders:read"}},
		{APIID: f.orders.ID, Methods: []string{"POST"}, Paths: []string{"/items"}, RequiredScopes: []string{"orders:write"}},
	}})
	f.h.createPolicy(adminapi.Policy{Name: "gold", MaxTokenAge: adminapi.Duration(time.Hour),
		AccessRights: append(grantAll(f.orders), grantAll(f.admin)...)})
	f.h.createPolicy(adminapi.Policy{Name: "holder", ClientIDs: []string{"holder"}, AccessRights: grantAll(f.bound)})
	f.limited = f.h.createPolicy(adminapi.Policy{Name: "limited", ClientIDs: []string{"metered"},
		RateLimit:    &adminapi.Limit{Requests: 2, Per: adminapi.Duration(time.Minute)},
		Quota:        &adminapi.Limit{Requests: 100, Per: adminapi.Duration(time.Hour)},
		AccessRights: []adminapi.AccessRight{{APIID: f.orders.ID, Methods: []string{"GET"}}}})
	f.dpopUser = newDPoPClient(t)
	f.jkt = f.dpopUser.jkt()
	return f
}

// proxied sends a request through the proxy and returns its status, error code and challenge.
func (f *decisionFixture) proxied(t *testing.T, method, path, scheme, tok string, headers map[string]string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(method, f.h.proxy.URL+path, nil)
	if tok != "" {
		req.Header.Set("Authorization", scheme+" "+tok)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	code := ""
	if resp.StatusCode != http.StatusOK {
		code = errorCode(t, body)
	}
	return resp.StatusCode, code, resp.Header.Get("WWW-Authenticate")
}

func (f *decisionFixture) decide(t *testing.T, in adminapi.DecisionRequest) *adminapi.Decision {
	t.Helper()
	d, err := f.h.admin.Decide(context.Background(), in)
	if err != nil {
		t.Fatalf("Decide: %v", err)
	}
	return d
}

// TestDecisionsAgreeWithTheProxy: for each request, the decision endpoint answers the
// status, error code and challenge that the same request then gets through the proxy, with
// real tokens of the mock IdP; the decision reaches no upstream.
func TestDecisionsAgreeWithTheProxy(t *testing.T) {
	f := newDecisionFixture(t)
	mint := func(claims map[string]any) string { return f.idp.MintToken(claims) }
	readerTok := mint(map[string]any{"sub": "alice", "client_id": "reader", "scope": "orders:read"})
	writerTok := mint(map[string]any{"sub": "alice", "client_id": "reader", "scope": "orders:read orders:write"})
	goldTok := mint(map[string]any{"sub": "bob", "client_id": "partner", "pol": "gold", "scope": "admin"})
	boundTok := mint(map[string]any{"sub": "h", "client_id": "holder", "cnf": map[string]any{"jkt": f.jkt}})
	proof := func(method, path string) map[string]string {
		return map[string]string{"DPoP": f.dpopUser.proof(method, f.h.proxy.URL+path, boundTok, time.Now(), nextJTI())}
	}
	cases := []struct {
		name, method, path string
		scheme, token      string
		headers            map[string]string
		wantStatus         int
		wantCode           string
		wantPolicy         string
		wantAccessRight    int
		reasonHas          string
	}{
		{"reader reads an item", "GET", "/orders/items/7", "Bearer", readerTok, nil, 200, "", "reader", 0, "grants GET /items/7"},
		{"reader heads an item", "HEAD", "/orders/items/7", "Bearer", readerTok, nil, 200, "", "reader", 0, ""},
		{"reader deletes an item", "DELETE", "/orders/items/7", "Bearer", readerTok, nil, 403, "access_denied", "", 0, "method DELETE is not one of GET, HEAD"},
		{"reader lists below the pattern", "GET", "/orders/items/7/lines", "Bearer", readerTok, nil, 403, "access_denied", "", 0, "matches none of /items/*"},
		{"reader posts without orders:write", "POST", "/orders/items", "Bearer", readerTok, nil, 403, "insufficient_scope", "", 0, "needs scopes orders:write"},
		{"writer posts", "POST", "/orders/items", "Bearer", writerTok, nil, 200, "", "reader", 1, ""},
		{"a client outside every policy", "GET", "/orders/items/7", "Bearer",
			mint(map[string]any{"sub": "x", "client_id": "stranger", "scope": "orders:read"}), nil, 403, "access_denied", "", 0, "no access policy is bound"},
		{"policy claim names gold", "DELETE", "/orders/any/depth", "Bearer", goldTok, nil, 200, "", "gold", 0, ""},
		{"policy claim names no policy", "GET", "/orders/items/7", "Bearer",
			mint(map[string]any{"sub": "x", "client_id": "partner", "pol": "platinum"}), nil, 403, "access_denied", "", 0, "names platinum"},
		{"token older than gold's max_token_age", "GET", "/orders/x", "Bearer",
			mint(map[string]any{"sub": "x", "client_id": "partner", "pol": "gold", "iat": time.Now().Add(-2 * time.Hour).Unix()}), nil, 401, "invalid_token", "", 0, "max_token_age"},
		{"API's required scope missing", "GET", "/admin/users", "Bearer",
			mint(map[string]any{"sub": "x", "client_id": "partner", "pol": "gold"}), nil, 403, "insufficient_scope", "", 0, "required_scopes"},
		{"API's required scope present", "GET", "/admin/users", "Bearer", goldTok, nil, 200, "", "gold", 1, ""},
		{"no API at the path", "GET", "/nowhere", "Bearer", readerTok, nil, 404, "not_found", "", 0, "no API serves /nowhere"},
		{"no token", "GET", "/orders/items/7", "", "", nil, 401, "invalid_request", "", 0, "carries no access token"},
		{"a token that is not a JWT", "GET", "/orders/items/7", "Bearer", "not-a-jwt", nil, 401, "invalid_token", "", 0, "refused"},
		{"an expired token", "GET", "/orders/items/7", "Bearer",
			mint(map[string]any{"client_id": "reader", "scope": "orders:read", "iat": time.Now().Add(-time.Hour).Unix(), "exp": time.Now().Add(-time.Minute).Unix()}), nil, 401, "invalid_token", "", 0, "expired"},
		{"another issuer", "GET", "/orders/items/7", "Bearer",
			mint(map[string]any{"client_id": "reader", "scope": "orders:read", "iss": "https://elsewhere.example"}), nil, 401, "invalid_token", "", 0, ""},
		{"a path the proxy refuses", "GET", "/orders/items/%2e%2e/x", "Bearer", readerTok, nil, 400, "invalid_request", "", 0, "before routing"},
		{"DPoP-bound token with its proof", "GET", "/bound/x", "DPoP", boundTok, proof("GET", "/bound/x"), 200, "", "holder", 0, ""},
		{"DPoP-bound token with a proof for another method", "GET", "/bound/x", "DPoP", boundTok, proof("POST", "/bound/x"), 401, "invalid_dpop_proof", "", 0, ""},
		{"DPoP-bound token as Bearer", "GET", "/bound/x", "Bearer", boundTok, nil, 401, "invalid_token", "", 0, ""},
		{"unbound token at the DPoP-only API", "GET", "/bound/x", "Bearer",
			mint(map[string]any{"client_id": "holder"}), nil, 401, "invalid_token", "", 0, "bound to their holder"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hits := f.upHits.Load()
			in := adminapi.DecisionRequest{
				Request: adminapi.DecisionHTTPRequest{Method: tc.method, URL: f.h.proxy.URL + tc.path, Headers: tc.headers},
				Caller:  adminapi.DecisionCaller{Token: tc.token, TokenType: tc.scheme},
			}
			d := f.decide(t, in)
			if got := f.upHits.Load(); got != hits {
				t.Errorf("the decision reached the upstream (%d requests)", got-hits)
			}
			status, code, challenge := f.proxied(t, tc.method, tc.path, tc.scheme, tc.token, tc.headers)
			if status != tc.wantStatus || code != tc.wantCode {
				t.Fatalf("proxy answered %d %q, the test expects %d %q", status, code, tc.wantStatus, tc.wantCode)
			}
			if d.Status != status || d.Error != code || d.WWWAuthenticate != challenge || d.Allowed != (status == 200) {
				t.Errorf("decision %d %q allowed=%v challenge %q; the proxy answered %d %q challenge %q (reason: %s)",
					d.Status, d.Error, d.Allowed, d.WWWAuthenticate, status, code, challenge, d.Reason)
			}
			if tc.wantPolicy != "" && (d.PolicyName != tc.wantPolicy || d.AccessRight == nil || *d.AccessRight != tc.wantAccessRight) {
				t.Errorf("decision granted by %q access right %v, want %q [%d]", d.PolicyName, d.AccessRight, tc.wantPolicy, tc.wantAccessRight)
			}
			if tc.wantPolicy == "" && d.PolicyID != "" {
				t.Errorf("a refusal names policy %q", d.PolicyName)
			}
			if !strings.Contains(d.Reason, tc.reasonHas) {
				t.Errorf("reason %q does not say %q", d.Reason, tc.reasonHas)
			}
			if tc.token != "" && strings.Contains(d.Reason+d.ErrorDescription, tc.token) {
				t.Error("the answer quotes the token")
			}
		})
	}
}

// TestDecisionsDescribedCaller: a caller described by client id, scopes and claims gets the
// verdict its token would get.
func TestDecisionsDescribedCaller(t *testing.T) {
	f := newDecisionFixture(t)
	for _, tc := range []struct {
		name, method, path string
		caller             adminapi.DecisionCaller
		wantStatus         int
		wantCode           string
	}{
		{"reader reads", "GET", "/orders/items/1", adminapi.DecisionCaller{ClientID: "reader", Scopes: []string{"orders:read"}}, 200, ""},
		{"reader deletes", "DELETE", "/orders/items/1", adminapi.DecisionCaller{ClientID: "reader", Scopes: []string{"orders:read"}}, 403, "access_denied"},
		{"reader without the scope", "GET", "/orders/items/1", adminapi.DecisionCaller{ClientID: "reader"}, 403, "insufficient_scope"},
		{"scope from the claims", "GET", "/orders/items/1", adminapi.DecisionCaller{ClientID: "reader", Claims: json.RawMessage(`{"scope":"orders:read"}`)}, 200, ""},
		{"policy claim", "PUT", "/orders/x", adminapi.DecisionCaller{Subject: "bob", Claims: json.RawMessage(`{"pol":["silver","gold"]}`)}, 200, ""},
		{"old iat", "PUT", "/orders/x", adminapi.DecisionCaller{Claims: json.RawMessage(`{"pol":"gold","iat":1000}`)}, 401, "invalid_token"},
		{"API scope", "GET", "/admin/x", adminapi.DecisionCaller{Claims: json.RawMessage(`{"pol":"gold"}`)}, 403, "insufficient_scope"},
		{"bound caller at the DPoP API", "GET", "/bound/x", adminapi.DecisionCaller{ClientID: "holder", Claims: json.RawMessage(`{"cnf":{"jkt":"abc"}}`)}, 200, ""},
		{"unbound caller at the DPoP API", "GET", "/bound/x", adminapi.DecisionCaller{ClientID: "holder"}, 401, "invalid_token"},
		{"bound caller presenting Bearer", "GET", "/bound/x", adminapi.DecisionCaller{ClientID: "holder", TokenType: "Bearer", Claims: json.RawMessage(`{"cnf":{"jkt":"abc"}}`)}, 401, "invalid_token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := f.decide(t, adminapi.DecisionRequest{
				Request: adminapi.DecisionHTTPRequest{Method: tc.method, Path: tc.path},
				Caller:  tc.caller,
			})
			if d.Status != tc.wantStatus || d.Error != tc.wantCode {
				t.Errorf("decision %d %q, want %d %q (reason: %s)", d.Status, d.Error, tc.wantStatus, tc.wantCode, d.Reason)
			}
		})
	}
}

// TestDecisionsCountNothing: deciding takes no rate-limit or quota token and leaves the
// request counters alone; the limits in the answer are the granting policy's, and a client
// whose limit is used up is told so.
func TestDecisionsCountNothing(t *testing.T) {
	f := newDecisionFixture(t)
	tok := f.idp.MintToken(map[string]any{"sub": "m", "client_id": "metered"})
	in := adminapi.DecisionRequest{Request: adminapi.DecisionHTTPRequest{Method: "GET", URL: f.h.proxy.URL + "/orders/x"},
		Caller: adminapi.DecisionCaller{Token: tok}}
	before := f.h.metricsText()
	for range 5 {
		d := f.decide(t, in)
		if !d.Allowed || d.Limits == nil || d.Limits.Remaining != 1 || d.Limits.RateLimit == nil || d.Limits.RateLimit.Requests != 2 || d.Limits.Quota == nil {
			t.Fatalf("decision %+v limits %+v; want allowed with 1 of 2 remaining after it", d, d.Limits)
		}
	}
	if after := f.h.metricsText(); requestCounters(after) != requestCounters(before) {
		t.Errorf("deciding changed the request counters:\n%s\nthen\n%s", requestCounters(before), requestCounters(after))
	}
	for i := range 2 {
		if status, _, _ := f.proxied(t, "GET", "/orders/x", "Bearer", tok, nil); status != 200 {
			t.Fatalf("request %d after the decisions: %d, want 200 (the decisions took its tokens)", i+1, status)
		}
		if i == 0 { // the client's bucket exists now: deciding must leave it as it is too
			for range 3 {
				if d := f.decide(t, in); !d.Allowed || d.Limits.Remaining != 0 {
					t.Fatalf("decision after one request: %+v limits %+v; want allowed, 0 remaining after it", d, d.Limits)
				}
			}
		}
	}
	status, code, _ := f.proxied(t, "GET", "/orders/x", "Bearer", tok, nil)
	d := f.decide(t, in)
	if status != 429 || d.Status != 429 || d.Error != code || d.Limits == nil || d.Limits.Exceeded != "rate_limit" ||
		!strings.Contains(d.Reason, "rate limit of 2 per 1m0s is used up") {
		t.Errorf("proxy %d %q; decision %+v limits %+v", status, code, d, d.Limits)
	}
}

// requestCounters keeps the idpgate_requests_total lines of a metrics page.
func requestCounters(page string) string {
	var keep []string
	for _, l := range strings.Split(page, "\n") {
		if strings.HasPrefix(l, "idpgate_requests_total") || strings.HasPrefix(l, "idpgate_token_validation_seconds_count") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// TestDecisionsBadInput: a malformed request or caller is a 400 naming the field.
func TestDecisionsBadInput(t *testing.T) {
	f := newDecisionFixture(t)
	for _, tc := range []struct{ body, field string }{
		{`{"request":{"url":"/x"},"caller":{}}`, "request.method"},
		{`{"request":{"method":"GET"},"caller":{}}`, "request.url"},
		{`{"request":{"method":"GET","url":"ftp://x/y"},"caller":{}}`, "request.url"},
		{`{"request":{"method":"GET","url":"https://x/y","path":"/y"},"caller":{}}`, "request.url"},
		{`{"request":{"method":"GET","path":"y"},"caller":{}}`, "request.path"},
		{`{"request":{"method":"GET","path":"/y","host":"a b"},"caller":{}}`, "request.host"},
		{`{"request":{"method":"GET","path":"/y","headers":{"Authorization":"Bearer x"}},"caller":{}}`, "request.headers.Authorization"},
		{`{"request":{"method":"GET","path":"/y","headers":{"X-A":"a\nb"}},"caller":{}}`, "request.headers.X-A"},
		{`{"request":{"method":"GET","path":"/y","client_certificate":"nope"},"caller":{}}`, "request.client_certificate"},
		{`{"request":{"method":"GET","path":"/y"},"caller":{"token":"t","client_id":"c"}}`, "caller.client_id"},
		{`{"request":{"method":"GET","path":"/y"},"caller":{"claims":[1]}}`, "caller.claims"},
		{`{"request":{"method":"GET","path":"/y"},"caller":{"scopes":["a b"]}}`, "caller.scopes[0]"},
		{`{"request":{"method":"GET","path":"/y"},"caller":{"token":"t","token_type":"MAC"}}`, "caller.token_type"},
		{`{"request":{"method":"GET","path":"/y"},"caller":{},"extra":1}`, "extra"},
		{`{"request":{"method":7,"path":"/y"},"caller":{}}`, "request.method"},
	} {
		if e, body := adminError(t, f.h.adminDo(t, "POST", "/v1/decisions", adminAuth, tc.body), http.StatusBadRequest); e.Field != tc.field {
			t.Errorf("%s: answer %s, want field %q", tc.body, body, tc.field)
		}
	}
	// and the endpoint is behind the admin token
	resp, err := http.Post(f.h.adminSrv.URL+"/v1/decisions", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	expect(t, resp, http.StatusUnauthorized)
}

// TestDecisionsAgreeOnCertificateBoundTokens (RFC 8705): a certificate-bound token of the
// mock IdP, decided with the certificate the request would present (or another, or none),
// gets the verdict the proxy gives the same request over TLS.
func TestDecisionsAgreeOnCertificateBoundTokens(t *testing.T) {
	f := newDecisionFixture(t)
	ca := testcerts.NewCA(t)
	alice, mallory := ca.Client(t, "alice"), ca.Client(t, "mallory")
	f.h.protectWithIdP(f.idp, "tls-app", adminapi.API{Name: "strict", ListenPath: "/strict", SenderConstraint: adminapi.SenderConstraintMTLS})
	bound := f.idp.MintToken(map[string]any{"client_id": "tls-app", "cnf": map[string]any{"x5t#S256": x5t(t, alice)}})
	plain := f.idp.MintToken(map[string]any{"client_id": "tls-app"})

	srv := mtlsServer(t, ca, f.h.gw.ProxyHandler())
	base := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	for _, tc := range []struct {
		name  string
		cert  *testcerts.Pair
		token string
		want  int
	}{
		{"bound token, its certificate", &alice, bound, 200},
		{"bound token, another certificate", &mallory, bound, 401},
		{"bound token, no certificate", nil, bound, 401},
		{"unbound token at an mtls API", &alice, plain, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := adminapi.DecisionRequest{Request: adminapi.DecisionHTTPRequest{Method: "GET", URL: base + "/strict/x"},
				Caller: adminapi.DecisionCaller{Token: tc.token}}
			if tc.cert != nil {
				in.Request.ClientCertificate = string(tc.cert.CertPEM)
			}
			d := f.decide(t, in)
			req, _ := http.NewRequest("GET", base+"/strict/x", nil)
			req.Header.Set("Authorization", "Bearer "+tc.token)
			resp, err := mtlsClient(t, ca, tc.cert).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want || d.Status != resp.StatusCode || d.WWWAuthenticate != resp.Header.Get("WWW-Authenticate") {
				t.Errorf("proxy %d %q; decision %d %q (%s); want %d", resp.StatusCode, resp.Header.Get("WWW-Authenticate"),
					d.Status, d.WWWAuthenticate, d.Reason, tc.want)
			}
		})
	}
}

// TestDecisionsNameTheFailingCondition: a decision refused by a condition names it: the
// API's (no policy), or the access right's, by index, with the policy's reason saying so.
func TestDecisionsNameTheFailingCondition(t *testing.T) {
	f := newDecisionFixture(t)
	tenant := f.h.createAPI(adminapi.API{Name: "tenant", ListenPath: "/tenant", UpstreamURL: "http://127.0.0.1:1",
		JWT:        &adminapi.JWTValidation{Issuer: f.idp.URL(), JWKSURI: f.idp.JWKSURI()},
		Conditions: []string{"true", "claims.tenant == request.headers['x-tenant']"}})
	f.h.createPolicy(adminapi.Policy{Name: "tenanted", ClientIDs: []string{"tenanted"}, AccessRights: []adminapi.AccessRight{
		{APIID: tenant.ID, Methods: []string{"POST"}},
		{APIID: tenant.ID, Methods: []string{"GET"}, Conditions: []string{"'mfa' == claims.acr"}},
	}})
	ask := func(acr string, headers map[string]string) *adminapi.Decision {
		return f.decide(t, adminapi.DecisionRequest{
			Request: adminapi.DecisionHTTPRequest{Method: "GET", Path: "/tenant/x", Headers: headers},
			Caller:  adminapi.DecisionCaller{ClientID: "tenanted", Claims: json.RawMessage(`{"tenant":"t1","acr":"` + acr + `"}`)},
		})
	}
	d := ask("mfa", map[string]string{"X-Tenant": "t2"})
	if d.Allowed || d.Status != http.StatusForbidden || d.Condition == nil || d.Condition.PolicyID != "" ||
		d.Condition.AccessRight != nil || d.Condition.Index != 1 {
		t.Errorf("API condition: %+v, condition %+v", d, d.Condition)
	}
	d = ask("pwd", map[string]string{"X-Tenant": "t1"})
	if d.Allowed || d.Condition == nil || d.Condition.PolicyID == "" || d.Condition.AccessRight == nil ||
		*d.Condition.AccessRight != 1 || d.Condition.Index != 0 {
		t.Errorf("access right condition: %+v, condition %+v", d, d.Condition)
	}
	if len(d.Policies) != 1 || !strings.Contains(d.Policies[0].Reason, "access_rights[1]: a condition does not hold") {
		t.Errorf("policy reasons: %+v", d.Policies)
	}
	if d = ask("mfa", map[string]string{"X-Tenant": "t1"}); !d.Allowed || d.Condition != nil {
		t.Errorf("every condition holds: %+v", d)
	}
}

// TestDecisionsOnAPreflight: a described CORS preflight gets what the proxy answers it:
// 204 for an allowed origin, 403 cors_refused for another, without a token either way.
func TestDecisionsOnAPreflight(t *testing.T) {
	f := newDecisionFixture(t)
	f.h.createAPI(adminapi.API{Name: "spa", ListenPath: "/spa", UpstreamURL: "http://127.0.0.1:1",
		JWT:  &adminapi.JWTValidation{Issuer: f.idp.URL(), JWKSURI: f.idp.JWKSURI()},
		CORS: &adminapi.CORS{AllowedOrigins: []string{"https://app.example.com"}, AllowedMethods: []string{"GET"}}})
	for _, tc := range []struct {
		origin     string
		wantStatus int
		wantCode   string
	}{
		{"https://app.example.com", http.StatusNoContent, ""},
		{"https://evil.example.com", http.StatusForbidden, "cors_refused"},
	} {
		d := f.decide(t, adminapi.DecisionRequest{Request: adminapi.DecisionHTTPRequest{Method: "OPTIONS", Path: "/spa/items",
			Headers: map[string]string{"Origin": tc.origin, "Access-Control-Request-Method": "GET"}}})
		if d.Status != tc.wantStatus || d.Error != tc.wantCode || d.Allowed != (tc.wantCode == "") || d.Reason == "" {
			t.Errorf("preflight from %s: %+v", tc.origin, d)
		}
	}
}
