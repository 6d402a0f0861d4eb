package provider

import (
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/idpgate/terraform-provider-idpgate/internal/mockidp"
)

func contactsConfig(idp *mockidp.Server, withContacts bool) string {
	contacts := ""
	if withContacts {
		contacts = `contacts   = ["ops@example.com"]`
	}
	return idpProviderBlock(idp, "") + fmt.Sprintf(`
resource "idpgate_dcr_client" "app" {
  client_name = "contacts-app"
  grant_types = ["client_credentials"]
  client_uri  = "https://app.example.com"
  %s
}
`, contacts)
}

// TestAccDCRClient_removedAttribute: removing an attribute the user had set, and nothing
// else, plans an update that leaves it to the IdP; the IdP then no longer holds it.
func TestAccDCRClient_removedAttribute(t *testing.T) {
	for _, flavor := range allFlavors {
		t.Run(string(flavor), func(t *testing.T) {
			t.Parallel()
			idp := newAccIdP(t, flavor)
			sameClientID := statecheck.CompareValue(compare.ValuesSame())
			accTest(t, resource.TestCase{
				CheckDestroy: checkClientsGoneAt(idp),
				Steps: []resource.TestStep{
					{
						Config: contactsConfig(idp, true),
						ConfigStateChecks: []statecheck.StateCheck{
							sameClientID.AddStateValue(appAddr, tfjsonpath.New("client_id")),
						},
						Check: checkAtIdP(idp, map[string]any{"contacts": []any{"ops@example.com"},
							"client_uri": "https://app.example.com"}),
					},
					{
						Config: contactsConfig(idp, false),
						ConfigPlanChecks: resource.ConfigPlanChecks{
							PreApply: []plancheck.PlanCheck{
								plancheck.ExpectResourceAction(appAddr, plancheck.ResourceActionUpdate),
								plancheck.ExpectUnknownValue(appAddr, tfjsonpath.New("contacts")),
								plancheck.ExpectKnownValue(appAddr, tfjsonpath.New("client_uri"),
									knownvalue.StringExact("https://app.example.com")),
							},
							PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
						},
						ConfigStateChecks: []statecheck.StateCheck{
							sameClientID.AddStateValue(appAddr, tfjsonpath.New("client_id")),
						},
						Check: resource.ComposeAggregateTestCheckFunc(
							checkNoContactsAtIdP(idp),
							checkAtIdP(idp, map[string]any{"client_uri": "https://app.example.com",
								"client_name": "contacts-app"}),
							checkStateTokenCurrent(idp),
							func(s *terraform.State) error {
								id, _ := stateAttr(s, appAddr, "client_id")
								secret, _ := stateAttr(s, appAddr, "client_secret")
								return checkTokenMints(idp, id, secret, "")
							},
						),
					},
					{
						Config:   contactsConfig(idp, false),
						PlanOnly: true,
					},
				},
			})
		})
	}
}

// checkNoContactsAtIdP: the IdP holds no contacts (absent or empty) for the state's client.
func checkNoContactsAtIdP(idp *mockidp.Server) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		id, _ := stateAttr(s, appAddr, "client_id")
		rec, ok := idp.Client(id)
		if !ok {
			return fmt.Errorf("client %s not registered at the IdP", id)
		}
		if c, ok := rec.Metadata["contacts"]; ok && fmt.Sprint(c) != "[]" {
			return fmt.Errorf("IdP still holds contacts = %v", c)
		}
		return nil
	}
}
