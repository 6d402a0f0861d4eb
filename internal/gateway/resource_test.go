package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
)

// getAs sends GET path to the proxy listener with Host host ("" keeps the listener's) and
// extra headers.
func (h *harness) getAs(method, path, host string, hdr ...string) *http.Response {
	h.t.Helper()
	req, err := http.NewRequest(method, h.proxy.URL+path, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp
}

// metadata reads a metadata document as a generic map, so that the test sees the JSON field
// names on the wire, not the Go type's.
func metadata(t *testing.T, resp *http.Response) map[string]any {
	t.Helper()
	body := expect(t, resp, http.StatusOK)
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("metadata %s: %v", body, err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age=") {
		t.Errorf("Cache-Control %q: clients are to cache the metadata for a while", cc)
	}
	return doc
}

func strs(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, e := range list {
		s, _ := e.(string)
		out = append(out, s)
	}
	return out
}

// TestResourceMetadataOnTheWire checks RFC 9728 §3 on the wire: the metadata URL of a
// resource with a path and without one, resource identical to the configured value, the
// fields the gateway stands behind, and no document for a trailing-slash or query variant of
// the URL, another host, or a method other than GET and HEAD.
func TestResourceMetadataOnTheWire(t *testing.T) {
	h := newHarness(t)
	base := h.proxy.URL // http://127.0.0.1:port
	mcp := h.createAPI(adminapi.API{Name: "mcp", ListenPath: "/mcp", UpstreamURL: "http://127.0.0.1:1",
		Resource: base + "/mcp", ResourceName: "Tools", ResourceDocumentation: "https://docs.example.com/mcp",
		JWT: &adminapi.JWTValidation{Issuer: "https://idp.example", JWKSURI: "https://idp.example/jwks",
			RequiredScopes: []string{"mcp:use"}}})
	h.createAPI(adminapi.API{Name: "root", ListenPath: "/", UpstreamURL: "http://127.0.0.1:1", Resource: base})
	h.createAPI(adminapi.API{Name: "slash", ListenPath: "/slash", UpstreamURL: "http://127.0.0.1:1", Resource: base + "/slash/"})
	h.createAPI(adminapi.API{Name: "plain", ListenPath: "/plain", UpstreamURL: "http://127.0.0.1:1"})
	h.createPolicy(adminapi.Policy{Name: "p", AccessRights: []adminapi.AccessRight{
		{APIID: mcp.ID, RequiredScopes: []string{"mcp:tools", "mcp:use"}},
		{APIID: mcp.ID, Methods: []string{"DELETE"}, RequiredScopes: []string{"mcp:admin"}}}})

	doc := metadata(t, h.getAs("GET", "/.well-known/oauth-protected-resource/mcp", ""))
	if doc["resource"] != base+"/mcp" {
		t.Errorf("resource %v, want %q exactly", doc["resource"], base+"/mcp")
	}
	if got := strs(doc["authorization_servers"]); !slices.Equal(got, []string{"https://idp.example"}) {
		t.Errorf("authorization_servers %q, want the API's issuer", got)
	}
	if got := strs(doc["scopes_supported"]); !slices.Equal(got, []string{"mcp:admin", "mcp:tools", "mcp:use"}) {
		t.Errorf("scopes_supported %q, want the API's and its grants' required scopes", got)
	}
	if got := strs(doc["bearer_methods_supported"]); !slices.Equal(got, []string{"header"}) {
		t.Errorf("bearer_methods_supported %q", got)
	}
	if doc["resource_name"] != "Tools" || doc["resource_documentation"] != "https://docs.example.com/mcp" {
		t.Errorf("resource_name, resource_documentation: %v", doc)
	}
	if _, ok := doc["dpop_bound_access_tokens_required"]; ok {
		t.Errorf("an API that takes bearer tokens does not require DPoP: %v", doc)
	}
	if got := strs(doc["dpop_signing_alg_values_supported"]); len(got) == 0 {
		t.Errorf("the gateway checks DPoP proofs; dpop_signing_alg_values_supported is missing: %v", doc)
	}

	root := metadata(t, h.getAs("GET", "/.well-known/oauth-protected-resource", ""))
	if root["resource"] != base {
		t.Errorf("resource without a path: %v, want %q", root["resource"], base)
	}
	if slash := metadata(t, h.getAs("GET", "/.well-known/oauth-protected-resource/slash/", "")); slash["resource"] != base+"/slash/" {
		t.Errorf("resource with a trailing slash: %v", slash["resource"])
	}

	for _, path := range []string{
		"/.well-known/oauth-protected-resource/mcp/",    // a trailing-slash variant
		"/.well-known/oauth-protected-resource/mcp?x=1", // a query variant
		"/.well-known/oauth-protected-resource/mcp?",
		"/.well-known/oauth-protected-resource/slash", // without the configured trailing slash
		"/.well-known/oauth-protected-resource/plain", // an API without a resource
		"/.well-known/oauth-protected-resource/mcp/x",
		"/.well-known/oauth-protected-resource/",
	} {
		resp := h.getAs("GET", path, "")
		if errorCode(t, expect(t, resp, http.StatusNotFound)) != "not_found" {
			t.Errorf("%s: want not_found", path)
		}
	}
	if h.fake.validate.Load() != 0 {
		t.Errorf("no path under the well-known prefix reaches the token check or the upstream")
	}
	resp := h.getAs("GET", "/.well-known/oauth-protected-resource/mcp", "localhost"+base[len("http://127.0.0.1"):])
	expect(t, resp, http.StatusNotFound) // another host, same port

	resp = h.getAs("POST", "/.well-known/oauth-protected-resource/mcp", "")
	expect(t, resp, http.StatusMethodNotAllowed)
	if resp.Header.Get("Allow") == "" {
		t.Error("405 without Allow")
	}
	resp = h.getAs("HEAD", "/.well-known/oauth-protected-resource/mcp", "")
	expect(t, resp, http.StatusOK)
	resp = h.getAs("OPTIONS", "/.well-known/oauth-protected-resource/mcp", "",
		"Origin", "https://inspector.example", "Access-Control-Request-Method", "GET", "Access-Control-Request-Headers", "mcp-protocol-version")
	expect(t, resp, http.StatusNoContent)
	if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Error("a browser-based client cannot read the metadata: no Access-Control-Allow-Origin")
	}

	// A policy change shows at once, though the document was served (and kept) before it.
	h.createPolicy(adminapi.Policy{Name: "q", AccessRights: []adminapi.AccessRight{{APIID: mcp.ID, RequiredScopes: []string{"mcp:extra"}}}})
	doc = metadata(t, h.getAs("GET", "/.well-known/oauth-protected-resource/mcp", ""))
	if got := strs(doc["scopes_supported"]); !slices.Equal(got, []string{"mcp:admin", "mcp:extra", "mcp:tools", "mcp:use"}) {
		t.Errorf("after a policy change, scopes_supported %q", got)
	}

	// An explicit scopes_supported replaces the computed one.
	mcp.ScopesSupported = []string{"mcp:use"}
	if _, err := h.admin.UpdateAPI(context.Background(), mcp.ID, *mcp); err != nil {
		t.Fatal(err)
	}
	doc = metadata(t, h.getAs("GET", "/.well-known/oauth-protected-resource/mcp", ""))
	if got := strs(doc["scopes_supported"]); !slices.Equal(got, []string{"mcp:use"}) {
		t.Errorf("scopes_supported %q, want the explicit list", got)
	}
}

