package gateway

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
)

// conditionCase is one condition and one request; allowed says whether the request meets it.
type conditionCase struct {
	name    string
	expr    string
	method  string // default GET
	path    string // below the API's listen path; default /items
	host    string // default: the proxy's own
	headers []string
	allowed bool
}

// conditionCases cover every variable and helper of the condition environment; the token is
// conditionIdentity's, the clock conditionClock (a Saturday).
var conditionCases = []conditionCase{
	{name: "tenant claim equals header", expr: `claims.tenant == request.headers["x-tenant"]`, headers: []string{"X-Tenant", "acme"}, allowed: true},
	{name: "tenant claim differs from header", expr: `claims.tenant == request.headers["x-tenant"]`, headers: []string{"X-Tenant", "globex"}},
	{name: "tenant header missing", expr: `claims.tenant == request.headers["x-tenant"]`},
	{name: "header names are lower case", expr: `request.headers["X-Tenant"] == "acme"`, headers: []string{"X-Tenant", "acme"}},
	{name: "repeated header joined", expr: `request.headers["x-team"] == "a, b"`, headers: []string{"X-Team", "a", "X-Team", "b"}, allowed: true},
	{name: "header presence", expr: `"x-tenant" in request.headers`, headers: []string{"X-Tenant", "acme"}, allowed: true},
	{name: "header absence", expr: `!("x-tenant" in request.headers)`, headers: []string{"X-Tenant", "acme"}},
	{name: "header iteration", expr: `request.headers.exists(k, k.startsWith("x-ten"))`, headers: []string{"X-Tenant", "acme"}, allowed: true},
	{name: "strings extension", expr: `request.headers["x-tenant"].upperAscii() == "ACME"`, headers: []string{"X-Tenant", "acme"}, allowed: true},
	{name: "acr is mfa", expr: `claims.acr == "mfa"`, allowed: true},
	{name: "acr is not pwd", expr: `claims.acr == "pwd"`},
	{name: "claim list", expr: `claims.groups.exists(g, g == "ops")`, allowed: true},
	{name: "claim list lacks", expr: `"finance" in claims.groups`},
	{name: "nested claim", expr: `claims.org.region == "eu"`, allowed: true},
	{name: "number claim against int", expr: `claims.level >= 2`, allowed: true},
	{name: "absent claim with has", expr: `!has(claims.missing) || claims.missing == "x"`, allowed: true},
	{name: "absent claim is an error", expr: `claims.missing == "x"`},
	{name: "client_id", expr: `client_id == "app"`, allowed: true},
	{name: "client_id other", expr: `client_id == "other"`},
	{name: "subject", expr: `subject == "alice"`, allowed: true},
	{name: "scopes", expr: `"admin" in scopes && scopes.size() == 2`, allowed: true},
	{name: "scopes lacks", expr: `"root" in scopes`},
	{name: "method GET", expr: `request.method == "GET"`, allowed: true},
	{name: "method POST refused", expr: `request.method == "GET"`, method: "POST"},
	{name: "path", expr: `request.path.endsWith("/items")`, allowed: true},
	{name: "path other", expr: `request.path.endsWith("/items")`, path: "/other"},
	{name: "host", expr: `request.host == "api.example.com"`, host: "API.example.com:8443", allowed: true},
	{name: "host other", expr: `request.host == "api.example.com"`, host: "evil.example.com"},
	{name: "remote ip in CIDR", expr: `cidr("10.0.0.0/8").containsIP(request.remote_ip)`, headers: []string{"X-Forwarded-For", "10.1.2.3"}, allowed: true},
	{name: "remote ip outside CIDR", expr: `cidr("10.0.0.0/8").containsIP(request.remote_ip)`, headers: []string{"X-Forwarded-For", "192.168.1.1"}},
	{name: "remote ip helpers", expr: `isIP(request.remote_ip) && ip(request.remote_ip).family() == 4`, headers: []string{"X-Forwarded-For", "10.1.2.3"}, allowed: true},
	{name: "weekend", expr: `now.getDayOfWeek("UTC") == 6`, allowed: true},
	{name: "weekdays only", expr: `now.getDayOfWeek("Europe/Paris") >= 1 && now.getDayOfWeek("Europe/Paris") <= 5`},
	{name: "now is the request time", expr: `now == timestamp("2026-12-05T10:00:00Z")`, allowed: true},
	{name: "runtime cost limit", expr: `!request.headers["x-big"].matches("z+y+z+y+")`, headers: []string{"X-Big", strings.Repeat("a", 600<<10)}},
	{name: "runtime cost within limit", expr: `!request.headers["x-big"].matches("z+y+z+y+")`, headers: []string{"X-Big", strings.Repeat("a", 4<<10)}, allowed: true},
}

