package provider

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

// TestConditionsDiagnosticOnTheElement: a condition the gateway would refuse is reported on
// the list element, for the API's conditions and an access right's.
func TestConditionsDiagnosticOnTheElement(t *testing.T) {
	ctx := context.Background()
	api := adminapi.API{Name: "a", ListenPath: "/a", UpstreamURL: "https://up.example",
		JWT:        &adminapi.JWTValidation{Issuer: "https://i.example", JWKSURI: "https://i.example/k"},
		Conditions: []string{"true", "clams.x == 1"}}
	p := adminapi.Policy{Name: "p", AccessRights: []adminapi.AccessRight{{APIID: "a"}, {APIID: "b", Conditions: []string{"1 + 1"}}}}
	for _, c := range []struct {
		diags diag.Diagnostics
		want  path.Path
		text  string
	}{
		{validationDiags(ctx, protectedAPISchema(), api.Validate()), path.Root("conditions").AtListIndex(1),
			"line 1, column 1: undeclared reference to 'clams'"},
		// Terraform shows no deeper than the access right (displayPath); the text names the condition.
		{validationDiags(ctx, accessPolicySchema(), p.Validate()), path.Root("access_rights").AtListIndex(1),
			"access_rights[1].conditions[0]: the condition is of type int; it must be a bool"},
	} {
		if c.diags.ErrorsCount() != 1 {
			t.Fatalf("diags = %v", c.diags)
		}
		d, ok := c.diags.Errors()[0].(diag.DiagnosticWithPath)
		if !ok || !d.Path().Equal(c.want) || !strings.Contains(d.Detail(), c.text) {
			t.Errorf("diagnostic %v, want one on %s saying %q", c.diags.Errors()[0], c.want, c.text)
		}
	}
}

// TestConditionsWireKeepsOrder: conditions are a list (the log names them by index), sent
// and read back in the user's order.
func TestConditionsWireKeepsOrder(t *testing.T) {
	ctx := context.Background()
	list := types.ListValueMust(types.StringType, []attr.Value{types.StringValue("z == z"), types.StringValue("a == a")})
	got, diags := listToWire(ctx, list)
	if diags.HasError() || len(got) != 2 || got[0] != "z == z" {
		t.Fatalf("listToWire = %v %v", got, diags)
	}
	if back := listFromWire(got, list); !back.Equal(list) {
		t.Errorf("listFromWire = %v", back)
	}
	if back := listFromWire(nil, types.ListValueMust(types.StringType, nil)); back.IsNull() {
		t.Error("an empty list the user wrote reads back as null")
	}
}

// TestAccConditions_planTimeValidation: expressions that do not compile, are not booleans,
// name an unknown variable or may cost too much fail `terraform plan`, offline, on the
// element; an expression built from values known only after apply raises no false alarm.
func TestAccConditions_planTimeValidation(t *testing.T) {
	t.Parallel()
	provider := offlineGatewayProvider(t)
	api := func(conditions string) string {
		return provider + offlineAPI("/x", "  "+offlineJWT+"\n  conditions = "+conditions)
	}
	policy := func(conditions string) string {
		return provider + `
resource "idpgate_access_policy" "x" {
  name          = "x"
  access_rights = [{ api_id = "a" }, { api_id = "b", conditions = ` + conditions + ` }]
}
`
	}
	cases := map[string]struct{ config, want string }{
		"does not compile": {api(`["true", "claims.tenant =="]`),
			`(?s)Invalid conditions\[1\].*line 1, column 17: Syntax error`},
		"not boolean": {api(`["claims.tenant"]`), `(?s)Invalid conditions\[0\].*of type dyn; it must be a bool`},
		"unknown variable": {policy(`["request.method == \"GET\"", "tenant == \"acme\""]`),
			`(?s)Invalid access_rights\[1\].conditions\[1\].*line 1, column 1: undeclared reference to 'tenant'`},
		"over the cost bound": {policy(`["request.headers.all(a, request.headers.all(b, a != b))"]`),
			`(?s)Invalid access_rights\[1\].conditions\[0\].*more than the bound of 100000`},
		"bad CIDR": {api(`["cidr(\"10.0.0.0/33\").containsIP(request.remote_ip)"]`), `(?s)Invalid conditions\[0\].*invalid cidr argument`},
		"empty":    {api(`[""]`), `(?s)conditions\[0\].*string length must be between 1 and 2048`},
		"too many": {api(`[` + strings.Repeat(`"true", `, adminapi.MaxConditions+1) + `]`), `(?s)conditions.*list must contain at most 16`},
		"an origin with a path": {api(`[]
  cors = { allowed_origins = ["https://app.example.com", "https://a.example/path"] }`),
			`(?s)Invalid cors.allowed_origins.*"https://a.example/path" is not an origin.*without path`},
		"any origin with credentials": {api(`[]
  cors = {
    allowed_origins   = ["*"]
    allow_credentials = true
  }`), `(?s)Invalid cors.allow_credentials.*cannot be true with the origin "\*"`},
		"a wildcard inside a host": {api(`[]
  cors = { allowed_origins = ["https://api.*.example.com"] }`), `(?s)Invalid cors.allowed_origins.*whole first label`},
		"max age too long": {api(`[]
  cors = {
    allowed_origins = ["https://app.example.com"]
    max_age         = "48h"
  }`), `(?s)Invalid cors.max_age.*out of range`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			accTest(t, resource.TestCase{
				Steps: []resource.TestStep{{Config: tc.config, PlanOnly: true,
					ExpectError: regexp.MustCompile(strings.ReplaceAll(tc.want, " ", `\s+`))}}, // Terraform wraps the detail
			})
		})
	}
	t.Run("unknown until apply", func(t *testing.T) {
		accTest(t, resource.TestCase{
			Steps: []resource.TestStep{{PlanOnly: true, ExpectNonEmptyPlan: true, Config: api(`["true"]`) + `
resource "idpgate_access_policy" "p" {
  name          = "p"
  access_rights = [{ api_id = idpgate_protected_api.x.id, conditions = ["request.path.startsWith(\"/${idpgate_protected_api.x.id}\")"] }]
}
`}},
		})
	})
}

