package adminapi

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func validJWTAPI() API {
	return API{
		Name:        "orders",
		ListenPath:  "/orders",
		UpstreamURL: "http://127.0.0.1:9000/base",
		JWT: &JWTValidation{
			Issuer:            "https://idp.example.com",
			JWKSURI:           "https://idp.example.com/jwks",
			AllowedAlgorithms: []string{"RS256", "ES256"},
			Leeway:            DurationOf(30 * time.Second),
		},
		ForwardClaims: map[string]string{"X-Tenant": "tenant"},
	}
}

func TestAPIValidateAcceptsValid(t *testing.T) {
	a := validJWTAPI()
	if err := a.Validate(); err != nil {
		t.Fatalf("valid JWT API refused: %v", err)
	}
	ttl := Duration(0)
	b := API{Name: "x", ListenPath: "/", UpstreamURL: "https://u.example",
		Introspection: &Introspection{Endpoint: "https://idp/introspect", ClientID: "gw", CacheTTL: &ttl}}
	if err := b.Validate(); err != nil {
		t.Fatalf("valid introspection API refused: %v", err)
	}
}

func TestAPIValidateNamesField(t *testing.T) {
	cases := []struct {
		field  string
		mutate func(*API)
	}{
		{"name", func(a *API) { a.Name = " " }},
		{"listen_path", func(a *API) { a.ListenPath = "orders" }},
		{"listen_path", func(a *API) { a.ListenPath = "/a/../b" }},
		{"listen_path", func(a *API) { a.ListenPath = "/a//b" }},
		{"listen_path", func(a *API) { a.ListenPath = "/a?x=1" }},
		{"listen_path", func(a *API) { a.ListenPath = `/a\b` }},
		{"listen_path", func(a *API) { a.ListenPath = "/_idpgate/decide/x" }},
		{"listen_path", func(a *API) { a.ListenPath, a.CaseInsensitivePaths = "/Orders", true }},
		{"path_normalization", func(a *API) { a.PathNormalization = "merge_slashes" }},
		{"path_normalization", func(a *API) { a.PathNormalization = "REJECT_REQUEST" }},
		{"listen_path", func(a *API) { a.ListenPath = "/_idpgate/decide" }},
		{"listen_path", func(a *API) { a.ListenPath = "/_idpgate/" }},
		{"listen_path", func(a *API) { a.ListenPath = "/orders;v=1" }},
		{"listen_path", func(a *API) { a.ListenPath = "/orders./x" }},
		{"listen_path", func(a *API) { a.ListenPath = "/a" + strings.Repeat("/b", MaxPathSegments) }},
		{"listen_path", func(a *API) { a.ListenPath = "/" + strings.Repeat("a", MaxRequestTargetBytes) }},
		{"upstream_url", func(a *API) { a.UpstreamURL = "/relative" }},
		{"upstream_url", func(a *API) { a.UpstreamURL = "ftp://host/x" }},
		{"upstream_url", func(a *API) { a.UpstreamURL = "http://user:pw@host/x" }},
		{"jwt", func(a *API) { a.JWT = nil }},
		{"introspection", func(a *API) { a.Introspection = &Introspection{Endpoint: "https://x/i", ClientID: "c"} }},
		{"jwt.issuer", func(a *API) { a.JWT.Issuer = "idp.example.com" }},
		{"jwt.jwks_uri", func(a *API) { a.JWT.JWKSURI = "" }},
		{"jwt.audiences[1]", func(a *API) { a.JWT.Audiences = []string{"a", ""} }},
		{"jwt.allowed_algorithms[1]", func(a *API) { a.JWT.AllowedAlgorithms = []string{"RS256", "HS256"} }},
		{"jwt.allowed_algorithms[0]", func(a *API) { a.JWT.AllowedAlgorithms = []string{"none"} }},
		{"jwt.leeway", func(a *API) { a.JWT.Leeway = DurationOf(-time.Second) }},
		{"jwt.leeway", func(a *API) { a.JWT.Leeway = DurationOf(time.Hour) }},
		{"jwt.required_scopes[0]", func(a *API) { a.JWT.RequiredScopes = []string{"a b"} }},
		{"forward_claims.X-Idpgate-Subject", func(a *API) { a.ForwardClaims = map[string]string{"X-Idpgate-Subject": "sub"} }},
		{"forward_claims.Bad Header", func(a *API) { a.ForwardClaims = map[string]string{"Bad Header": "sub"} }},
		{"forward_claims.Authorization", func(a *API) { a.ForwardClaims = map[string]string{"Authorization": "sub"} }},
		{"forward_claims.X-Tenant", func(a *API) { a.ForwardClaims = map[string]string{"X-Tenant": ""} }},
		{"forward_claims.X_Tenant", func(a *API) { a.ForwardClaims = map[string]string{"X_Tenant": "tid"} }},
		{"forward_claims.X_Idpgate_Subject", func(a *API) { a.ForwardClaims = map[string]string{"X_Idpgate_Subject": "sub"} }},
		{"forward_claims.x-tenant", func(a *API) { a.ForwardClaims = map[string]string{"X-Tenant": "a", "x-tenant": "b"} }},
	}
	for _, tc := range cases {
		a := validJWTAPI()
		tc.mutate(&a)
		assertFieldError(t, a.Validate(), tc.field)
	}

	bad := Duration(48 * time.Hour)
	intro := API{Name: "x", ListenPath: "/x", UpstreamURL: "http://u",
		Introspection: &Introspection{Endpoint: "http://idp/introspect", ClientID: "gw", CacheTTL: &bad}}
	assertFieldError(t, intro.Validate(), "introspection.cache_ttl")
	intro.Introspection.CacheTTL = nil
	intro.Introspection.ClientID = ""
	assertFieldError(t, intro.Validate(), "introspection.client_id")
	intro.Introspection.Endpoint = "not a url"
	assertFieldError(t, intro.Validate(), "introspection.endpoint")
}

