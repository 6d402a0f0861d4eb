package gateway

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/mcptest"
	"github.com/idpgate/terraform-provider-idpgate/internal/mockidp"
)

// mcpStack is an MCP server (the official Go SDK's) behind a gateway with the real token
// validators, an IdP (the mock) and a client registered at it for client_credentials.
type mcpStack struct {
	h        *harness
	idp      *mockidp.Server
	app      mockidp.ClientRecord
	upstream string
}

func newMCPStack(t *testing.T, idpOpts mockidp.Options, scope string) *mcpStack {
	t.Helper()
	s := &mcpStack{h: newRealHarness(t), upstream: mcptest.StartServer(t).URL}
	// The SDK reads the IdP's metadata only when it advertises PKCE (code_challenge_methods_supported),
	// even for client credentials: the keycloak flavour does, as Keycloak does.
	idpOpts.Flavor = mockidp.FlavorKeycloak
	s.idp = mockidp.NewTestServer(t, idpOpts)
	var err error
	s.app, err = s.idp.RegisterClient(map[string]any{"client_name": "agent",
		"grant_types": []any{"client_credentials"}, "response_types": []any{}, "scope": scope})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// protect puts the MCP server behind the gateway at listenPath with resource, and grants
// the client.
func (s *mcpStack) protect(t *testing.T, api adminapi.API) *adminapi.API {
	t.Helper()
	api.UpstreamURL = s.upstream
	if api.JWT == nil {
		api.JWT = &adminapi.JWTValidation{Issuer: s.idp.URL(), JWKSURI: s.idp.JWKSURI()}
	}
	created := s.h.createAPI(api)
	s.h.createPolicy(adminapi.Policy{Name: "agent-" + api.Name, ClientIDs: []string{s.app.ClientID},
		AccessRights: []adminapi.AccessRight{{APIID: created.ID}}})
	return created
}

func (s *mcpStack) client(resource string) mcptest.ClientOptions {
	return mcptest.ClientOptions{ClientID: s.app.ClientID, ClientSecret: s.app.ClientSecret, Resource: resource,
		HTTPClient: &http.Client{Timeout: 10 * time.Second}}
}

func mcpContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestMCPClientFindsItsWayThroughTheGateway is the "done when": an MCP client from
// the official Go SDK, given only the server's URL and a client id and secret, starts with no
// token, follows the 401 to the RFC 9728 metadata, gets a token for the resource from the
// IdP with client credentials, and lists the server's tools through the gateway.
func TestMCPClientFindsItsWayThroughTheGateway(t *testing.T) {
	s := newMCPStack(t, mockidp.Options{}, "mcp:use mcp:other")
	resource := s.h.proxy.URL + "/mcp"
	s.protect(t, adminapi.API{Name: "mcp", ListenPath: "/mcp", Resource: resource,
		JWT: &adminapi.JWTValidation{Issuer: s.idp.URL(), JWKSURI: s.idp.JWKSURI(), RequiredScopes: []string{"mcp:use"}}})

	res, err := mcptest.ListTools(mcpContext(t), resource, s.client(resource))
	if err != nil {
		t.Fatalf("%v; the client sent %q", err, res.Requests)
	}
	if err := mcptest.CheckTools(res); err != nil {
		t.Fatal(err)
	}
	if res.ClientID != s.app.ClientID || res.Scope != "mcp:use" {
		t.Errorf("the MCP server saw client %q with scope %q, want %q with the metadata's scopes_supported (mcp:use)",
			res.ClientID, res.Scope, s.app.ClientID)
	}
	// The discovery, in order: the call without a token, the metadata the challenge named,
	// the IdP's metadata, the token, the call again.
	wantOrder := []string{"POST " + resource, "GET " + adminapi.ResourceMetadataURL(resource),
		"GET " + s.idp.URL() + "/.well-known/", "POST " + s.idp.TokenEndpoint(), "POST " + resource}
	i := 0
	for _, r := range res.Requests {
		if i < len(wantOrder) && strings.HasPrefix(r, wantOrder[i]) {
			i++
		}
	}
	if i < len(wantOrder) {
		t.Errorf("the client's requests %q do not follow %q (stuck at %q)", res.Requests, wantOrder, wantOrder[i])
	}
	tokens := s.idp.RequestsTo("POST", s.idp.TokenEndpoint())
	if len(tokens) != 1 {
		t.Fatalf("%d token requests, want 1", len(tokens))
	}
	form, _ := url.ParseQuery(string(tokens[0].Body))
	if form.Get("grant_type") != "client_credentials" || form.Get("resource") != resource || form.Get("scope") != "mcp:use" {
		t.Errorf("token request %v: want client_credentials for resource %s and scope mcp:use", form, resource)
	}
}

// TestMCPTokenForAnotherResourceRefused: a token the IdP issued for another resource (RFC
// 8707: another aud) does not open this one, whether presented by hand or obtained by the
// SDK's client for the wrong resource; and the SDK's client as shipped (no resource
// parameter) gets the IdP's default audience, so it is refused too, unless the IdP puts the
// resource in aud by itself.
func TestMCPTokenForAnotherResourceRefused(t *testing.T) {
	s := newMCPStack(t, mockidp.Options{Audience: []string{"api://default"}}, "mcp:use")
	resource := s.h.proxy.URL + "/mcp"
	s.protect(t, adminapi.API{Name: "mcp", ListenPath: "/mcp", Resource: resource})

	tok := clientToken(t, http.DefaultClient, s.idp, s.app, url.Values{"resource": {"https://other.example.com/mcp"}})
	call, _ := http.NewRequest("POST", resource, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	call.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	call.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(call)
	if err != nil {
		t.Fatal(err)
	}
	body := expect(t, resp, http.StatusUnauthorized)
	if c := resp.Header.Get("WWW-Authenticate"); !strings.Contains(c, `error="invalid_token"`) || !strings.Contains(c, "resource_metadata=") {
		t.Errorf("challenge %q", c)
	}
	if !strings.Contains(string(body), "not issued for this resource") {
		t.Errorf("body %s does not say why", body)
	}

	if res, err := mcptest.ListTools(mcpContext(t), resource, s.client("https://other.example.com/mcp")); err == nil {
		t.Errorf("a client that asked for a token for another resource listed %v", res.Tools)
	}
	if res, err := mcptest.ListTools(mcpContext(t), resource, s.client("")); err == nil {
		t.Errorf("a token with the IdP's default audience listed %v", res.Tools)
	}

	// An IdP that puts the resource in aud by itself (an Okta custom authorization server
	// whose audience is the resource; here a claim the mock adds for the client) serves the
	// SDK's client as it is.
	own := newMCPStack(t, mockidp.Options{}, "mcp:use")
	ownResource := own.h.proxy.URL + "/mcp"
	own.idp.SetExtraClaims(own.app.ClientID, map[string]any{"aud": []any{ownResource}})
	own.protect(t, adminapi.API{Name: "mcp", ListenPath: "/mcp", Resource: ownResource})
	res, err := mcptest.ListTools(mcpContext(t), ownResource, own.client(""))
	if err != nil {
		t.Fatalf("the SDK's client as shipped, with an IdP that sets aud: %v (requests %q)", err, res.Requests)
	}
	if err := mcptest.CheckTools(res); err != nil {
		t.Fatal(err)
	}
}

// TestMCPClientPerHost: two MCP servers at one path on two hosts, each with its own
// resource; each client finds its own metadata, and a host's metadata is not served under
// the other.
func TestMCPClientPerHost(t *testing.T) {
	s := newMCPStack(t, mockidp.Options{}, "mcp:use")
	port := s.h.proxy.URL[strings.LastIndexByte(s.h.proxy.URL, ':'):]
	byIP, byName := "http://127.0.0.1"+port+"/mcp", "http://localhost"+port+"/mcp"
	s.protect(t, adminapi.API{Name: "ip", ListenPath: "/mcp", Hosts: []string{"127.0.0.1"}, Resource: byIP})
	s.protect(t, adminapi.API{Name: "name", ListenPath: "/mcp", Hosts: []string{"localhost"}, Resource: byName})
	s.protect(t, adminapi.API{Name: "private", ListenPath: "/private", Hosts: []string{"localhost"}, Resource: "http://localhost" + port + "/private"})

	for _, resource := range []string{byIP, byName} {
		res, err := mcptest.ListTools(mcpContext(t), resource, s.client(resource))
		if err != nil {
			t.Fatalf("%s: %v (requests %q)", resource, err, res.Requests)
		}
		if !slices.Contains(res.Requests, "GET "+adminapi.ResourceMetadataURL(resource)) {
			t.Errorf("%s: the client did not read its own metadata: %q", resource, res.Requests)
		}
	}
	resp, err := http.Get("http://127.0.0.1" + port + "/.well-known/oauth-protected-resource/private")
	if err != nil {
		t.Fatal(err)
	}
	expect(t, resp, http.StatusNotFound)
	if _, err := mcptest.ListTools(mcpContext(t), "http://127.0.0.1"+port+"/private", s.client("http://127.0.0.1"+port+"/private")); err == nil {
		t.Error("a client reached localhost's private MCP server through 127.0.0.1")
	}
}

// TestMCPClientScopesComeFromTheMetadata records what the SDK's client-credentials client
// (v1.8.0) does with scopes, which the guide tells users: it asks for the metadata's
// scopes_supported; when that token is refused with 403 insufficient_scope, the request
// fails, and on the next 401 or 403 it asks for the scopes it holds and those the challenge
// names. Its Connect sends a second request after the first fails (server/discover, then
// initialize), so the session starts, at the cost of a second token and a failed request.
func TestMCPClientScopesComeFromTheMetadata(t *testing.T) {
	s := newMCPStack(t, mockidp.Options{}, "mcp:use mcp:other")
	resource := s.h.proxy.URL + "/mcp"
	s.protect(t, adminapi.API{Name: "mcp", ListenPath: "/mcp", Resource: resource, ScopesSupported: []string{"mcp:other"},
		JWT: &adminapi.JWTValidation{Issuer: s.idp.URL(), JWKSURI: s.idp.JWKSURI(), RequiredScopes: []string{"mcp:use"}}})

	res, err := mcptest.ListTools(mcpContext(t), resource, s.client(resource))
	if err != nil {
		t.Fatalf("%v (requests %q)", err, res.Requests)
	}
	tokens := s.idp.RequestsTo("POST", s.idp.TokenEndpoint())
	if len(tokens) != 2 {
		t.Fatalf("%d token requests, want 2: the metadata's scopes, then a step-up; update the guide", len(tokens))
	}
	first, _ := url.ParseQuery(string(tokens[0].Body))
	second, _ := url.ParseQuery(string(tokens[1].Body))
	if first.Get("scope") != "mcp:other" {
		t.Errorf("first token for %q, want the metadata's scopes_supported", first.Get("scope"))
	}
	if got := strings.Fields(second.Get("scope")); !slices.Contains(got, "mcp:use") || !slices.Contains(got, "mcp:other") {
		t.Errorf("second token for %q, want the challenged scope added to the held one", got)
	}
	if !strings.Contains(res.Scope, "mcp:use") {
		t.Errorf("the MCP server saw scope %q", res.Scope)
	}
}

// TestResourceAddedToAnAPIChecksAudienceAtOnce: a resource added to an API in place takes
// effect on the next request, also for a token the gateway accepted (and cached) before.
func TestResourceAddedToAnAPIChecksAudienceAtOnce(t *testing.T) {
	s := newMCPStack(t, mockidp.Options{Audience: []string{"api://default"}}, "mcp:use")
	api := s.protect(t, adminapi.API{Name: "mcp", ListenPath: "/mcp"})
	tok := clientToken(t, http.DefaultClient, s.idp, s.app, nil)
	call := func() int {
		resp := s.h.do("GET", "/mcp", tok.AccessToken)
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := call(); got == http.StatusUnauthorized {
		t.Fatalf("without a resource, the token is refused (%d)", got)
	}
	api.Resource = s.h.proxy.URL + "/mcp"
	if _, err := s.h.admin.UpdateAPI(context.Background(), api.ID, *api); err != nil {
		t.Fatal(err)
	}
	if got := call(); got != http.StatusUnauthorized {
		t.Errorf("after the resource was added, a token without it in aud answered %d, want 401", got)
	}
}
