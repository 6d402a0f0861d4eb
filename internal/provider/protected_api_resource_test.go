package provider

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

func TestProtectedAPISchemaIsValid(t *testing.T) {
	if diags := protectedAPISchema().ValidateImplementation(context.Background()); diags.HasError() {
		t.Fatalf("schema: %v", diags)
	}
}

func TestProtectedAPIToWire(t *testing.T) {
	ctx := context.Background()
	m := protectedAPIModel{
		Name:            types.StringValue("orders"),
		ListenPath:      types.StringValue("/orders/"),
		UpstreamURL:     types.StringValue("http://127.0.0.1:9000"),
		StripListenPath: types.BoolValue(true),
		ForwardClaims:   types.MapValueMust(types.StringType, map[string]attr.Value{"X-Tenant": types.StringValue("tid")}),
		JWT: &jwtValidationModel{
			Issuer:            types.StringValue("https://idp.example.com"),
			JWKSURI:           types.StringValue("https://idp.example.com/jwks"),
			Audiences:         stringSet("orders-api"),
			AllowedAlgorithms: stringSet("RS256", "ES256"),
			Leeway:            durationOf("60s"),
			claimsModel: claimsModel{
				IdentityClaim:  types.StringValue("sub"),
				ClientIDClaim:  types.StringNull(),
				PolicyClaim:    types.StringValue("pol"),
				RequiredScopes: types.SetNull(types.StringType),
			},
		},
	}
	api, diags := m.toWire(ctx)
	if diags.HasError() {
		t.Fatal(diags)
	}
	if api.Name != "orders" || api.ListenPath != "/orders/" || !api.StripListenPath || api.Introspection != nil {
		t.Errorf("top level = %+v", api)
	}
	if got := api.JWT.Leeway.D(); got != time.Minute {
		t.Errorf("leeway = %s, want 1m", got)
	}
	if strings.Join(api.JWT.AllowedAlgorithms, ",") != "ES256,RS256" || api.JWT.ClientIDClaim != "" || api.JWT.RequiredScopes != nil {
		t.Errorf("jwt = %+v", api.JWT)
	}
	if api.ForwardClaims["X-Tenant"] != "tid" {
		t.Errorf("forward_claims = %v", api.ForwardClaims)
	}
	if err := api.Validate(); err != nil {
		t.Errorf("gateway validation refuses the body: %v", err)
	}
}

// The gateway answers in canonical form and omits what is empty; state must keep what the
// user wrote wherever the meaning is the same, or every plan would show a diff.
func TestProtectedAPIFromWireKeepsUserSpelling(t *testing.T) {
	prior := &protectedAPIModel{
		ListenPath:    types.StringValue("/orders/"),
		ForwardClaims: types.MapValueMust(types.StringType, map[string]attr.Value{}),
		Introspection: &introspectionModel{
			ClientSecret: types.StringValue("s3cret"),
			CacheTTL:     durationOf("120s"),
			claimsModel:  claimsModel{RequiredScopes: types.SetValueMust(types.StringType, nil)},
		},
	}
	ttl := adminapi.Duration(2 * time.Minute)
	answer := &adminapi.API{
		ID: "api-1", Name: "orders", ListenPath: "/orders", UpstreamURL: "http://up",
		Introspection: &adminapi.Introspection{
			Endpoint: "https://idp/introspect", ClientID: "gw", ClientSecretSet: true, CacheTTL: &ttl,
			IdentityClaim: "sub", PolicyClaim: "pol",
		},
	}
	m := protectedAPIFromWire(answer, prior)
	if m.ListenPath.ValueString() != "/orders/" {
		t.Errorf("listen_path = %s, want the user's /orders/", m.ListenPath)
	}
	if m.ForwardClaims.IsNull() || len(m.ForwardClaims.Elements()) != 0 {
		t.Errorf("forward_claims = %s, want the user's empty map", m.ForwardClaims)
	}
	in := m.Introspection
	if in.CacheTTL.ValueString() != "120s" {
		t.Errorf("cache_ttl = %s, want the user's 120s", in.CacheTTL)
	}
	if in.ClientSecret.ValueString() != "s3cret" {
		t.Errorf("client_secret = %s, want the prior secret kept", in.ClientSecret)
	}
	if in.RequiredScopes.IsNull() || in.ClientIDClaim.IsNull() != true {
		t.Errorf("required_scopes = %s (want empty set), client_id_claim = %s (want null)", in.RequiredScopes, in.ClientIDClaim)
	}
	if m.JWT != nil {
		t.Errorf("jwt = %+v, want nil", m.JWT)
	}

	// After an import there is no prior: the gateway's values, in its spelling.
	imported := protectedAPIFromWire(answer, nil)
	if imported.ListenPath.ValueString() != "/orders" || imported.Introspection.CacheTTL.ValueString() != "2m0s" ||
		!imported.Introspection.ClientSecret.IsNull() || !imported.ForwardClaims.IsNull() {
		t.Errorf("imported = %+v / %+v", imported, imported.Introspection)
	}
}