var conditionClock = time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC) // a Saturday

func conditionIdentity() token.Identity {
	return token.Identity{Subject: "alice", ClientID: "app", Scopes: []string{"orders", "admin"},
		Claims: map[string]any{"sub": "alice", "tenant": "acme", "acr": "mfa", "groups": []any{"ops", "dev"},
			"org": map[string]any{"region": "eu"}, "level": float64(3)}}
}

// conditionRequest sends c's request through the proxy, or (decision) as a decision request
// from nginx, with the method, URI and host in X-Forwarded-*.
func conditionRequest(t *testing.T, h *harness, prefix string, c conditionCase, tok string, decision bool) *http.Response {
	t.Helper()
	method, path := c.method, c.path
	if method == "" {
		method = "GET"
	}
	if path == "" {
		path = "/items"
	}
	target := h.proxy.URL + prefix + path
	if decision {
		target = h.proxy.URL + DefaultDecisionPath
	}
	reqMethod := method
	if decision {
		reqMethod = "GET"
	}
	req, err := http.NewRequest(reqMethod, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	for i := 0; i+1 < len(c.headers); i += 2 {
		req.Header.Add(c.headers[i], c.headers[i+1])
	}
	if decision {
		req.Header.Set("X-Forwarded-Method", method)
		req.Header.Set("X-Forwarded-Uri", prefix+path)
		if c.host != "" {
			req.Header.Set("X-Forwarded-Host", c.host)
		}
	} else if c.host != "" {
		req.Host = c.host
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// TestConditionsVerdicts evaluates every case as an API's condition and as an access
// right's, through the proxy and through the decision endpoint: the four verdicts agree.
func TestConditionsVerdicts(t *testing.T) {
	h := newHarness(t)
	h.gw.now = func() time.Time { return conditionClock }
	up := newEchoUpstream(t)
	tok := h.fake.token("app-token", conditionIdentity())
	var rights []adminapi.AccessRight
	for i, c := range conditionCases {
		api := h.createAPI(adminapi.API{Name: fmt.Sprintf("api-%d", i), ListenPath: fmt.Sprintf("/api-%d", i),
			UpstreamURL: up.URL, Conditions: []string{`true`, c.expr}})
		rights = append(rights, adminapi.AccessRight{APIID: api.ID})
		pol := h.createAPI(adminapi.API{Name: fmt.Sprintf("pol-%d", i), ListenPath: fmt.Sprintf("/pol-%d", i), UpstreamURL: up.URL})
		rights = append(rights, adminapi.AccessRight{APIID: pol.ID, Conditions: []string{c.expr}})
	}
	h.createPolicy(adminapi.Policy{Name: "p", ClientIDs: []string{"app"}, AccessRights: rights})

	for i, c := range conditionCases {
		t.Run(c.name, func(t *testing.T) {
			want := http.StatusForbidden
			if c.allowed {
				want = http.StatusOK
			}
			for _, prefix := range []string{fmt.Sprintf("/api-%d", i), fmt.Sprintf("/pol-%d", i)} {
				for _, decision := range []bool{false, true} {
					if resp := conditionRequest(t, h, prefix, c, tok, decision); resp.StatusCode != want {
						t.Errorf("%s (decision %v): %s: status %d, want %d", prefix, decision, c.expr, resp.StatusCode, want)
					}
				}
			}
		})
	}
}

// TestConditionsRefusalLog: a false condition is 403 access_denied, and the log names the
// policy, the field and the index of the condition, never a claim or header value.
func TestConditionsRefusalLog(t *testing.T) {
	var logs bytes.Buffer
	h := newHarnessIn(t, t.TempDir(), newFakeValidators(), func(o *Options) {
		o.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	})
	up := newEchoUpstream(t)
	tok := h.fake.token("app-token", conditionIdentity())
	api := h.createAPI(adminapi.API{Name: "orders", ListenPath: "/orders", UpstreamURL: up.URL,
		Conditions: []string{`request.method != "DELETE"`}})
	h.createPolicy(adminapi.Policy{Name: "tenants", ClientIDs: []string{"app"}, AccessRights: []adminapi.AccessRight{
		{APIID: api.ID, Methods: []string{"PUT"}},
		{APIID: api.ID, Conditions: []string{`"orders" in scopes`, `claims.tenant == request.headers["x-tenant"]`}},
	}})

	expect(t, h.do("GET", "/orders/1", tok, "X-Tenant", "acme"), http.StatusOK)
	body := expect(t, h.do("GET", "/orders/1", tok, "X-Tenant", "globex-secret-value"), http.StatusForbidden)
	if code := errorCode(t, body); code != "access_denied" {
		t.Errorf("error %q, want access_denied", code)
	}
	expect(t, h.do("DELETE", "/orders/1", tok), http.StatusForbidden)
	out := logs.String()
	for _, want := range []string{
		`"msg":"request refused by a condition","api":"orders","policy":"tenants"`,
		`"field":"access_rights[1].conditions","condition":1,"result":"false"`,
		`"msg":"request refused by a condition","api":"orders","policy":"","policy_id":"","field":"conditions","condition":0,"result":"false"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
	for _, secret := range []string{"globex-secret-value", "acme", "alice"} {
		if strings.Contains(out, secret) {
			t.Errorf("log carries the value %q:\n%s", secret, out)
		}
	}
	// An absent header is an evaluation error, logged as such.
	logs.Reset()
	expect(t, h.do("GET", "/orders/1", tok), http.StatusForbidden)
	if !strings.Contains(logs.String(), `"condition":1,"result":"error"`) {
		t.Errorf("log of an evaluation error:\n%s", logs.String())
	}
}

// TestConditionsAdminRefusesBadExpressions: the admin API answers 400 naming the expression,
// its line and column and CEL's message, and stores nothing.
func TestConditionsAdminRefusesBadExpressions(t *testing.T) {
	h := newHarness(t)
	up := newEchoUpstream(t)
	api := h.createAPI(adminapi.API{Name: "orders", ListenPath: "/orders", UpstreamURL: up.URL})
	for _, c := range []struct{ expr, field, message string }{
		{`claims.tenant ==`, "conditions[1]", "line 1, column 17: Syntax error"},
		{`claims.tenant`, "conditions[1]", "of type dyn; it must be a bool"},
		{"true &&\n  clams.tenant == 'a'", "conditions[1]", "line 2, column 3: undeclared reference to 'clams'"},
		{`request.headers.all(a, request.headers.all(b, a != b))`, "conditions[1]", "more than the bound of 100000"},
	} {
		_, err := h.admin.CreateAPI(t.Context(), adminapi.API{Name: "bad", ListenPath: "/bad", UpstreamURL: up.URL,
			JWT:        &adminapi.JWTValidation{Issuer: "https://i", JWKSURI: "https://i/k"},
			Conditions: []string{"true", c.expr}})
		var apiErr *adminapi.Error
		if !asAdminError(err, &apiErr) || apiErr.Status != http.StatusBadRequest || apiErr.Field != c.field ||
			!strings.Contains(apiErr.Message, c.message) {
			t.Errorf("API condition %q: %v, want 400 on %s with %q", c.expr, err, c.field, c.message)
		}
		_, err = h.admin.CreatePolicy(t.Context(), adminapi.Policy{Name: "bad", AccessRights: []adminapi.AccessRight{
			{APIID: api.ID}, {APIID: api.ID, Conditions: []string{"true", c.expr}}}})
		if !asAdminError(err, &apiErr) || apiErr.Status != http.StatusBadRequest ||
			apiErr.Field != "access_rights[1]."+c.field || !strings.Contains(apiErr.Message, c.message) {
			t.Errorf("policy condition %q: %v, want 400 on access_rights[1].%s with %q", c.expr, err, c.field, c.message)
		}
	}
}

func asAdminError(err error, target **adminapi.Error) bool { return errors.As(err, target) }
