package provider

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

func TestAccessPolicySchemaIsValid(t *testing.T) {
	if diags := accessPolicySchema().ValidateImplementation(context.Background()); diags.HasError() {
		t.Fatalf("schema: %v", diags)
	}
}

func TestAccessPolicyWireRoundTrip(t *testing.T) {
	ctx := context.Background()
	m := accessPolicyModel{
		Name:      types.StringValue("partners"),
		ClientIDs: stringSet("c2", "c1"),
		AccessRights: []accessRightModel{{
			APIID:          types.StringValue("api-1"),
			Methods:        stringSet("GET", "POST"),
			Paths:          types.SetNull(types.StringType),
			RequiredScopes: types.SetValueMust(types.StringType, nil),
		}},
		RateLimit:   &limitModel{Requests: types.Int64Value(5), Per: durationOf("60s")},
		MaxTokenAge: durationNull(),
	}
	p, diags := m.toWire(ctx)
	if diags.HasError() {
		t.Fatal(diags)
	}
	if err := p.Validate(); err != nil {
		t.Fatalf("gateway validation refuses the body: %v", err)
	}
	if p.RateLimit.Per.D() != time.Minute || p.RateLimit.Requests != 5 || p.Quota != nil || p.MaxTokenAge != 0 {
		t.Errorf("limits = %+v %+v %s", p.RateLimit, p.Quota, p.MaxTokenAge)
	}
	if len(p.ClientIDs) != 2 || len(p.AccessRights) != 1 || len(p.AccessRights[0].Methods) != 2 || p.AccessRights[0].Paths != nil {
		t.Errorf("policy = %+v", p)
	}

	// What the gateway answers: canonical durations, empty lists left out.
	p.ID = "pol-1"
	p.RateLimit.Per = adminapi.Duration(time.Minute)
	p.AccessRights[0].RequiredScopes = nil
	back := accessPolicyFromWire(&p, &m)
	if back.ID.ValueString() != "pol-1" || back.RateLimit.Per.ValueString() != "60s" {
		t.Errorf("id/per = %s/%s", back.ID, back.RateLimit.Per)
	}
	ar := back.AccessRights[0]
	if !ar.Methods.Equal(m.AccessRights[0].Methods) || !ar.Paths.IsNull() || ar.RequiredScopes.IsNull() {
		t.Errorf("access right = %+v", ar)
	}
	if !back.ClientIDs.Equal(m.ClientIDs) || back.Quota != nil || !back.MaxTokenAge.IsNull() {
		t.Errorf("policy = %+v", back)
	}
}

// A policy the gateway cannot accept is caught at plan time, on the attribute that is wrong.
func TestAccessPolicyValidationNamesAttribute(t *testing.T) {
	ctx := context.Background()
	p := adminapi.Policy{Name: "p", AccessRights: []adminapi.AccessRight{{APIID: "a"}, {APIID: "b", Paths: []string{"items"}}}}
	diags := validationDiags(ctx, accessPolicySchema(), p.Validate())
	if diags.ErrorsCount() != 1 {
		t.Fatalf("diags = %v", diags)
	}
	d, ok := diags.Errors()[0].(diag.DiagnosticWithPath)
	// Terraform can show the list element, not the attribute inside it: the text names it.
	want := path.Root("access_rights").AtListIndex(1)
	if !ok || !d.Path().Equal(want) || d.Summary() != "Invalid access_rights[1].paths" {
		t.Fatalf("diagnostic %v, want one on %s", diags.Errors()[0], want)
	}
	if !strings.Contains(d.Detail(), `must start with "/"`) {
		t.Errorf("detail %q does not say what is wrong", d.Detail())
	}
}

// TestAccAccessPolicy_quotaAndMaxTokenAge: the quota and the maximum token age reach the
// gateway and are enforced, and a policy applies to the client ids it lists.
func TestAccAccessPolicy_quotaAndMaxTokenAge(t *testing.T) {
	t.Parallel()
	s := startGatewayStack(t)
	const clientID = "svc-reports"
	config := s.providerBlock() + fmt.Sprintf(`
resource "idpgate_protected_api" "reports" {
  name         = "reports"
  listen_path  = "/reports"
  upstream_url = %q
  jwt = {
    issuer   = %q
    jwks_uri = %q
  }
}

resource "idpgate_access_policy" "reports" {
  name       = "reports"
  client_ids = [%q]
  access_rights = [
    {
      api_id          = idpgate_protected_api.reports.id
      methods         = ["GET"]
      paths           = ["/daily", "/monthly/*"]
      required_scopes = ["reports"]
    },
  ]
  quota = {
    requests = 2
    per      = "24h"
  }
  max_token_age = "1m"
}
`, s.upstream.URL, s.idp.URL(), s.idp.JWKSURI(), clientID)
	mint := func(age time.Duration, scope string) string {
		return s.idp.MintToken(map[string]any{
			"sub": clientID, "client_id": clientID, "aud": []string{"api://default"}, "scope": scope,
			"iat": time.Now().Add(-age).Unix(),
		})
	}
	accTest(t, resource.TestCase{
		CheckDestroy: s.checkGatewayEmpty,
		Steps: []resource.TestStep{
			{
				Config:           config,
				ConfigPlanChecks: emptyPlanAfterApply(),
				Check: func(*terraform.State) error {
					fresh := mint(0, "reports")
					if _, err := s.expectStatus(http.MethodGet, "/reports/daily", mint(2*time.Minute, "reports"), http.StatusUnauthorized); err != nil {
						return fmt.Errorf("token older than max_token_age: %w", err)
					}
					if _, err := s.expectStatus(http.MethodGet, "/reports/daily", mint(0, "other"), http.StatusForbidden); err != nil {
						return fmt.Errorf("token without the required scope: %w", err)
					}
					if _, err := s.expectStatus(http.MethodGet, "/reports/yearly", fresh, http.StatusForbidden); err != nil {
						return fmt.Errorf("path not granted: %w", err)
					}
					for _, p := range []string{"/reports/daily", "/reports/monthly/2026-11"} {
						if _, err := s.expectStatus(http.MethodGet, p, fresh, http.StatusOK); err != nil {
							return fmt.Errorf("within the quota: %w", err)
						}
					}
					_, err := s.expectStatus(http.MethodGet, "/reports/daily", fresh, http.StatusTooManyRequests)
					return err
				},
			},
			{
				ResourceName:      "idpgate_access_policy.reports",
				ImportState:       true,
				ImportStateVerify: true,
				// The gateway spells them "24h0m0s" and "1m0s".
				ImportStateVerifyIgnore: []string{"quota.per", "max_token_age"},
			},
		},
	})
}

