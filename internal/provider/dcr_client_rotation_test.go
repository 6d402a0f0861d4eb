package provider

import (
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/idpgate/terraform-provider-idpgate/internal/hydratest"
	"github.com/idpgate/terraform-provider-idpgate/internal/mockidp"
)

// rotatingClient is a client_credentials client whose secret rotates with trigger.
func rotatingClient(trigger, lifecycle string) string {
	return fmt.Sprintf(`
resource "idpgate_dcr_client" "app" {
  client_name                    = "rotating-app"
  grant_types                    = ["client_credentials"]
  scope                          = "orders"
  client_secret_rotation_trigger = %q
  %s
}
`, trigger, lifecycle)
}

// secretsSeen collects every client secret the state held, for the checks of later steps
// and for the log scan.
type secretsSeen struct {
	ids     []string
	secrets []string
}

func (s *secretsSeen) collect(st *terraform.State) error {
	id, err := stateAttr(st, appAddr, "client_id")
	if err != nil {
		return err
	}
	secret, err := stateAttr(st, appAddr, "client_secret")
	if err != nil {
		return err
	}
	s.ids, s.secrets = append(s.ids, id), append(s.secrets, secret)
	return nil
}

// mintsWith checks that the step's i-th secret (of the client it was issued for) mints, or
// is refused, at the mock's token endpoint.
func (s *secretsSeen) mintsWith(idp *mockidp.Server, i int, want bool) resource.TestCheckFunc {
	return func(*terraform.State) error {
		if i >= len(s.secrets) {
			return fmt.Errorf("no secret %d collected", i)
		}
		err := checkTokenMints(idp, s.ids[i], s.secrets[i], "orders")
		switch {
		case want && err != nil:
			return fmt.Errorf("secret %d no longer mints: %w", i+1, err)
		case !want && err == nil:
			return fmt.Errorf("secret %d still mints", i+1)
		}
		return nil
	}
}

// logSecrets is what checkLogFreeOf looks for: every secret seen, and the API token.
func (s *secretsSeen) logSecrets() map[string]string {
	out := map[string]string{"initial access token": testInitialAccessToken}
	for i, v := range s.secrets {
		out[fmt.Sprintf("client secret %d", i+1)] = v
	}
	return out
}

// TestAccDCRClient_rotateOkta: with the okta driver a trigger change rotates the secret in
// place through Okta's client secrets API. After a rotation the old and the new secret both
// mint; the next rotation removes the older one. Nothing secret reaches the TRACE log.
func TestAccDCRClient_rotateOkta(t *testing.T) {
	idp := newAccIdP(t, mockidp.FlavorOkta)
	logFile := filepath.Join(t.TempDir(), "provider.log")
	t.Setenv("TF_LOG", "JSON")
	t.Setenv("TF_LOG_PATH", logFile)
	var seen secretsSeen
	sameClientID := statecheck.CompareValue(compare.ValuesSame())
	step := func(trigger string, checks ...resource.TestCheckFunc) resource.TestStep {
		return resource.TestStep{
			Config: idpProviderBlock(idp, "") + rotatingClient(trigger, ""),
			ConfigStateChecks: []statecheck.StateCheck{
				sameClientID.AddStateValue(appAddr, tfjsonpath.New("client_id")),
			},
			ConfigPlanChecks: emptyPlanAfterApply(),
			Check:            resource.ComposeTestCheckFunc(append([]resource.TestCheckFunc{seen.collect}, checks...)...),
		}
	}
	inPlace := resource.ConfigPlanChecks{
		PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(appAddr, plancheck.ResourceActionUpdate)},
		PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
	}
	secretsAtIdP := func(n int) resource.TestCheckFunc {
		return func(*terraform.State) error {
			if got := idp.ClientSecrets(seen.ids[len(seen.ids)-1]); len(got) != n {
				return fmt.Errorf("the IdP holds %d secrets, want %d", len(got), n)
			}
			return nil
		}
	}
	rotate1 := step("2025-01", seen.mintsWith(idp, 0, true), seen.mintsWith(idp, 1, true), secretsAtIdP(2))
	rotate1.ConfigPlanChecks = inPlace
	rotate2 := step("2025-02", seen.mintsWith(idp, 0, false), seen.mintsWith(idp, 1, true), seen.mintsWith(idp, 2, true), secretsAtIdP(2))
	rotate2.ConfigPlanChecks = inPlace
	accTest(t, resource.TestCase{
		CheckDestroy: checkClientsGoneAt(idp),
		Steps: []resource.TestStep{
			step("2024-12", seen.mintsWith(idp, 0, true), secretsAtIdP(1)),
			rotate1,
			rotate2,
			{
				ResourceName:      appAddr,
				ImportState:       true,
				ImportStateVerify: true,
				ImportStateIdFunc: importID(mockidp.FlavorOkta),
				// The trigger is the user's own value. With two secrets Okta's client API shows
				// neither (the mock, being strict, never does), so an import cannot learn it.
				ImportStateVerifyIgnore: []string{rotationTriggerAttr, "client_secret"},
			},
		},
	})
	if len(seen.secrets) != 3 || seen.secrets[0] == seen.secrets[1] || seen.secrets[1] == seen.secrets[2] {
		t.Fatalf("secrets across the steps: want three different ones, got %d", len(seen.secrets))
	}
	checkLogFreeOf(t, logFile, seen.logSecrets(), "rotated the client secret")
}