// TestResourceMetadataSenderConstraint: the DPoP and mTLS fields follow sender_constraint.
func TestResourceMetadataSenderConstraint(t *testing.T) {
	h := newHarness(t)
	for _, sc := range []string{adminapi.SenderConstraintDPoP, adminapi.SenderConstraintMTLS, adminapi.SenderConstraintDPoPOrMTLS} {
		h.createAPI(adminapi.API{Name: sc, ListenPath: "/" + sc, UpstreamURL: "http://127.0.0.1:1",
			Resource: h.proxy.URL + "/" + sc, SenderConstraint: sc})
	}
	dpop := metadata(t, h.getAs("GET", "/.well-known/oauth-protected-resource/dpop", ""))
	if dpop["dpop_bound_access_tokens_required"] != true || dpop["tls_client_certificate_bound_access_tokens"] != nil {
		t.Errorf("dpop: %v", dpop)
	}
	if got := strings.Join(strs(dpop["dpop_signing_alg_values_supported"]), " "); got != token.DPoPAlgorithms() {
		t.Errorf("dpop_signing_alg_values_supported %q, want %q", got, token.DPoPAlgorithms())
	}
	mtls := metadata(t, h.getAs("GET", "/.well-known/oauth-protected-resource/mtls", ""))
	if mtls["tls_client_certificate_bound_access_tokens"] != true || mtls["dpop_bound_access_tokens_required"] != nil {
		t.Errorf("mtls: %v", mtls)
	}
	either := metadata(t, h.getAs("GET", "/.well-known/oauth-protected-resource/dpop_or_mtls", ""))
	if either["tls_client_certificate_bound_access_tokens"] != true || either["dpop_bound_access_tokens_required"] != nil {
		t.Errorf("dpop_or_mtls: DPoP is not required when a certificate will do: %v", either)
	}
}

