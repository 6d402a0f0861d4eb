package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/idpgate/terraform-provider-idpgate/internal/dcr"
	"github.com/idpgate/terraform-provider-idpgate/internal/hydratest"
	"github.com/idpgate/terraform-provider-idpgate/internal/mockidp"
)

// TestAccPlanChecks_unsupportedMetadata: against each flavour of the mock IdP (each
// advertising what its IdP does), a client asking for what the IdP lists otherwise fails at
// plan with an error on the attribute that names what the IdP lists, and nothing reaches the
// registration endpoint.
func TestAccPlanChecks_unsupportedMetadata(t *testing.T) {
	for _, tc := range []struct {
		flavor mockidp.Flavor
		attrs  string
		want   string
	}{
		{mockidp.FlavorGeneric, `grant_types = ["authorization_code"]`,
			`grant_types "authorization_code" is not supported: the identity provider at \S+ lists\s+grant_types_supported = \[client_credentials\]`},
		{mockidp.FlavorKeycloak, "grant_types = [\"client_credentials\"]\n  token_endpoint_auth_method = \"none\"",
			`token_endpoint_auth_method "none" is not supported: the identity provider at\s+\S+ lists token_endpoint_auth_methods_supported = \[private_key_jwt,\s+client_secret_basic, client_secret_post, tls_client_auth, client_secret_jwt\]`},
		{mockidp.FlavorHydra, "grant_types = [\"client_credentials\"]\n  token_endpoint_auth_method = \"tls_client_auth\"",
			`token_endpoint_auth_method "tls_client_auth" is not supported`},
		{mockidp.FlavorHydra, "grant_types = [\"authorization_code\", \"urn:ietf:params:oauth:grant-type:device_code\"]\n  redirect_uris = [\"https://app.example/cb\"]",
			`grant_types "urn:ietf:params:oauth:grant-type:device_code" is not supported`},
		{mockidp.FlavorOkta, "grant_types = [\"client_credentials\"]\n  token_endpoint_auth_method = \"tls_client_auth\"",
			`token_endpoint_auth_method "tls_client_auth" is not supported: the identity provider at\s+\S+ lists token_endpoint_auth_methods_supported = \[client_secret_basic,\s+client_secret_post, client_secret_jwt, private_key_jwt, none\]`},
	} {
		t.Run(string(tc.flavor)+"/"+strings.Fields(tc.want)[0], func(t *testing.T) {
			t.Parallel()
			idp := newAccIdP(t, tc.flavor)
			accTest(t, tfresource.TestCase{
				Steps: []tfresource.TestStep{{
					Config: idpProviderBlock(idp, "") + fmt.Sprintf(`
resource "idpgate_dcr_client" "app" {
  client_name = "checked"
  %s
}
`, tc.attrs),
					PlanOnly:    true,
					ExpectError: regexp.MustCompile(`(?s)Not supported by the identity provider.*` + strings.ReplaceAll(tc.want, " ", `\s+`)),
				}},
			})
			if n := registrationRequests(idp); n != 0 {
				t.Errorf("%d requests reached the registration endpoint during plan", n)
			}
		})
	}
}