// TestAccDCRClient_rotateGeneric: an RFC 7592 server that answers a new secret on update
// keeps the client_id; one that keeps the secret gets a replacement inside the same apply,
// the old client deleted and nothing orphaned. Import afterwards leaves no difference.
func TestAccDCRClient_rotateGeneric(t *testing.T) {
	for _, rotateOnUpdate := range []bool{true, false} {
		t.Run(fmt.Sprintf("RotateSecretOnUpdate=%v", rotateOnUpdate), func(t *testing.T) {
			idp := mockidp.NewTestServer(t, mockidp.Options{Flavor: mockidp.FlavorGeneric,
				InitialAccessToken: testInitialAccessToken, RotateSecretOnUpdate: rotateOnUpdate})
			logFile := filepath.Join(t.TempDir(), "provider.log")
			t.Setenv("TF_LOG", "JSON")
			t.Setenv("TF_LOG_PATH", logFile)
			var seen secretsSeen
			clientID := statecheck.CompareValue(compare.ValuesDiffer())
			if rotateOnUpdate {
				clientID = statecheck.CompareValue(compare.ValuesSame())
			}
			oldClientGone := func(*terraform.State) error {
				_, exists := idp.Client(seen.ids[0])
				if exists && seen.ids[0] != seen.ids[1] {
					return fmt.Errorf("the first client still exists at the IdP")
				}
				if n := len(idp.Clients()); n != 1 {
					return fmt.Errorf("the IdP holds %d clients, want 1: nothing may be orphaned", n)
				}
				return nil
			}
			accTest(t, resource.TestCase{
				CheckDestroy: checkClientsGoneAt(idp),
				Steps: []resource.TestStep{
					{
						Config:            idpProviderBlock(idp, "") + rotatingClient("v1", ""),
						ConfigStateChecks: []statecheck.StateCheck{clientID.AddStateValue(appAddr, tfjsonpath.New("client_id"))},
						ConfigPlanChecks:  emptyPlanAfterApply(),
						Check:             resource.ComposeTestCheckFunc(seen.collect, seen.mintsWith(idp, 0, true)),
					},
					{
						Config:            idpProviderBlock(idp, "") + rotatingClient("v2", ""),
						ConfigStateChecks: []statecheck.StateCheck{clientID.AddStateValue(appAddr, tfjsonpath.New("client_id"))},
						ConfigPlanChecks: resource.ConfigPlanChecks{
							PreApply: []plancheck.PlanCheck{
								plancheck.ExpectResourceAction(appAddr, plancheck.ResourceActionUpdate),
								plancheck.ExpectUnknownValue(appAddr, tfjsonpath.New("client_secret")),
							},
							PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
						},
						Check: resource.ComposeTestCheckFunc(seen.collect, seen.mintsWith(idp, 1, true),
							seen.mintsWith(idp, 0, false), oldClientGone),
					},
					{
						ResourceName:      appAddr,
						ImportState:       true,
						ImportStateVerify: true,
						ImportStateIdFunc: importID(mockidp.FlavorGeneric),
						// The trigger is the user's own value; the IdP never holds it.
						ImportStateVerifyIgnore: []string{rotationTriggerAttr},
					},
				},
			})
			checkLogFreeOf(t, logFile, seen.logSecrets(), "rotated the client secret")
		})
	}
}