// TestAccConditions_lifecycle: conditions on an API and on an access right reach the gateway
// and decide requests; a change is an in-place update; import and a plan after apply show
// nothing to do.
func TestAccConditions_lifecycle(t *testing.T) {
	t.Parallel()
	s := startGatewayStack(t)
	const clientID = "svc-tenants"
	config := func(acr string) string {
		return s.providerBlock() + s.stackAPI(fmt.Sprintf(`  conditions = [
    "cidr(\"127.0.0.0/8\").containsIP(request.remote_ip)",
    "has(claims.acr) && claims.acr == '%s'",
  ]
  cors = {
    allowed_origins = ["https://app.example.com", "https://*.preview.example.com"]
    allowed_methods = ["GET", "PUT"]
    allowed_headers = ["Content-Type", "X-Tenant"]
    exposed_headers = ["ETag"]
    max_age         = "10m"
  }`, acr)) + fmt.Sprintf(`
resource "idpgate_access_policy" "tenants" {
  name       = "tenants"
  client_ids = [%q]
  access_rights = [{
    api_id     = idpgate_protected_api.orders.id
    conditions = ["claims.tenant == request.headers[\"x-tenant\"]", "request.method in [\"GET\", \"HEAD\"]"]
  }]
}
`, clientID)
	}
	mint := func(acr string) string {
		return s.idp.MintToken(map[string]any{"sub": clientID, "client_id": clientID, "aud": []string{"api://default"},
			"tenant": "acme", "acr": acr})
	}
	call := func(method, token, tenant string, want int) error {
		req, _ := http.NewRequest(method, s.proxyURL+"/orders/1", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		if tenant != "" {
			req.Header.Set("X-Tenant", tenant)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			return fmt.Errorf("%s with tenant %q: status %d, want %d", method, tenant, resp.StatusCode, want)
		}
		return nil
	}
	accTest(t, resource.TestCase{
		CheckDestroy: s.checkGatewayEmpty,
		Steps: []resource.TestStep{
			{
				Config:           config("mfa"),
				ConfigPlanChecks: emptyPlanAfterApply(),
				Check: func(*terraform.State) error {
					for _, c := range []struct {
						method, acr, tenant string
						want                int
					}{
						{"GET", "mfa", "acme", http.StatusOK},
						{"GET", "mfa", "globex", http.StatusForbidden},
						{"GET", "mfa", "", http.StatusForbidden},
						{"DELETE", "mfa", "acme", http.StatusForbidden},
						{"GET", "pwd", "acme", http.StatusForbidden},
					} {
						if err := call(c.method, mint(c.acr), c.tenant, c.want); err != nil {
							return fmt.Errorf("acr %s: %w", c.acr, err)
						}
					}
					req, _ := http.NewRequest(http.MethodOptions, s.proxyURL+"/orders/1", nil)
					req.Header.Set("Origin", "https://pr-7.preview.example.com")
					req.Header.Set("Access-Control-Request-Method", "PUT")
					req.Header.Set("Access-Control-Request-Headers", "authorization, x-tenant")
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						return err
					}
					resp.Body.Close()
					if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "https://pr-7.preview.example.com" ||
						resp.Header.Get("Access-Control-Max-Age") != "600" {
						return fmt.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
					}
					return nil
				},
			},
			// The gateway spells max_age "10m0s".
			{ResourceName: "idpgate_protected_api.orders", ImportState: true, ImportStateVerify: true, ImportStateVerifyIgnore: []string{"cors.max_age"}},
			{ResourceName: "idpgate_access_policy.tenants", ImportState: true, ImportStateVerify: true},
			{
				Config: config("pwd"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction("idpgate_protected_api.orders", plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(*terraform.State) error {
					if err := call("GET", mint("pwd"), "acme", http.StatusOK); err != nil {
						return err
					}
					return call("GET", mint("mfa"), "acme", http.StatusForbidden)
				},
			},
		},
	})
}
