package provider

import (
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/idpgate/terraform-provider-idpgate/internal/mockidp"
)

// testInitialAccessToken is the mock IdP's initial access token (okta: its API token).
const testInitialAccessToken = "iat-acc-4b1d0c9e7f"

var allFlavors = []mockidp.Flavor{mockidp.FlavorGeneric, mockidp.FlavorOkta, mockidp.FlavorKeycloak, mockidp.FlavorHydra}

// newAccIdP starts a mock IdP of the given flavour for one acceptance test.
func newAccIdP(t *testing.T, flavor mockidp.Flavor) *mockidp.Server {
	t.Helper()
	return mockidp.NewTestServer(t, mockidp.Options{Flavor: flavor, InitialAccessToken: testInitialAccessToken})
}

// idpProviderBlock configures the provider against idp with the matching driver.
func idpProviderBlock(idp *mockidp.Server, extra string) string {
	return idpProviderBlockWithoutToken(idp, fmt.Sprintf("initial_access_token = %q\n  %s", testInitialAccessToken, extra))
}

// idpProviderBlockWithoutToken leaves the initial access token to IDPGATE_INITIAL_ACCESS_TOKEN.
func idpProviderBlockWithoutToken(idp *mockidp.Server, extra string) string {
	return fmt.Sprintf(`provider "idpgate" {
  issuer          = %q
  idp_driver      = %q
  request_timeout = "5s"
  %s
}
`, idp.URL(), string(idp.Flavor()), extra)
}

// emptyPlanAfterApply: once applied and refreshed, the configuration plans no change (what
// the IdP or the gateway answers reads back as what was written).
func emptyPlanAfterApply() resource.ConfigPlanChecks {
	return resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}
}

// requestsWhere counts the requests idp logged that match.
func requestsWhere(idp *mockidp.Server, match func(mockidp.RecordedRequest) bool) int {
	n := 0
	for _, r := range idp.Requests() {
		if match(r) {
			n++
		}
	}
	return n
}

// checkClientsGoneAt is a CheckDestroy that asks the mock IdP whether every client the
// state held is really gone.
func checkClientsGoneAt(idp *mockidp.Server) func(*terraform.State) error {
	return func(s *terraform.State) error {
		for name, rs := range s.RootModule().Resources {
			if rs.Type != "idpgate_dcr_client" {
				continue
			}
			if _, ok := idp.Client(rs.Primary.Attributes["client_id"]); ok {
				return fmt.Errorf("%s: client %s still registered at the IdP", name, rs.Primary.Attributes["client_id"])
			}
		}
		if n := len(idp.Clients()); n != 0 {
			return fmt.Errorf("%d clients left at the IdP", n)
		}
		return nil
	}
}

// stateAttr reads one attribute of a resource from Terraform's state; a resource or an
// attribute that is missing or empty is an error.
func stateAttr(st *terraform.State, resourceName, attr string) (string, error) {
	rs, ok := st.RootModule().Resources[resourceName]
	if !ok {
		return "", fmt.Errorf("%s not in state", resourceName)
	}
	v, ok := rs.Primary.Attributes[attr]
	if !ok || v == "" {
		return "", fmt.Errorf("%s has no %s in state", resourceName, attr)
	}
	return v, nil
}

// credentialsInState reads the client id and secret of the idpgate_dcr_client at addr.
func credentialsInState(st *terraform.State, addr string) (clientID, secret string, err error) {
	if clientID, err = stateAttr(st, addr, "client_id"); err != nil {
		return "", "", err
	}
	secret, err = stateAttr(st, addr, "client_secret")
	return clientID, secret, err
}

// stringSet is a known set of strings.
func stringSet(values ...string) types.Set {
	elems := make([]attr.Value, len(values))
	for i, v := range values {
		elems[i] = types.StringValue(v)
	}
	return types.SetValueMust(types.StringType, elems)
}

// accTest runs an acceptance test case through the CLI (testAccPreCheck) with the provider
// under test served in-process.
func accTest(t *testing.T, c resource.TestCase) {
	t.Helper()
	c.PreCheck = func() { testAccPreCheck(t) }
	c.ProtoV6ProviderFactories = testAccProtoV6ProviderFactories
	resource.Test(t, c)
}