// An answer that leaves a defaulted field out reads as the default the schema declares.
func TestProtectedAPIFromWireFillsGatewayDefaults(t *testing.T) {
	zero := protectedAPIFromWire(&adminapi.API{ID: "a", JWT: &adminapi.JWTValidation{Issuer: "https://i", JWKSURI: "https://i/k",
		Leeway: adminapi.DurationOf(0)}}, nil)
	if zero.JWT.Leeway.ValueString() != "0s" {
		t.Errorf("a 0s leeway reads as %s", zero.JWT.Leeway)
	}
	m := protectedAPIFromWire(&adminapi.API{ID: "a", JWT: &adminapi.JWTValidation{Issuer: "https://i", JWKSURI: "https://i/k"}}, nil)
	if m.JWT.Leeway.ValueString() != "30s" || m.JWT.IdentityClaim.ValueString() != "sub" ||
		m.JWT.PolicyClaim.ValueString() != "pol" || !m.JWT.AllowedAlgorithms.Equal(stringSet("RS256")) {
		t.Errorf("jwt = %+v", m.JWT)
	}
}

func TestAccessPolicyAttributePathOfGatewayFields(t *testing.T) {
	ctx := context.Background()
	api, policy := protectedAPISchema(), accessPolicySchema()
	cases := []struct {
		field string
		want  path.Path
		ok    bool
	}{
		{"rate_limit.per", path.Root("rate_limit").AtName("per"), true},
		{"access_rights[0].api_id", path.Root("access_rights").AtListIndex(0).AtName("api_id"), true},
		{"access_rights[2].methods[1]", path.Root("access_rights").AtListIndex(2).AtName("methods"), true},
		{"client_ids[3]", path.Root("client_ids"), true},
		{"max_token_age", path.Root("max_token_age"), true},
		{"unknown_thing", path.Empty(), false},
	}
	for _, c := range cases {
		got, ok := attributePathOf(ctx, policy, c.field)
		if ok != c.ok || (ok && !got.Equal(c.want)) {
			t.Errorf("policy field %q -> %s, %v; want %s, %v", c.field, got, ok, c.want, c.ok)
		}
	}
	apiCases := []struct {
		field string
		want  path.Path
	}{
		{"jwt.jwks_uri", path.Root("jwt").AtName("jwks_uri")},
		{"jwt.allowed_algorithms[0]", path.Root("jwt").AtName("allowed_algorithms")},
		{"introspection.cache_ttl", path.Root("introspection").AtName("cache_ttl")},
		{"forward_claims.X-Idpgate-Foo", path.Root("forward_claims").AtMapKey("X-Idpgate-Foo")},
		{"jwt.no_such_field", path.Root("jwt")},
	}
	for _, c := range apiCases {
		if got, ok := attributePathOf(ctx, api, c.field); !ok || !got.Equal(c.want) {
			t.Errorf("api field %q -> %s, %v; want %s", c.field, got, ok, c.want)
		}
	}
}