// TestAccPlanChecks_warningsOnly: what an IdP does not advertise, an okta grant type, a scope
// outside scopes_supported and an IdP that cannot be reached are warnings; the plan goes on.
// Unknown values are skipped, and plan_checks = false asks nothing.
func TestAccPlanChecks_warningsOnly(t *testing.T) {
	hydra := newAccIdP(t, mockidp.FlavorHydra)
	okta := newAccIdP(t, mockidp.FlavorOkta)
	generic := newAccIdP(t, mockidp.FlavorGeneric)
	for name, config := range map[string]string{
		"hydra advertises no DPoP nor certificate binding": idpProviderBlock(hydra, "") + `
resource "idpgate_dcr_client" "app" {
  client_name                                = "bound"
  grant_types                                = ["client_credentials"]
  dpop_bound_access_tokens                   = true
  tls_client_certificate_bound_access_tokens = true
  scope                                      = "orders:read offline"
}
`,
		"okta registers for the whole org": idpProviderBlock(okta, "") + `
resource "idpgate_dcr_client" "app" {
  client_name = "service"
  grant_types = ["client_credentials"]
}
`,
		"unknown values": idpProviderBlock(generic, "") + `
resource "terraform_data" "later" {
  input = "authorization_code"
}
resource "idpgate_dcr_client" "app" {
  client_name = "later"
  grant_types = [terraform_data.later.output]
  scope       = terraform_data.later.output
}
`,
		"plan checks off": idpProviderBlock(generic, "plan_checks = false") + `
resource "idpgate_dcr_client" "app" {
  client_name = "unchecked"
  grant_types = ["authorization_code"]
  redirect_uris = ["https://app.example/cb"]
}
`,
		"IdP down": fmt.Sprintf(`provider "idpgate" {
  issuer          = "http://%s"
  request_timeout = "2s"
}
resource "idpgate_dcr_client" "app" {
  client_name = "offline"
  grant_types = ["client_credentials"]
}
`, closedPort(t)),
	} {
		t.Run(name, func(t *testing.T) {
			accTest(t, tfresource.TestCase{
				ExternalProviders: map[string]tfresource.ExternalProvider{},
				Steps:             []tfresource.TestStep{{Config: config, PlanOnly: true, ExpectNonEmptyPlan: true}},
			})
		})
	}
	for _, idp := range []*mockidp.Server{hydra, okta, generic} {
		if n := registrationRequests(idp); n != 0 {
			t.Errorf("%s: %d requests reached the registration endpoint during plan", idp.Flavor(), n)
		}
	}
	if n := discoveryRequests(generic); n != 0 {
		t.Errorf("generic: %d discovery requests with unknown values or plan_checks = false", n)
	}
}

// TestAccPlanChecks_jwks: an API whose allowed_algorithms fits no key of the issuer's JWKS
// fails at plan naming the algorithms the keys offer; one that fits plans.
func TestAccPlanChecks_jwks(t *testing.T) {
	s := startGatewayStack(t)
	api := func(algs string) string {
		return s.providerBlock() + fmt.Sprintf(`
resource "idpgate_protected_api" "orders" {
  name         = "orders"
  listen_path  = "/orders"
  upstream_url = "http://127.0.0.1:1"
  jwt = {
    issuer   = %q
    jwks_uri = %q
    %s
  }
}
`, s.idp.URL(), s.idp.JWKSURI(), algs)
	}
	accTest(t, tfresource.TestCase{
		Steps: []tfresource.TestStep{
			{Config: api(`allowed_algorithms = ["ES256", "EdDSA"]`), PlanOnly: true,
				ExpectError: regexp.MustCompile(`(?s)No key of the issuer fits allowed_algorithms.*allowed_algorithms\s+=\s+\[ES256,\s+EdDSA\],\s+but\s+the\s+JWKS\s+at\s+\S+\s+has\s+keys\s+for\s+\[RS256\]\s+only`)},
			{Config: api(`allowed_algorithms = ["RS256", "ES256"]`), PlanOnly: true, ExpectNonEmptyPlan: true},
			{Config: api(""), PlanOnly: true, ExpectNonEmptyPlan: true},
		},
	})
}

func registrationRequests(idp *mockidp.Server) int {
	return requestsWhere(idp, func(r mockidp.RecordedRequest) bool {
		return strings.HasPrefix(idp.URL()+r.Path, idp.RegistrationEndpoint())
	})
}

func discoveryRequests(idp *mockidp.Server) int {
	return requestsWhere(idp, func(r mockidp.RecordedRequest) bool { return strings.Contains(r.Path, "/.well-known/") })
}

