package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/config"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/mcptest"
	"github.com/idpgate/terraform-provider-idpgate/internal/mockidp"
)

func TestProtectedResourceWire(t *testing.T) {
	ctx := context.Background()
	m := protectedResourceModel{
		Resource:                types.StringValue("https://mcp.example.com/mcp"),
		ResourceName:            types.StringNull(),
		ResourceDocumentation:   types.StringNull(),
		ScopesSupported:         stringSet("b", "a"),
		AuthorizationServers:    types.ListValueMust(types.StringType, []attr.Value{types.StringValue("https://z.example"), types.StringValue("https://a.example")}),
		RequireResourceAudience: types.BoolValue(false),
	}
	var api adminapi.API
	if diags := m.toWire(ctx, &api); diags.HasError() {
		t.Fatal(diags)
	}
	if api.Resource != "https://mcp.example.com/mcp" || !slices.Equal(api.ScopesSupported, []string{"a", "b"}) ||
		!slices.Equal(api.AuthorizationServers, []string{"https://z.example", "https://a.example"}) ||
		api.RequireResourceAudience == nil || *api.RequireResourceAudience {
		t.Errorf("to wire: %+v", api)
	}
	back := protectedResourceFromWire(&api, m)
	if !back.AuthorizationServers.Equal(m.AuthorizationServers) || back.RequireResourceAudience.ValueBool() ||
		!back.ResourceName.IsNull() || !back.Resource.Equal(m.Resource) {
		t.Errorf("from wire: %+v", back)
	}
	m.RequireResourceAudience = types.BoolValue(true)
	api = adminapi.API{}
	m.toWire(ctx, &api)
	if api.RequireResourceAudience != nil {
		t.Error("the default (true) is sent as absent, as the gateway spells it")
	}
	if !protectedResourceFromWire(&api, m).RequireResourceAudience.ValueBool() {
		t.Error("absent on the wire is true")
	}
	for listen, want := range map[string]string{"/mcp/": "https://placeholder.invalid/mcp", "/": "https://placeholder.invalid"} {
		if got := placeholderResource(&adminapi.API{ListenPath: listen}); got != want {
			t.Errorf("placeholder for %s: %s", listen, got)
		}
	}
	if got := placeholderResource(&adminapi.API{ListenPath: "/x", Hosts: []string{"API.example.com"}}); got != "https://api.example.com/x" {
		t.Errorf("placeholder with hosts: %s", got)
	}
}

func resourceAPIConfig(s *gatewayStack, name, listenPath, extra string) string {
	return apiConfig(name, listenPath, s.upstream.URL, "  "+extra+"\n"+jwtAttr(s.idp.URL(), s.idp.JWKSURI()))
}

// TestAccProtectedAPI_resource: resource and its metadata fields are created, read back
// without a diff, updated in place, imported; the gateway serves the metadata; a second API
// claiming the resource fails the apply with the gateway's 409.
func TestAccProtectedAPI_resource(t *testing.T) {
	t.Parallel()
	s := startGatewayStack(t)
	const name = "idpgate_protected_api.mcp"
	resourceURI := s.proxyURL + "/mcp"
	sameID := statecheck.CompareValue(compare.ValuesSame())
	first := s.providerBlock() + resourceAPIConfig(s, "mcp", "/mcp", fmt.Sprintf(`resource = %q
  resource_name = "Tools"
  resource_documentation = "https://docs.example.com/mcp"`, resourceURI))
	second := s.providerBlock() + resourceAPIConfig(s, "mcp", "/mcp", fmt.Sprintf(`resource = %q
  scopes_supported = ["mcp:tools", "mcp:admin"]
  authorization_servers = ["https://b.example.com", "https://a.example.com"]
  require_resource_audience = false`, resourceURI+"/v1"))
	accTest(t, resource.TestCase{
		CheckDestroy: s.checkGatewayEmpty,
		Steps: []resource.TestStep{
			{
				Config:           first,
				ConfigPlanChecks: emptyPlanAfterApply(),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(name, tfjsonpath.New("resource"), knownvalue.StringExact(resourceURI)),
					statecheck.ExpectKnownValue(name, tfjsonpath.New("require_resource_audience"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(name, tfjsonpath.New("scopes_supported"), knownvalue.Null()),
					statecheck.ExpectKnownValue(name, tfjsonpath.New("authorization_servers"), knownvalue.Null()),
					sameID.AddStateValue(name, tfjsonpath.New("id")),
				},
				Check: func(*terraform.State) error {
					resp, err := s.http.Get(s.proxyURL + "/.well-known/oauth-protected-resource/mcp")
					if err != nil {
						return err
					}
					defer resp.Body.Close()
					var doc adminapi.ProtectedResourceMetadata
					if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || resp.StatusCode != http.StatusOK {
						return fmt.Errorf("metadata: status %d, %v", resp.StatusCode, err)
					}
					if doc.Resource != resourceURI || doc.ResourceName != "Tools" || !slices.Equal(doc.AuthorizationServers, []string{s.idp.URL()}) {
						return fmt.Errorf("the gateway serves %+v", doc)
					}
					return nil
				},
			},
			{
				Config: second,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(name, plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					sameID.AddStateValue(name, tfjsonpath.New("id")),
					statecheck.ExpectKnownValue(name, tfjsonpath.New("authorization_servers"),
						knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("https://b.example.com"), knownvalue.StringExact("https://a.example.com")})),
				},
				Check: func(st *terraform.State) error {
					api, err := s.apiOf(t.Context(), st, name)
					if err != nil {
						return err
					}
					if api.Resource != resourceURI+"/v1" || api.RequireResourceAudience == nil || *api.RequireResourceAudience ||
						len(api.ScopesSupported) != 2 || api.ResourceName != "" {
						return fmt.Errorf("the gateway did not follow the update: %+v", api)
					}
					return nil
				},
			},
			{ResourceName: name, ImportState: true, ImportStateVerify: true},
			{ResourceName: name, ImportState: true, ImportStateKind: resource.ImportBlockWithID},
			{
				Config:      second + resourceAPIConfig(s, "mcp2", "/mcp/v1", fmt.Sprintf("resource = %q", resourceURI+"/v1")),
				ExpectError: regexp.MustCompile(`(?s)resource.*already\s+claimed\s+by\s+API\s+"mcp"`),
			},
		},
	})
}