// TestResourceMetadataPerHost: with hosts, each host has its own metadata at the same path;
// another host's is not served under this host; an edge proxy names the host in
// X-Forwarded-Host, believed only from a trusted proxy.
func TestResourceMetadataPerHost(t *testing.T) {
	h := newHarnessIn(t, t.TempDir(), newFakeValidators(), func(o *Options) {
		o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	})
	h.createAPI(adminapi.API{Name: "a", ListenPath: "/mcp", Hosts: []string{"a.localhost"}, UpstreamURL: "http://127.0.0.1:1",
		Resource: "http://a.localhost/mcp"})
	h.createAPI(adminapi.API{Name: "b", ListenPath: "/mcp", Hosts: []string{"b.localhost"}, UpstreamURL: "http://127.0.0.1:1",
		Resource: "http://b.localhost/mcp"})
	h.createAPI(adminapi.API{Name: "a-only", ListenPath: "/private", Hosts: []string{"a.localhost"}, UpstreamURL: "http://127.0.0.1:1",
		Resource: "http://a.localhost/private"})

	const wk = "/.well-known/oauth-protected-resource"
	if doc := metadata(t, h.getAs("GET", wk+"/mcp", "a.localhost:8080")); doc["resource"] != "http://a.localhost/mcp" {
		t.Errorf("host a: %v", doc["resource"])
	}
	if doc := metadata(t, h.getAs("GET", wk+"/mcp", "B.localhost")); doc["resource"] != "http://b.localhost/mcp" {
		t.Errorf("host b: %v", doc["resource"])
	}
	expect(t, h.getAs("GET", wk+"/private", "b.localhost"), http.StatusNotFound)
	expect(t, h.getAs("GET", wk+"/mcp", "c.localhost"), http.StatusNotFound)
	if doc := metadata(t, h.getAs("GET", wk+"/private", "idpgate:8080", "X-Forwarded-Host", "a.localhost")); doc["resource"] != "http://a.localhost/private" {
		t.Errorf("through an edge proxy: %v", doc["resource"])
	}
	expect(t, h.getAs("GET", wk+"/private", "idpgate:8080", "X-Forwarded-Host", "a.localhost", "X-Forwarded-Host", "b.localhost"), http.StatusNotFound)

	untrusted := newHarnessIn(t, t.TempDir(), newFakeValidators(), func(o *Options) {
		o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.1/32")}
	})
	untrusted.createAPI(adminapi.API{Name: "a", ListenPath: "/mcp", Hosts: []string{"a.localhost"}, UpstreamURL: "http://127.0.0.1:1",
		Resource: "http://a.localhost/mcp"})
	expect(t, untrusted.getAs("GET", wk+"/mcp", "b.localhost", "X-Forwarded-Host", "a.localhost"), http.StatusNotFound)
}