// TestAccAccessPolicy_planTimeValidation: limits, durations and methods are checked at plan
// time, on the attribute to change.
func TestAccAccessPolicy_planTimeValidation(t *testing.T) {
	t.Parallel()
	provider := offlineGatewayProvider(t)
	policy := func(body string) string {
		return provider + `
resource "idpgate_access_policy" "x" {
  name = "x"
` + body + "\n}\n"
	}
	grant := `access_rights = [{ api_id = "api_1" }]`
	cases := map[string]struct {
		config string
		want   string
	}{
		"zero requests": {policy(grant + `
  rate_limit = { requests = 0, per = "60s" }`), `(?s)Invalid rate_limit.requests.*greater than 0`},
		"zero period": {policy(grant + `
  rate_limit = { requests = 10, per = "0s" }`), `(?s)rate_limit.per.*longer than 0s`},
		"period not a duration": {policy(grant + `
  quota = { requests = 10, per = "daily" }`), `(?s)Invalid quota.per.*"daily" is not a duration.*such as "24h"`},
		"rate period too long": {policy(grant + `
  rate_limit = { requests = 10, per = "48h" }`), `(?s)Invalid rate_limit.per.*out of range`},
		"lower-case method": {policy(`access_rights = [{ api_id = "api_1", methods = ["get"] }]`),
			`(?s)Invalid access_rights\[0\].methods.*"get" is not an HTTP method; use upper case`},
		"relative path pattern": {policy(`access_rights = [{ api_id = "api_1" }, { api_id = "api_2", paths = ["items"] }]`),
			`(?s)Invalid access_rights\[1\].paths.*must start with "/"`},
		"no access rights": {policy(`access_rights = []`), `(?s)access_rights.*at least 1`},
		"negative token age": {policy(grant + `
  max_token_age = "-1m"`), `(?s)max_token_age.*longer than 0s`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			accTest(t, resource.TestCase{
				Steps: []resource.TestStep{{Config: tc.config, PlanOnly: true, ExpectError: regexp.MustCompile(tc.want)}},
			})
		})
	}
}

// TestAccAccessPolicy_planTimeValidationWithUnknowns: in the usual configuration the policy
// refers to values known only after apply; the known values are still checked at plan time,
// and the unknown ones cause no false alarm.
func TestAccAccessPolicy_planTimeValidationWithUnknowns(t *testing.T) {
	t.Parallel()
	config := func(per string) string {
		return fmt.Sprintf(`
provider "idpgate" {
  gateway_url         = %q
  gateway_admin_token = "unused"
}

resource "idpgate_protected_api" "a" {
  name         = "a"
  listen_path  = "/a"
  upstream_url = "http://127.0.0.1:9"
  jwt = {
    issuer   = "https://idp.example.com"
    jwks_uri = "https://idp.example.com/jwks"
  }
}

resource "idpgate_access_policy" "p" {
  name       = "p-${idpgate_protected_api.a.id}"
  client_ids = ["fixed", idpgate_protected_api.a.id]
  access_rights = [
    {
      api_id          = idpgate_protected_api.a.id
      methods         = ["POST", upper(idpgate_protected_api.a.id)]
      paths           = ["/items/**", "/${idpgate_protected_api.a.id}"]
      required_scopes = [idpgate_protected_api.a.id]
    },
  ]
  rate_limit = {
    requests = 10
    per      = %q
  }
}
`, closedPort(t), per)
	}
	accTest(t, resource.TestCase{
		Steps: []resource.TestStep{
			{Config: config("48h"), PlanOnly: true, ExpectError: regexp.MustCompile(`(?s)Invalid rate_limit.per.*out of range`)},
			{Config: config("60s"), PlanOnly: true, ExpectNonEmptyPlan: true},
		},
	})
}
