package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

// TestAccGatewayPlanChecks: what would fail part-way through an apply fails the plan, once,
// on the attribute to change; an unreachable gateway does not stop the plan; values known
// only at apply, and APIs created earlier in the same apply, cause no false alarm.
func TestAccGatewayPlanChecks(t *testing.T) {
	t.Parallel()
	s := startGatewayStack(t)
	held, err := s.admin.CreateAPI(context.Background(), adminapi.API{Name: "held", ListenPath: "/held/",
		UpstreamURL: s.upstream.URL, JWT: &adminapi.JWTValidation{Issuer: "https://idp.example.com",
			JWKSURI: "https://idp.example.com/jwks"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.admin.DeleteAPI(context.Background(), held.ID) })
	provider := gatewayProvider
	api := func(listenPath string) string { return apiConfig("x", listenPath, s.upstream.URL, offlineJWT) }
	policy := func(apiID string) string {
		return fmt.Sprintf(`
resource "idpgate_access_policy" "p" {
  name = "p"
  access_rights = [
    { api_id = idpgate_protected_api.x.id },
    { api_id = %s },
  ]
}
`, apiID)
	}
	good := provider(s.adminURL, s.adminToken)
	const apiLine = `resource "idpgate_protected_api" "x" {`
	cases := map[string]struct {
		config string
		want   *regexp.Regexp
	}{
		"wrong admin token": {provider(s.adminURL, "not-the-admin-token-0123") + api("/orders/"),
			singleError("Gateway refused the admin token", "idpgate_protected_api.x", apiLine,
				"set gateway_admin_token (or IDPGATE_GATEWAY_ADMIN_TOKEN)")},
		"proxy listener instead of admin": {provider(s.proxyURL, s.adminToken) + api("/orders/"),
			singleError("gateway_url is not the admin listener", "idpgate_protected_api.x", apiLine,
				"answered 404 Not Found", "not the gateway's admin listener", "-admin-listen")},
		"listen path held by another API": {good + api("/held"),
			singleError("Listen path already used", "idpgate_protected_api.x", `listen_path  = "/held"`,
				fmt.Sprintf(`listen_path "/held" is already used on the gateway by API "held" (id %s)`, held.ID))},
		"api_id naming no API": {good + api("/orders/") + policy(`"api_nope"`),
			singleError("Unknown API", "idpgate_access_policy.p", `{ api_id = "api_nope" },`,
				`access_rights[1].api_id: the gateway has no API with id "api_nope"`)},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			accTest(t, resource.TestCase{
				Steps: []resource.TestStep{{Config: tc.config, PlanOnly: true, ExpectError: tc.want}},
			})
		})
	}
	t.Run("unreachable gateway is no error", func(t *testing.T) {
		accTest(t, resource.TestCase{
			Steps: []resource.TestStep{{Config: provider(closedPort(t), "unused") + api("/held") + policy(`"api_nope"`),
				PlanOnly: true, ExpectNonEmptyPlan: true}},
		})
	})
	t.Run("plan_checks = false asks the gateway nothing", func(t *testing.T) {
		off := strings.Replace(provider(s.adminURL, "not-the-admin-token-0123"), "}\n", "  plan_checks         = false\n}\n", 1)
		accTest(t, resource.TestCase{
			Steps: []resource.TestStep{{Config: off + api("/held") + policy(`"api_nope"`),
				PlanOnly: true, ExpectNonEmptyPlan: true}},
		})
	})
	t.Run("known API and an API created in the same apply", func(t *testing.T) {
		accTest(t, resource.TestCase{
			Steps: []resource.TestStep{
				{Config: good + api("/orders/") + policy(fmt.Sprintf("%q", held.ID))},
				{Config: good + api("/orders/") + policy(fmt.Sprintf("%q", held.ID)), PlanOnly: true},
			},
		})
	})
}

// TestSameRoute follows the gateway's route index: the same listen path (trailing slash
// aside), and no hosts on either or a host in common (case aside).
func TestSameRoute(t *testing.T) {
	api := func(p string, hosts ...string) adminapi.API { return adminapi.API{ListenPath: p, Hosts: hosts} }
	cases := []struct {
		a, b adminapi.API
		want bool
	}{
		{api("/orders/"), api("/orders"), true},
		{api("/orders"), api("/orders/items"), false},
		{api("/orders"), api("/orders", "api.example.com"), false},
		{api("/orders", "a.example.com", "API.example.com"), api("/orders", "api.example.com"), true},
		{api("/orders", "a.example.com"), api("/orders", "b.example.com"), false},
	}
	for _, c := range cases {
		if got := sameRoute(c.a, c.b); got != c.want {
			t.Errorf("sameRoute(%v, %v) = %v, want %v", c.a, c.b, got, c.want)
		}
		if got := sameRoute(c.b, c.a); got != c.want {
			t.Errorf("sameRoute(%v, %v) = %v, want %v", c.b, c.a, got, c.want)
		}
	}
}