// dcrConfig is a dcr_client configuration with the given attributes set.
func dcrConfig(t *testing.T, attrs map[string]any) tfsdk.Config {
	t.Helper()
	ctx := context.Background()
	var sr resource.SchemaResponse
	NewDCRClientResource().Schema(ctx, resource.SchemaRequest{}, &sr)
	plan := tfsdk.Plan{Schema: sr.Schema, Raw: tftypes.NewValue(sr.Schema.Type().TerraformType(ctx), nil)}
	for name, v := range attrs {
		if d := plan.SetAttribute(ctx, path.Root(name), v); d.HasError() {
			t.Fatalf("%s: %v", name, d)
		}
	}
	return tfsdk.Config{Schema: sr.Schema, Raw: plan.Raw}
}

func discoveryDoc(t *testing.T, doc map[string]any) map[string]json.RawMessage {
	t.Helper()
	b, _ := json.Marshal(doc)
	var out map[string]json.RawMessage
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func summarize(diags diag.Diagnostics) []string {
	var out []string
	for _, d := range diags {
		out = append(out, fmt.Sprintf("%s %s: %s", d.Severity(), d.Summary(), d.Detail()))
	}
	return out
}

// TestCompareWithDiscovery: the severity of each finding.
func TestCompareWithDiscovery(t *testing.T) {
	full := map[string]any{
		"grant_types_supported":                      []string{"client_credentials", "authorization_code"},
		"response_types_supported":                   []string{"code", "code id_token"},
		"token_endpoint_auth_methods_supported":      []string{"client_secret_basic"},
		"scopes_supported":                           []string{"openid"},
		"dpop_signing_alg_values_supported":          []string{"ES256"},
		"tls_client_certificate_bound_access_tokens": true,
	}
	for _, tc := range []struct {
		name    string
		attrs   map[string]any
		doc     map[string]any
		lenient bool
		want    []string // one regexp per diagnostic, in order
	}{
		{"all supported", map[string]any{"grant_types": []string{"authorization_code"}, "response_types": []string{"id_token code"},
			"token_endpoint_auth_method": "client_secret_basic", "dpop_bound_access_tokens": true,
			"tls_client_certificate_bound_access_tokens": true}, full, false, nil},
		{"unsupported grant", map[string]any{"grant_types": []string{"password", "implicit"}}, full, false,
			[]string{`^error .*"password", "implicit" are not supported.*\[client_credentials, authorization_code\]`}},
		{"okta: a warning", map[string]any{"grant_types": []string{"password"}}, full, true, []string{`^warning .*whole org`}},
		{"okta: the auth method is still an error", map[string]any{"token_endpoint_auth_method": "none"}, full, true, []string{`^error `}},
		{"scope: a warning", map[string]any{"scope": "openid orders"}, full, false, []string{`^warning .*"orders" is not supported.*leave scopes out`}},
		{"not advertised: warnings", map[string]any{"grant_types": []string{"password"}, "dpop_bound_access_tokens": true,
			"tls_client_certificate_bound_access_tokens": true}, map[string]any{}, false,
			[]string{`^warning Not advertised.*grant_types_supported`, `^warning Not advertised.*dpop_signing_alg_values_supported`,
				`^warning Not advertised.*tls_client_certificate_bound_access_tokens`}},
		{"bindings refused", map[string]any{"dpop_bound_access_tokens": true, "tls_client_certificate_bound_access_tokens": true},
			map[string]any{"dpop_signing_alg_values_supported": []string{}, "tls_client_certificate_bound_access_tokens": false}, false,
			[]string{`^error .*no DPoP signing algorithm`, `^error .*says\s+tls_client_certificate_bound_access_tokens = false`}},
		{"bindings off: nothing to check", map[string]any{"dpop_bound_access_tokens": false}, map[string]any{}, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := summarize(compareWithDiscovery(context.Background(), dcrConfig(t, tc.attrs), discoveryDoc(t, tc.doc), "https://idp.example", tc.lenient))
			if len(got) != len(tc.want) {
				t.Fatalf("diagnostics %q, want %d matching %q", got, len(tc.want), tc.want)
			}
			for i, re := range tc.want {
				if !regexp.MustCompile(`(?si)` + re).MatchString(got[i]) {
					t.Errorf("diagnostic %d %q does not match %q", i, got[i], re)
				}
			}
		})
	}
}