// TestAccDCRClient_rotateKeycloakReplaces: keycloak's registration API cannot issue a new
// secret, so a trigger change plans a replacement.
func TestAccDCRClient_rotateKeycloakReplaces(t *testing.T) {
	t.Parallel()
	idp := newAccIdP(t, mockidp.FlavorKeycloak)
	var seen secretsSeen
	accTest(t, resource.TestCase{
		CheckDestroy: checkClientsGoneAt(idp),
		Steps: []resource.TestStep{
			{Config: idpProviderBlock(idp, "") + rotatingClient("v1", ""), Check: seen.collect},
			{
				Config: idpProviderBlock(idp, "") + rotatingClient("v2", "lifecycle {\n    create_before_destroy = true\n  }"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(appAddr, plancheck.ResourceActionReplace)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: resource.ComposeTestCheckFunc(seen.collect, seen.mintsWith(idp, 1, true), seen.mintsWith(idp, 0, false),
					func(*terraform.State) error {
						if seen.ids[0] == seen.ids[1] || len(idp.Clients()) != 1 {
							return fmt.Errorf("want a new client and the old one gone; the IdP holds %d clients", len(idp.Clients()))
						}
						return nil
					}),
			},
		},
	})
}

// TestAccHydra_secretRotation: against a real Ory Hydra v2.3.0 a trigger change replaces the
// client (Hydra keeps the secret on update and refuses a chosen one): a new client_id whose
// secret mints at Hydra, the old client deleted there, and an empty plan after.
func TestAccHydra_secretRotation(t *testing.T) {
	t.Parallel()
	h := hydratest.Start(t)
	var ids []string
	collect := func(s *terraform.State) error {
		id, err := stateAttr(s, appAddr, "client_id")
		ids = append(ids, id)
		return err
	}
	mints := func(s *terraform.State) error {
		id, _ := stateAttr(s, appAddr, "client_id")
		secret, err := stateAttr(s, appAddr, "client_secret")
		if err != nil {
			return err
		}
		_, err = hydraToken(h, id, secret, "orders")
		return err
	}
	lifecycle := "lifecycle {\n    create_before_destroy = true\n  }"
	accTest(t, resource.TestCase{
		CheckDestroy: checkHydraClientsGone(h),
		Steps: []resource.TestStep{
			{
				Config: hydraProviderBlock(h, "") + rotatingClient("2025-01", lifecycle),
				Check:  resource.ComposeTestCheckFunc(collect, mints),
			},
			{
				Config: hydraProviderBlock(h, "") + rotatingClient("2025-02", lifecycle),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(appAddr, plancheck.ResourceActionReplace)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: resource.ComposeTestCheckFunc(collect, mints, func(*terraform.State) error {
					if ids[0] == ids[1] {
						return fmt.Errorf("client_id %s kept; want a new client", ids[1])
					}
					exists, err := h.ClientExists(ids[0])
					if err != nil || exists {
						return fmt.Errorf("the old client %s still exists at Hydra (%v)", ids[0], err)
					}
					return nil
				}),
			},
		},
	})
}

// TestAccDCRClient_rotateOktaRetriesAfterFailure: when Okta refuses the new secret, the apply
// fails, the state keeps the working secret and the previous trigger, and the next apply
// rotates.
func TestAccDCRClient_rotateOktaRetriesAfterFailure(t *testing.T) {
	t.Parallel()
	testOktaRotationRetried(t, mockidp.Faults{PathPrefix: "/api/v1/apps/", Method: http.MethodPost, Next: 1, Status: http.StatusBadRequest}, nil)
}

// testOktaRotationRetried: with fault refusing one call of a rotation at Okta, the apply
// fails, the state keeps the working secret and the previous trigger, and the next apply
// rotates. beforeRetry, when set, looks at the IdP before the faults are lifted.
func testOktaRotationRetried(t *testing.T, fault mockidp.Faults, beforeRetry func(*mockidp.Server)) {
	idp := newAccIdP(t, mockidp.FlavorOkta)
	var seen secretsSeen
	config := func(trigger string) string { return idpProviderBlock(idp, "") + rotatingClient(trigger, "") }
	accTest(t, resource.TestCase{
		CheckDestroy: checkClientsGoneAt(idp),
		Steps: []resource.TestStep{
			{Config: config("v1"), Check: seen.collect},
			{
				PreConfig:   func() { idp.SetFaults(fault) },
				Config:      config("v2"),
				ExpectError: regexp.MustCompile(`rotating the secret of client`),
			},
			{
				PreConfig: func() {
					if beforeRetry != nil {
						beforeRetry(idp)
					}
					idp.SetFaults(mockidp.Faults{})
				},
				Config: config("v2"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(appAddr, plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: resource.ComposeTestCheckFunc(seen.collect, seen.mintsWith(idp, 0, true), seen.mintsWith(idp, 1, true),
					func(*terraform.State) error {
						if seen.secrets[0] == seen.secrets[1] || len(idp.ClientSecrets(seen.ids[1])) != 2 {
							return fmt.Errorf("the retried rotation gave no new secret")
						}
						return nil
					}),
			},
		},
	})
}