// TestResourceChallenges: every 401 of an API with a resource names its metadata (RFC 9728
// §5.1) beside the error parameters, and so does a 403 for a missing scope, which also names
// the scope (RFC 6750 §3.1); an API without a resource says nothing of metadata.
func TestResourceChallenges(t *testing.T) {
	h := newHarness(t)
	base := h.proxy.URL
	want := `resource_metadata="` + base + `/.well-known/oauth-protected-resource/mcp"`
	mcp := h.createAPI(adminapi.API{Name: "mcp", ListenPath: "/mcp", UpstreamURL: "http://127.0.0.1:1", Resource: base + "/mcp",
		JWT: &adminapi.JWTValidation{Issuer: "https://idp.example", JWKSURI: "https://idp.example/jwks", RequiredScopes: []string{"mcp:use"}}})
	h.createAPI(adminapi.API{Name: "dpop", ListenPath: "/dpop", UpstreamURL: "http://127.0.0.1:1", Resource: base + "/dpop",
		SenderConstraint: adminapi.SenderConstraintDPoP})
	h.createAPI(adminapi.API{Name: "plain", ListenPath: "/plain", UpstreamURL: "http://127.0.0.1:1"})
	h.createPolicy(adminapi.Policy{Name: "p", ClientIDs: []string{"app"}, AccessRights: []adminapi.AccessRight{
		{APIID: mcp.ID, Methods: []string{"GET"}},
		{APIID: mcp.ID, Methods: []string{"POST"}, RequiredScopes: []string{"mcp:write"}}}})
	h.fake.token("no-scope", token.Identity{ClientID: "app"})
	h.fake.token("use", token.Identity{ClientID: "app", Scopes: []string{"mcp:use"}})

	challenge := func(resp *http.Response, status int) string {
		t.Helper()
		expect(t, resp, status)
		return resp.Header.Get("WWW-Authenticate")
	}
	if c := challenge(h.do("GET", "/mcp", ""), http.StatusUnauthorized); c != `Bearer realm="idpgate", `+want {
		t.Errorf("no token: %q", c)
	}
	if c := challenge(h.do("GET", "/mcp", "forged"), http.StatusUnauthorized); !strings.Contains(c, `error="invalid_token"`) || !strings.HasSuffix(c, want) {
		t.Errorf("bad token: %q", c)
	}
	c := challenge(h.do("GET", "/mcp", "no-scope"), http.StatusForbidden)
	if !strings.Contains(c, `error="insufficient_scope"`) || !strings.Contains(c, `scope="mcp:use"`) || !strings.HasSuffix(c, want) {
		t.Errorf("the API's required scope missing: %q", c)
	}
	c = challenge(h.do("POST", "/mcp", "use"), http.StatusForbidden)
	if !strings.Contains(c, `error="insufficient_scope"`) || !strings.Contains(c, `scope="mcp:write"`) || !strings.HasSuffix(c, want) {
		t.Errorf("the grant's required scope missing: %q", c)
	}
	if c := challenge(h.do("GET", "/dpop", ""), http.StatusUnauthorized); !strings.HasPrefix(c, "DPoP ") ||
		!strings.HasSuffix(c, `resource_metadata="`+base+`/.well-known/oauth-protected-resource/dpop"`) {
		t.Errorf("DPoP challenge: %q", c)
	}
	if c := challenge(h.do("GET", "/_idpgate/decide/mcp", ""), http.StatusUnauthorized); c != `Bearer realm="idpgate", `+want {
		t.Errorf("a decision for an edge proxy: %q", c)
	}
	if c := challenge(h.do("GET", "/plain", ""), http.StatusUnauthorized); strings.Contains(c, "resource_metadata") {
		t.Errorf("an API without a resource: %q", c)
	}
}

// TestResourceConflictAtTheAdminAPI: a resource another API claims is a 409 naming the
// field; a bad one a 400 with a message.
func TestResourceConflictAtTheAdminAPI(t *testing.T) {
	h := newHarness(t)
	h.createAPI(adminapi.API{Name: "a", ListenPath: "/mcp", UpstreamURL: "http://127.0.0.1:1", Resource: "https://mcp.example.com/mcp"})
	jwt := &adminapi.JWTValidation{Issuer: "https://idp.example", JWKSURI: "https://idp.example/jwks"}
	_, err := h.admin.CreateAPI(context.Background(), adminapi.API{Name: "b", ListenPath: "/mcp", Hosts: []string{"mcp.example.com"},
		UpstreamURL: "http://127.0.0.1:1", Resource: "https://mcp.example.com/mcp", JWT: jwt})
	var ae *adminapi.Error
	if !adminapi.IsConflict(err) || !errors.As(err, &ae) || ae.Field != "resource" || !strings.Contains(ae.Message, `"a"`) {
		t.Errorf("a second claim on a resource: %v, want 409 on resource naming the API that holds it", err)
	}
	for resource, words := range map[string]string{
		"https://mcp.example.com/mcp#frag": "fragment",
		"mcp":                              "absolute",
		"http://mcp.example.com/mcp":       "https",
	} {
		_, err := h.admin.CreateAPI(context.Background(), adminapi.API{Name: "c", ListenPath: "/mcp", Hosts: []string{"x.example"},
			UpstreamURL: "http://127.0.0.1:1", Resource: resource, JWT: jwt})
		if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || ae.Field != "resource" || !strings.Contains(ae.Message, words) {
			t.Errorf("resource %q: %v, want 400 on resource saying %q", resource, err, words)
		}
	}
}