// TestPlanChecksFetchOncePerRun: two clients planned by one provider instance read the
// discovery document once; an unreachable IdP is a warning, not an error.
func TestPlanChecksFetchOncePerRun(t *testing.T) {
	idp := mockidp.NewTestServer(t, mockidp.Options{})
	data := &providerData{IdP: &idpSettings{Issuer: idp.URL(), Driver: dcr.DriverGeneric},
		planChecks: newPlanChecks(idp.URL(), http.DefaultClient)}
	r := &dcrClientResource{data: data}
	cfg := dcrConfig(t, map[string]any{"client_name": "a", "grant_types": []string{"client_credentials"}})
	for range 3 {
		resp := resource.ModifyPlanResponse{Plan: tfsdk.Plan(cfg)}
		r.checkClientAgainstIdP(context.Background(), resource.ModifyPlanRequest{Config: cfg,
			Plan: tfsdk.Plan(cfg), State: tfsdk.State{Schema: cfg.Schema, Raw: tftypes.NewValue(cfg.Raw.Type(), nil)}}, &resp)
		if resp.Diagnostics.HasError() || resp.Diagnostics.WarningsCount() != 0 {
			t.Fatalf("diagnostics %q", summarize(resp.Diagnostics))
		}
	}
	if n := discoveryRequests(idp); n != 1 {
		t.Errorf("%d discovery requests for three plans, want 1", n)
	}

	down := &dcrClientResource{data: &providerData{IdP: &idpSettings{Issuer: "http://" + closedPort(t), Driver: dcr.DriverGeneric},
		planChecks: newPlanChecks("http://"+closedPort(t), http.DefaultClient)}}
	resp := resource.ModifyPlanResponse{}
	down.checkClientAgainstIdP(context.Background(), resource.ModifyPlanRequest{Config: cfg,
		Plan: tfsdk.Plan(cfg), State: tfsdk.State{Schema: cfg.Schema, Raw: tftypes.NewValue(cfg.Raw.Type(), nil)}}, &resp)
	if resp.Diagnostics.HasError() || resp.Diagnostics.WarningsCount() != 1 ||
		!strings.Contains(summarize(resp.Diagnostics)[0], "Identity provider not checked at plan") {
		t.Errorf("IdP down: diagnostics %q, want one warning", summarize(resp.Diagnostics))
	}
}

// TestAccHydra_planChecks: the Ory Hydra guide's provider block against a real Ory Hydra: what
// Hydra lists otherwise fails at plan naming Hydra's list, what it does not advertise (DPoP)
// is a warning and the plan goes on, and nothing is registered.
func TestAccHydra_planChecks(t *testing.T) {
	t.Parallel()
	h := hydratest.Start(t)
	before, err := h.ClientIDs()
	if err != nil {
		t.Fatal(err)
	}
	client := func(attrs string) string {
		return hydraProviderBlock(h, "") + `
resource "idpgate_dcr_client" "app" {
  client_name = "checked"
  grant_types = ["client_credentials"]
  ` + attrs + `
}
`
	}
	accTest(t, tfresource.TestCase{
		Steps: []tfresource.TestStep{
			{Config: client(`token_endpoint_auth_method = "tls_client_auth"`), PlanOnly: true,
				ExpectError: regexp.MustCompile(`(?s)token_endpoint_auth_method\s+"tls_client_auth"\s+is\s+not\s+supported.*token_endpoint_auth_methods_supported\s+=\s+\[client_secret_post,\s+client_secret_basic,\s+private_key_jwt,\s+none\]`)},
			{Config: client(`dpop_bound_access_tokens = true`), PlanOnly: true, ExpectNonEmptyPlan: true},
		},
	})
	after, err := h.ClientIDs()
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Errorf("Hydra holds %d clients after planning, %d before", len(after), len(before))
	}
}
