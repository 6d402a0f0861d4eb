package provider

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/idpgate/terraform-provider-idpgate/internal/mockidp"
)

// TestRotationRequested: only a trigger that had a value and now has another (or one known
// at apply only) rotates; adding the first value or removing it does not.
func TestRotationRequested(t *testing.T) {
	v1, v2 := types.StringValue("v1"), types.StringValue("v2")
	null, unknown := types.StringNull(), types.StringUnknown()
	for _, tc := range []struct {
		name           string
		prior, planned types.String
		want           bool
	}{
		{"changed", v1, v2, true},
		{"unchanged", v1, v1, false},
		{"known at apply only", v1, unknown, true},
		{"added", null, v1, false},
		{"added, known at apply only", null, unknown, false},
		{"removed", v1, null, false},
		{"never set", null, null, false},
	} {
		if got := rotationRequested(tc.prior, tc.planned); got != tc.want {
			t.Errorf("%s: rotationRequested = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// clientWithoutTrigger is rotatingClient without client_secret_rotation_trigger.
const clientWithoutTrigger = `
resource "idpgate_dcr_client" "app" {
  client_name = "rotating-app"
  grant_types = ["client_credentials"]
  scope       = "orders"
}
`

// TestAccDCRClient_addingATriggerRotatesNothing: as the docs say, a trigger's first value,
// added to an existing client, rotates nothing: with keycloak (which rotates by replacement)
// the plan is an in-place update, the client_id and secret stay, and no client is replaced.
func TestAccDCRClient_addingATriggerRotatesNothing(t *testing.T) {
	t.Parallel()
	idp := newAccIdP(t, mockidp.FlavorKeycloak)
	sameID := statecheck.CompareValue(compare.ValuesSame())
	sameSecret := statecheck.CompareValue(compare.ValuesSame())
	step := func(config string) resource.TestStep {
		return resource.TestStep{
			Config: idpProviderBlock(idp, "") + config,
			ConfigStateChecks: []statecheck.StateCheck{
				sameID.AddStateValue(appAddr, tfjsonpath.New("client_id")),
				sameSecret.AddStateValue(appAddr, tfjsonpath.New("client_secret")),
			},
		}
	}
	added := step(rotatingClient("v1", ""))
	added.ConfigPlanChecks = resource.ConfigPlanChecks{
		PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(appAddr, plancheck.ResourceActionUpdate)},
		PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
	}
	added.Check = func(*terraform.State) error {
		if n := len(idp.Clients()); n != 1 {
			return fmt.Errorf("the IdP holds %d clients, want the one registered", n)
		}
		return nil
	}
	accTest(t, resource.TestCase{
		CheckDestroy: checkClientsGoneAt(idp),
		Steps:        []resource.TestStep{step(clientWithoutTrigger), added},
	})
}

// TestAccDCRClient_rotateOktaRefusedUpdateKeepsState: when Okta refuses the update that a
// rotation starts with (the client's PUT, before any secret is touched), the apply fails,
// the state keeps the working secret and the previous trigger, and the next apply rotates.
func TestAccDCRClient_rotateOktaRefusedUpdateKeepsState(t *testing.T) {
	t.Parallel()
	testOktaRotationRetried(t, mockidp.Faults{PathPrefix: "/oauth2/v1/clients/", Method: http.MethodPut, Next: 1, Status: http.StatusBadRequest},
		func(idp *mockidp.Server) {
			if n := idp.FaultsInjected(); n != 1 {
				t.Errorf("the refused update was not the PUT: %d faults injected", n)
			}
		})
}