// TestAccProtectedAPI_resourcePlanTimeValidation: a bad resource fails the plan with a
// message that says what is wrong, before anything reaches the gateway (which is not even
// running here); a resource known only after apply leaves the other checks working.
func TestAccProtectedAPI_resourcePlanTimeValidation(t *testing.T) {
	t.Parallel()
	provider := offlineGatewayProvider(t)
	api := func(body string) string { return provider + offlineAPI("/mcp", body) }
	jwt := offlineJWT + "\n"
	cases := map[string]struct{ config, want string }{
		"fragment":                {api(jwt + `resource = "https://mcp.example.com/mcp#tools"`), `(?s)Invalid resource.*must not have a fragment`},
		"relative":                {api(jwt + `resource = "/mcp"`), `(?s)Invalid resource.*must be an absolute URI`},
		"http not on loopback":    {api(jwt + `resource = "http://mcp.example.com/mcp"`), `(?s)Invalid resource.*must use https`},
		"query":                   {api(jwt + `resource = "https://mcp.example.com/mcp?v=1"`), `(?s)Invalid resource.*must not have a query`},
		"outside the listen path": {api(jwt + `resource = "https://mcp.example.com/other"`), `(?s)Invalid resource.*listen path`},
		"host not in hosts": {api(jwt + `hosts = ["a.example.com"]
  resource = "https://b.example.com/mcp"`), `(?s)Invalid resource.*one of hosts`},
		"metadata without a resource": {api(jwt + `resource_name = "Tools"`), `(?s)Invalid resource_name.*applies only to an API with a resource`},
		"introspection without authorization_servers": {api(`resource = "https://mcp.example.com/mcp"
  introspection = {
    endpoint      = "https://idp.example.com/introspect"
    client_id     = "gw"
    client_secret = "s"
  }`), `(?s)Invalid authorization_servers.*introspection`},
		"a bad scope": {api(jwt + `resource = "https://mcp.example.com/mcp"
  scopes_supported = ["a b"]`), `(?s)scopes_supported.*must be one scope`},
		"a resource known after apply, and a bad documentation URL": {provider + apiConfig("other", "/other", "http://127.0.0.1:9", jwt) + `
resource "idpgate_protected_api" "x" {
  name                   = "x"
  listen_path            = "/mcp"
  upstream_url           = "http://127.0.0.1:9"
  resource               = "https://mcp.example.com/mcp/${idpgate_protected_api.other.id}"
  resource_name          = "Tools ${idpgate_protected_api.other.id}"
  resource_documentation = "docs"
  ` + jwt + `
}
`, `(?s)resource_documentation.*must be an absolute http or https URL`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			accTest(t, resource.TestCase{
				Steps: []resource.TestStep{{Config: tc.config, PlanOnly: true, ExpectError: regexp.MustCompile(tc.want)}},
			})
		})
	}
	// A resource known only after apply is not taken for a bad one.
	accTest(t, resource.TestCase{
		Steps: []resource.TestStep{{PlanOnly: true, ExpectNonEmptyPlan: true, Config: provider + apiConfig("other", "/other", "http://127.0.0.1:9", jwt) + `
resource "idpgate_protected_api" "x" {
  name          = "x"
  listen_path   = "/mcp"
  upstream_url  = "http://127.0.0.1:9"
  resource      = "https://mcp.example.com/mcp/${idpgate_protected_api.other.id}"
  resource_name = "Tools"
  ` + jwt + `
}
`}},
	})
}