func TestProtectedAPIGatewayErrorDiagsTellWhatToChange(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name     string
		err      error
		wantPath path.Path
		wantText []string
	}{
		{"unreachable", errors.New("dial tcp 127.0.0.1:1: connect: connection refused"), path.Empty(),
			[]string{"Cannot reach the idpgate gateway", "gateway_url", "IDPGATE_GATEWAY_URL", "connection refused"}},
		{"wrong token", &adminapi.Error{Status: 401, Code: adminapi.CodeUnauthorized, Message: "bad token"},
			path.Empty(),
			[]string{"refused the admin token", "gateway_admin_token", "IDPGATE_GATEWAY_ADMIN_TOKEN", "IDPGATE_ADMIN_TOKEN"}},
		{"field", adminapi.FieldError("rate_limit.per", "must be a positive duration"),
			path.Root("rate_limit") /* Terraform shows no deeper */, []string{"rate_limit.per", "must be a positive duration", "Change rate_limit.per"}},
		{"conflict", &adminapi.Error{Status: 409, Code: adminapi.CodeConflict, Message: "name \"x\" is taken"}, path.Empty(),
			[]string{"conflict", "name \"x\" is taken", "HTTP 409"}},
		{"server", &adminapi.Error{Status: 500, Code: adminapi.CodeInternal, Message: "Internal Server Error"}, path.Empty(),
			[]string{"Internal Server Error", "HTTP 500"}},
		{"untrusted certificate", &url.Error{Op: "Post", URL: "https://gw", Err: &tls.CertificateVerificationError{
			Err: x509.UnknownAuthorityError{}}}, path.Empty(),
			[]string{"not trusted", "gateway_ca_bundle", "IDPGATE_GATEWAY_CA_BUNDLE", "certificate signed by unknown authority"}},
		{"certificate for another host", &url.Error{Op: "Post", URL: "https://gw", Err: &tls.CertificateVerificationError{
			Err: x509.HostnameError{Certificate: &x509.Certificate{}, Host: "gw"}}}, path.Empty(),
			[]string{"does not match gateway_url", "IDPGATE_GATEWAY_URL"}},
		{"client certificate required", errors.New(`Post "https://gw/v1/apis": remote error: tls: certificate required`), path.Empty(),
			[]string{"refused the TLS handshake", "--admin-client-ca", "gateway_client_cert", "gateway_client_key",
				"IDPGATE_GATEWAY_CLIENT_CERT", "certificate required"}},
		{"http to a TLS listener", &adminapi.Error{Status: 400, Code: adminapi.CodeInternal,
			Message: "Client sent an HTTP request to an HTTPS server."}, path.Empty(),
			[]string{"speaks HTTPS", "use https://", "gateway_ca_bundle"}},
		{"https to a plain listener", errors.New(`Post "https://gw/v1/apis": http: server gave HTTP response to HTTPS client`),
			path.Empty(), []string{"plain HTTP", "use http://", "--admin-tls-cert"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			diags := gatewayErrorDiags(ctx, accessPolicySchema(), "creating access policy \"x\"", c.err)
			if diags.ErrorsCount() != 1 {
				t.Fatalf("diags = %v", diags)
			}
			d := diags.Errors()[0]
			text := d.Summary() + " " + d.Detail()
			for _, w := range c.wantText {
				if !strings.Contains(text, w) {
					t.Errorf("diagnostic %q lacks %q", text, w)
				}
			}
			if !strings.Contains(text, "creating access policy") {
				t.Errorf("diagnostic %q does not say what was being done", text)
			}
			withPath, isAttr := d.(diag.DiagnosticWithPath)
			if c.wantPath.Equal(path.Empty()) {
				if isAttr {
					t.Errorf("unexpected attribute path %s", withPath.Path())
				}
			} else if !isAttr || !withPath.Path().Equal(c.wantPath) {
				t.Errorf("diagnostic path: got %v, want %s", d, c.wantPath)
			}
		})
	}
}

func TestProtectedAPIDurationFromWire(t *testing.T) {
	sixty := durationOf("60s")
	if got := durationFromWire(time.Minute, sixty, false); got.ValueString() != "60s" {
		t.Errorf("equal duration: got %s, want the prior 60s", got)
	}
	if got := durationFromWire(2*time.Minute, sixty, false); got.ValueString() != "2m0s" {
		t.Errorf("changed duration: got %s, want 2m0s", got)
	}
	if got := durationFromWire(0, durationNull(), true); !got.IsNull() {
		t.Errorf("zero meaning unset: got %s, want null", got)
	}
}

func protectedAPIConfig(s *gatewayStack, upstream, leeway string, extra string) string {
	return s.providerBlock() + fmt.Sprintf(`
resource "idpgate_protected_api" "orders" {
  name         = "orders"
  listen_path  = "/orders/"
  upstream_url = %q

  jwt = {
    issuer   = %q
    jwks_uri = %q
    leeway   = %q
    %s
  }
}
`, upstream, s.idp.URL(), s.idp.JWKSURI(), leeway, extra)
}