func validPolicy() Policy {
	return Policy{
		Name:      "gold",
		ClientIDs: []string{"app"},
		AccessRights: []AccessRight{{
			APIID: "api1", Methods: []string{"GET", "POST"}, Paths: []string{"/items", "/items/*", "/admin/**"},
		}},
		RateLimit:   &Limit{Requests: 10, Per: Duration(time.Second)},
		Quota:       &Limit{Requests: 1000, Per: Duration(24 * time.Hour)},
		MaxTokenAge: Duration(time.Hour),
	}
}

func TestPolicyValidate(t *testing.T) {
	p := validPolicy()
	if err := p.Validate(); err != nil {
		t.Fatalf("valid policy refused: %v", err)
	}
	cases := []struct {
		field  string
		mutate func(*Policy)
	}{
		{"name", func(p *Policy) { p.Name = "" }},
		{"client_ids[0]", func(p *Policy) { p.ClientIDs = []string{""} }},
		{"access_rights[0].api_id", func(p *Policy) { p.AccessRights[0].APIID = "" }},
		{"access_rights[0].methods[1]", func(p *Policy) { p.AccessRights[0].Methods[1] = "post" }},
		{"access_rights[0].methods[0]", func(p *Policy) { p.AccessRights[0].Methods[0] = "FETCH" }},
		{"access_rights[0].paths[0]", func(p *Policy) { p.AccessRights[0].Paths[0] = "items" }},
		{"access_rights[0].paths[1]", func(p *Policy) { p.AccessRights[0].Paths[1] = "/items/x*" }},
		{"access_rights[0].paths[2]", func(p *Policy) { p.AccessRights[0].Paths[2] = "/**/x" }},
		{"access_rights[0].paths[0]", func(p *Policy) { p.AccessRights[0].Paths[0] = "/a/../b" }},
		{"access_rights[0].required_scopes[0]", func(p *Policy) { p.AccessRights[0].RequiredScopes = []string{""} }},
		{"rate_limit.requests", func(p *Policy) { p.RateLimit.Requests = 0 }},
		{"rate_limit.per", func(p *Policy) { p.RateLimit.Per = 0 }},
		{"rate_limit.per", func(p *Policy) { p.RateLimit.Per = Duration(48 * time.Hour) }},
		{"quota.requests", func(p *Policy) { p.Quota.Requests = -1 }},
		{"quota.per", func(p *Policy) { p.Quota.Per = Duration(-time.Second) }},
		{"max_token_age", func(p *Policy) { p.MaxTokenAge = Duration(-time.Second) }},
	}
	for _, tc := range cases {
		p := validPolicy()
		tc.mutate(&p)
		assertFieldError(t, p.Validate(), tc.field)
	}
}

func TestNormalizeListenPath(t *testing.T) {
	for in, want := range map[string]string{"/": "/", "/api": "/api", "/api/": "/api", "/a/b//": "/a/b", "//": "/"} {
		if got := NormalizeListenPath(in); got != want {
			t.Errorf("NormalizeListenPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func assertFieldError(t *testing.T, err error, field string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Errorf("want a field error on %s, got %v", field, err)
		return
	}
	if e.Field != field || e.Status != http.StatusBadRequest || e.Code != CodeInvalidField || e.Message == "" {
		t.Errorf("want 400 invalid_field on %q, got %+v", field, e)
	}
}

func TestHosts(t *testing.T) {
	for _, tc := range []struct {
		hosts []string
		ok    bool
	}{
		{[]string{"api.example.com", "API.Example.org.", "10.0.0.1", "::1", "localhost"}, true},
		{[]string{"https://api.example.com"}, false},
		{[]string{"api.example.com:8443"}, false}, // the message says no port: hosts are compared without one
		{[]string{"a.example:80"}, false},
		{[]string{"[::1]:80"}, false},
		{[]string{"[::1]"}, true},
		{[]string{"fe80::1"}, true},
		{[]string{"*.example.com"}, false},
		{[]string{"api.example.com/x"}, false},
		{[]string{"-bad.example.com"}, false},
		{[]string{"a.example.com", "A.EXAMPLE.COM"}, false},
		{[]string{""}, false},
	} {
		a := validJWTAPI()
		a.Hosts = tc.hosts
		if err := a.Validate(); (err == nil) != tc.ok {
			t.Errorf("hosts %q: %v, want ok=%v", tc.hosts, err, tc.ok)
		}
	}
	if got := NormalizeHost("API.Example.COM.:8443"); got != "api.example.com" {
		t.Errorf("NormalizeHost = %q", got)
	}
	if got := NormalizeHost("[::1]:80"); got != "::1" {
		t.Errorf("NormalizeHost(IPv6) = %q", got)
	}
}

func TestSharesRouteWith(t *testing.T) {
	api := func(path string, hosts ...string) *API { return &API{ListenPath: path, Hosts: hosts} }
	for _, tc := range []struct {
		a, b  *API
		share bool
	}{
		{api("/orders"), api("/orders/"), true},
		{api("/orders"), api("/other"), false},
		{api("/orders", "a.example"), api("/orders", "A.example."), true},
		{api("/orders", "a.example", "b.example"), api("/orders", "b.example"), true},
		{api("/orders", "a.example"), api("/orders", "b.example"), false},
		{api("/orders", "a.example"), api("/orders"), false},
	} {
		if got := tc.a.SharesRouteWith(tc.b); got != tc.share {
			t.Errorf("%s %v ~ %s %v: %v", tc.a.ListenPath, tc.a.Hosts, tc.b.ListenPath, tc.b.Hosts, got)
		}
	}
}