// TestAccMCPServerGuide applies the configuration of the guide "An MCP server behind your
// IdP" (examples/mcp-server/main.tf) with Terraform, then runs the official MCP Go SDK's
// client against it with only the URL and the client id and secret Terraform registered:
// it lists the server's tools through the gateway. The IdP is the mock in the keycloak
// flavour (the SDK wants PKCE advertised, as Keycloak does), whose tokens carry the resource
// in aud by themselves, as an Okta custom authorization server whose audience is the
// resource does: the SDK's client-credentials handler sends no RFC 8707 resource. A client
// that asks the IdP for a token for another resource is refused.
func TestAccMCPServerGuide(t *testing.T) {
	t.Parallel()
	s := startGatewayStack(t)
	mcpURL := s.proxyURL + "/mcp"
	s.idp = mockidp.NewTestServer(t, mockidp.Options{Flavor: mockidp.FlavorKeycloak, Audience: []string{mcpURL}})
	s.providerExtra = `idp_driver = "keycloak"`
	upstream := mcptest.StartServer(t)

	raw, err := os.ReadFile(filepath.Join("..", "..", "examples", "mcp-server", "main.tf"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := regexp.MustCompile(`(?s)terraform \{.*?\n\}\n`).ReplaceAllString(string(raw), "")
	if !strings.Contains(cfg, `provider "idpgate" {}`) {
		t.Fatal(`the guide's configuration no longer has an empty provider "idpgate" block; update this test`)
	}
	cfg = strings.Replace(cfg, `provider "idpgate" {}`, s.providerBlock(), 1)

	accTest(t, resource.TestCase{
		CheckDestroy: s.checkNothingLeft(),
		Steps: []resource.TestStep{{
			Config: cfg,
			ConfigVariables: config.Variables{
				"mcp_upstream": config.StringVariable(upstream.URL),
				"mcp_resource": config.StringVariable(mcpURL),
			},
			ConfigPlanChecks: emptyPlanAfterApply(),
			Check: func(st *terraform.State) error {
				clientID, secret, err := credentialsInState(st, "idpgate_dcr_client.agent")
				if err != nil {
					return err
				}
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				opts := mcptest.ClientOptions{ClientID: clientID, ClientSecret: secret}
				res, err := mcptest.ListTools(ctx, mcpURL, opts)
				if err != nil {
					return fmt.Errorf("the MCP client: %w (it sent %q)", err, res.Requests)
				}
				if err := mcptest.CheckTools(res); err != nil {
					return err
				}
				if res.ClientID != clientID || res.Scope != "mcp:tools" {
					return fmt.Errorf("the MCP server saw client %q scope %q", res.ClientID, res.Scope)
				}
				opts.Resource = "https://other.example.com/mcp"
				if res, err := mcptest.ListTools(ctx, mcpURL, opts); err == nil {
					return fmt.Errorf("a token for another resource listed %v", res.Tools)
				}
				return nil
			},
		}},
	})
}

// TestAccessToken_resourceInAudience: the token idpgate_access_token obtains with resources
// carries them in aud (the mock honours RFC 8707), which is what an idpgate_protected_api with
// that resource requires; an IdP that refuses the resources (invalid_target) is reported on
// the attribute.
func TestAccessToken_resourceInAudience(t *testing.T) {
	t.Parallel()
	idp := newAccIdP(t, mockidp.FlavorGeneric)
	svc := idp.ServiceClient(t, "mcp:tools")
	cfg := tokenConfig(t, svc.ClientID, svc.ClientSecret)
	cfg.Resources = stringSet("https://mcp.example.com/mcp")
	got, diags := tokenTestResource(t, idp, 0).open(context.Background(), cfg)
	if diags.HasError() {
		t.Fatalf("open: %v", diags)
	}
	tok, err := jwt.ParseSigned(got.AccessToken.ValueString(), []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	var claims jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&claims); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal([]string(claims.Audience), []string{"https://mcp.example.com/mcp"}) {
		t.Errorf("aud %v, want the resource", claims.Audience)
	}

	var many []string
	for i := range 11 {
		many = append(many, fmt.Sprintf("https://r%d.example.com/", i))
	}
	cfg.Resources = stringSet(many...)
	_, diags = tokenTestResource(t, idp, 0).open(context.Background(), cfg)
	if !diags.HasError() || !strings.Contains(fmt.Sprint(diags), "invalid_target") || !strings.Contains(fmt.Sprint(diags), "resources") {
		t.Errorf("an IdP's invalid_target: %v", diags)
	}
}