// TestAccProtectedAPI_lifecycle: create, update in place, import, and re-creation after the
// API is deleted behind Terraform's back.
func TestAccProtectedAPI_lifecycle(t *testing.T) {
	t.Parallel()
	s := startGatewayStack(t)
	const name = "idpgate_protected_api.orders"
	// The update keeps the API's identity: policies refer to it by id.
	sameID := statecheck.CompareValue(compare.ValuesSame())
	accTest(t, resource.TestCase{
		CheckDestroy: s.checkGatewayEmpty,
		Steps: []resource.TestStep{
			{
				Config:           protectedAPIConfig(s, s.upstream.URL, "60s", ""),
				ConfigPlanChecks: emptyPlanAfterApply(),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(name, tfjsonpath.New("jwt").AtMapKey("leeway"), knownvalue.StringExact("60s")),
					statecheck.ExpectKnownValue(name, tfjsonpath.New("jwt").AtMapKey("policy_claim"), knownvalue.StringExact("pol")),
					statecheck.ExpectKnownValue(name, tfjsonpath.New("strip_listen_path"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue(name, tfjsonpath.New("forward_override_headers"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue(name, tfjsonpath.New("sender_constraint"), knownvalue.StringExact("none")),
					statecheck.ExpectKnownValue(name, tfjsonpath.New("path_normalization"), knownvalue.StringExact("reject_request")),
					statecheck.ExpectKnownValue(name, tfjsonpath.New("case_insensitive_paths"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue(name, tfjsonpath.New("introspection"), knownvalue.Null()),
					sameID.AddStateValue(name, tfjsonpath.New("id")),
				},
				Check: func(st *terraform.State) error {
					api, err := s.apiOf(t.Context(), st, name)
					if err != nil {
						return err
					}
					if api.JWT.Leeway.D() != time.Minute || api.UpstreamURL != s.upstream.URL || api.JWT.Issuer != s.idp.URL() {
						return fmt.Errorf("the gateway holds %+v / %+v", api, api.JWT)
					}
					return nil
				},
			},
			{
				Config: strings.Replace(protectedAPIConfig(s, s.upstream.URL+"/v2", "2m",
					`audiences = ["orders-api"]
    required_scopes = ["orders"]
    client_id_claim = "azp"`), "  jwt = {", "  forward_override_headers = true\n  sender_constraint = \"dpop\"\n  hosts = [\"API.example.com\", \"orders.example.com\"]\n"+
					"  path_normalization = \"normalize_and_forward\"\n  case_insensitive_paths = true\n\n  jwt = {", 1),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(name, plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					sameID.AddStateValue(name, tfjsonpath.New("id")),
				},
				Check: func(st *terraform.State) error {
					api, err := s.apiOf(t.Context(), st, name)
					if err != nil {
						return err
					}
					if api.PathNormalization != adminapi.PathNormalizationNormalize || !api.CaseInsensitivePaths {
						return fmt.Errorf("the gateway holds path_normalization %q, case_insensitive_paths %v", api.PathNormalization, api.CaseInsensitivePaths)
					}
					if api.UpstreamURL != s.upstream.URL+"/v2" || api.JWT.Leeway.D() != 2*time.Minute || !api.ForwardOverrideHeaders || len(api.Hosts) != 2 || api.SenderConstraint != "dpop" ||
						api.JWT.ClientIDClaim != "azp" || len(api.JWT.Audiences) != 1 || len(api.JWT.RequiredScopes) != 1 {
						return fmt.Errorf("the gateway did not follow the update: %+v / %+v", api, api.JWT)
					}
					return nil
				},
			},
			{
				ResourceName:      name,
				ImportState:       true,
				ImportStateVerify: true,
				// "2m" comes back as "2m0s"; the import-block step below shows it is no diff.
				ImportStateVerifyIgnore: []string{"jwt.leeway"},
			},
			{
				// terraform plan with an import block in a fresh directory: the import must
				// plan no change against the configuration.
				ResourceName:    name,
				ImportState:     true,
				ImportStateKind: resource.ImportBlockWithID,
			},
			{
				PreConfig: func() {
					apis, err := s.admin.ListAPIs(t.Context())
					if err != nil || len(apis) != 1 {
						t.Fatalf("listing APIs: %v (%d)", err, len(apis))
					}
					if err := s.admin.DeleteAPI(t.Context(), apis[0].ID); err != nil {
						t.Fatalf("deleting the API out of band: %v", err)
					}
				},
				Config: protectedAPIConfig(s, s.upstream.URL, "60s", ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(name, plancheck.ResourceActionCreate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
		},
	})
}

// TestAccProtectedAPI_introspection: an API whose tokens are checked at the IdP's RFC 7662
// endpoint, with credentials of a client Terraform registers for the gateway. The secret is
// sensitive, never read back, and survives refresh and import.
func TestAccProtectedAPI_introspection(t *testing.T) {
	t.Parallel()
	s := startGatewayStack(t)
	config := func(ttl string) string {
		return s.providerBlock() + clientCredentialsClient("gateway", "gateway-introspection", "") +
			clientCredentialsClient("app", "app", "orders") +
			introspectionAPI(s.upstream.URL, s.idp.IntrospectionEndpoint(), fmt.Sprintf("cache_ttl     = %q", ttl)) + `
resource "idpgate_access_policy" "app" {
  name          = "app"
  client_ids    = [idpgate_dcr_client.app.client_id]
  access_rights = [{ api_id = idpgate_protected_api.orders.id }]
}
`
	}
	const name = "idpgate_protected_api.orders"
	callThrough := func(st *terraform.State) error {
		_, token, err := s.tokenFromState(st, "idpgate_dcr_client.app")
		if err != nil {
			return err
		}
		if _, err := s.expectStatus(http.MethodGet, "/orders/x", token, http.StatusOK); err != nil {
			return fmt.Errorf("token checked by introspection: %w", err)
		}
		_, err = s.expectStatus(http.MethodGet, "/orders/x", "opaque-garbage", http.StatusUnauthorized)
		return err
	}
	accTest(t, resource.TestCase{
		CheckDestroy: s.checkNothingLeft(),
		Steps: []resource.TestStep{
			{
				Config:           config("60s"),
				ConfigPlanChecks: emptyPlanAfterApply(),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttrPair(name, "introspection.client_secret", "idpgate_dcr_client.gateway", "client_secret"),
					resource.TestCheckResourceAttr(name, "introspection.identity_claim", "sub"),
					callThrough,
				),
			},
			{
				Config: config("0s"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(name, plancheck.ResourceActionUpdate),
						plancheck.ExpectSensitiveValue(name, tfjsonpath.New("introspection").AtMapKey("client_secret")),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: callThrough,
			},
			{
				ResourceName:            name,
				ImportState:             true,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"introspection.client_secret"},
			},
		},
	})
}

// TestAccProtectedAPI_planTimeValidation: values the gateway would refuse fail the plan, on
// the attribute to change, without calling the gateway.
func TestAccProtectedAPI_planTimeValidation(t *testing.T) {
	t.Parallel()
	provider := offlineGatewayProvider(t)
	api := func(body string) string { return provider + offlineAPI("/x", body) }
	jwt := offlineJWT
	cases := map[string]struct {
		config string
		want   string
	}{
		"neither jwt nor introspection": {api(""), `(?s)Missing Attribute Configuration.*Exactly one of these attributes must be configured: \[jwt,introspection\]`},
		"both": {api(jwt + `
  introspection = {
    endpoint      = "https://idp.example.com/introspect"
    client_id     = "gw"
    client_secret = "s"
  }`), `(?s)Invalid Attribute Combination.*Exactly one of these attributes must be configured: \[jwt,introspection\]`},
		"symmetric algorithm": {api(`jwt = {
    issuer             = "https://idp.example.com"
    jwks_uri           = "https://idp.example.com/jwks"
    allowed_algorithms = ["HS256"]
  }`), `(?s)jwt.allowed_algorithms.*value must be one of`},
		"leeway too long": {api(`jwt = {
    issuer   = "https://idp.example.com"
    jwks_uri = "https://idp.example.com/jwks"
    leeway   = "10m"
  }`), `(?s)Invalid jwt.leeway.*out of range`},
		"leeway not a duration": {api(`jwt = {
    issuer   = "https://idp.example.com"
    jwks_uri = "https://idp.example.com/jwks"
    leeway   = "soon"
  }`), `(?s)Invalid jwt.leeway.*"soon" is not a duration.*such as "30s"`},
		"relative jwks_uri": {api(`jwt = {
    issuer   = "https://idp.example.com"
    jwks_uri = "/jwks"
  }`), `(?s)jwt.jwks_uri.*must be an absolute http or https URL`},
		"forwarding into a gateway header": {api(jwt + `
  forward_claims = { "X-Idpgate-Subject" = "email" }`), `(?s)Invalid forward_claims.X-Idpgate-Subject.*headers starting with X-Idpgate-`},
		"a host with a scheme": {api(jwt + `
  hosts = ["https://api.example.com"]`), `(?s)Invalid hosts.*is not a host name`},
		"a host with a port": {api(jwt + `
  hosts = ["a.example:80"]`), `(?s)Invalid hosts.*"a.example:80" has a port`},
		"unknown path normalization": {api(jwt + `
  path_normalization = "merge_slashes"`), `(?s)path_normalization.*value must be one of`},
		"case-insensitive API with an upper-case listen path": {provider + `
resource "idpgate_protected_api" "x" {
  name                   = "x"
  listen_path            = "/Orders"
  upstream_url           = "http://127.0.0.1:9"
  case_insensitive_paths = true
  ` + jwt + "\n}\n", `(?s)Invalid listen_path.*lower`},
		"listen path with a backslash":        {provider + offlineAPI(`/a\b`, jwt), `(?s)Invalid listen_path.*backslash`},
		"listen path under the decision path": {provider + offlineAPI("/_idpgate/decide/x", jwt), `(?s)Invalid listen_path.*/_idpgate`},
		"forwarding into a header spelled with _": {api(jwt + `
  forward_claims = { "X_Tenant" = "tid" }`), `(?s)Invalid forward_claims.X_Tenant.*use - instead`},
		"leeway too long, other values unknown until apply": {provider + apiConfig("other", "/other", "http://127.0.0.1:9", jwt) + `
resource "idpgate_protected_api" "x" {
  name         = "x-${idpgate_protected_api.other.id}"
  listen_path  = "/${idpgate_protected_api.other.id}"
  upstream_url = "http://127.0.0.1:9/${idpgate_protected_api.other.id}"
  jwt = {
    issuer             = "https://idp.example.com/${idpgate_protected_api.other.id}"
    jwks_uri           = "https://idp.example.com/jwks"
    allowed_algorithms = [upper(idpgate_protected_api.other.id)]
    leeway             = "10m"
  }
}
`, `(?s)Invalid jwt.leeway.*out of range`},
		"listen path with a wildcard": {provider + `
resource "idpgate_protected_api" "x" {
  name         = "x"
  listen_path  = "/x/*"
  upstream_url = "http://127.0.0.1:9"
  ` + jwt + "\n}\n", `(?s)Invalid listen_path.*wildcard`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			accTest(t, resource.TestCase{
				Steps: []resource.TestStep{{Config: tc.config, PlanOnly: true, ExpectError: regexp.MustCompile(tc.want)}},
			})
		})
	}
}

// TestAccProtectedAPI_zeroLeeway: leeway = "0s" reaches the gateway as zero (not as "unset",
// which would be the 30s default), reads back as "0s", and plans nothing after the apply.
func TestAccProtectedAPI_zeroLeeway(t *testing.T) {
	t.Parallel()
	s := startGatewayStack(t)
	accTest(t, resource.TestCase{
		CheckDestroy: s.checkNothingLeft(),
		Steps: []resource.TestStep{
			{
				Config:           protectedAPIConfig(s, s.upstream.URL, "0s", ""),
				ConfigPlanChecks: emptyPlanAfterApply(),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("idpgate_protected_api.orders", "jwt.leeway", "0s"),
					func(st *terraform.State) error {
						api, err := s.apiOf(context.Background(), st, "idpgate_protected_api.orders")
						if err != nil {
							return err
						}
						if api.JWT.Leeway == nil || api.JWT.Leeway.D() != 0 {
							return fmt.Errorf("the gateway holds leeway %v, want 0s", api.JWT.Leeway)
						}
						return nil
					},
				),
			},
			{
				ResourceName:      "idpgate_protected_api.orders",
				ImportState:       true,
				ImportStateVerify: true,
			},
		},
	})
}
