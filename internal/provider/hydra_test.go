package provider

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/idpgate/terraform-provider-idpgate/internal/hydratest"
)

// hydraProviderBlock is the Ory Hydra guide's provider block (docs/guides/ory-hydra.md), as written there: the issuer and
// the driver, nothing else (no registration_endpoint: Hydra does not advertise one).
func hydraProviderBlock(h *hydratest.Server, extra string) string {
	return fmt.Sprintf(`
provider "idpgate" {
  issuer     = %q
  idp_driver = "hydra"
  %s
}
`, h.Issuer, extra)
}

func hydraClientConfig(h *hydratest.Server, name, scope string) string {
	return hydraProviderBlock(h, "") + fmt.Sprintf(`
resource "idpgate_dcr_client" "app" {
  client_name = %q
  grant_types = ["client_credentials"]
  scope       = %q
}
`, name, scope)
}

// TestAccHydra_dcrClientLifecycle runs the hydra driver's whole lifecycle against a real Ory
// Hydra v2.3.0: create, empty plan, update with the rotated registration access token,
// import, a client deleted out of band, destroy.
func TestAccHydra_dcrClientLifecycle(t *testing.T) {
	t.Parallel()
	h := hydratest.Start(t)
	sameClientID := statecheck.CompareValue(compare.ValuesSame())
	tokenRotated := statecheck.CompareValue(compare.ValuesDiffer())
	var deleted string
	tokenMints := func(scope string) resource.TestCheckFunc {
		return func(s *terraform.State) error {
			id, _ := stateAttr(s, appAddr, "client_id")
			secret, err := stateAttr(s, appAddr, "client_secret")
			if err != nil {
				return err
			}
			_, err = hydraToken(h, id, secret, scope)
			return err
		}
	}
	accTest(t, resource.TestCase{
		CheckDestroy: checkHydraClientsGone(h),
		Steps: []resource.TestStep{
			{
				Config: hydraClientConfig(h, "orders-app", "orders"),
				ConfigStateChecks: []statecheck.StateCheck{
					sameClientID.AddStateValue(appAddr, tfjsonpath.New("client_id")),
					tokenRotated.AddStateValue(appAddr, tfjsonpath.New("registration_access_token")),
				},
				ConfigPlanChecks: emptyPlanAfterApply(),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttrWith(appAddr, "registration_client_uri", func(v string) error {
						if !strings.HasPrefix(v, h.RegistrationEndpoint()+"/") {
							return fmt.Errorf("registration_client_uri %q is not under %s", v, h.RegistrationEndpoint())
						}
						return nil
					}),
					tokenMints("orders"),
				),
			},
			{
				// Hydra rotates the registration access token on every update: the update
				// must have used the stored one and kept the new one, or the next read fails.
				Config: hydraClientConfig(h, "orders-app-v2", "orders invoices"),
				ConfigStateChecks: []statecheck.StateCheck{
					sameClientID.AddStateValue(appAddr, tfjsonpath.New("client_id")),
					tokenRotated.AddStateValue(appAddr, tfjsonpath.New("registration_access_token")),
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(appAddr, plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				// Hydra keeps the secret across an update and never answers it again.
				Check: tokenMints("invoices"),
			},
			{
				ResourceName:      appAddr,
				ImportState:       true,
				ImportStateVerify: true,
				ImportStateIdFunc: importID("hydra"),
				// Hydra answers client_secret at registration only.
				ImportStateVerifyIgnore: []string{"client_secret"},
			},
			{
				// Deleted by an operator through Hydra's admin API: the refresh drops it with
				// a warning and the apply registers it again.
				PreConfig: func() {
					ids, err := h.ClientIDs()
					if err != nil || len(ids) != 1 {
						t.Fatalf("hydra holds clients %v (%v), want the one Terraform registered", ids, err)
					}
					deleted = ids[0]
					if err := h.DeleteClient(deleted); err != nil {
						t.Fatal(err)
					}
				},
				Config: hydraClientConfig(h, "orders-app-v2", "orders invoices"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(appAddr, plancheck.ResourceActionCreate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					func(s *terraform.State) error {
						if id, _ := stateAttr(s, appAddr, "client_id"); id == deleted || deleted == "" {
							return fmt.Errorf("client_id %q: want a new client after %q was deleted", id, deleted)
						}
						return nil
					},
					tokenMints("orders"),
				),
			},
		},
	})
}

// checkHydraClientsGone is a CheckDestroy that asks Hydra's admin API whether every client
// the state held is really gone.
func checkHydraClientsGone(h *hydratest.Server) func(*terraform.State) error {
	return func(s *terraform.State) error {
		for name, rs := range s.RootModule().Resources {
			if rs.Type != "idpgate_dcr_client" {
				continue
			}
			exists, err := h.ClientExists(rs.Primary.Attributes["client_id"])
			if err != nil {
				return err
			}
			if exists {
				return fmt.Errorf("%s: client %s still registered at Hydra", name, rs.Primary.Attributes["client_id"])
			}
		}
		return nil
	}
}

// hydraToken mints a client_credentials token at Hydra.
func hydraToken(h *hydratest.Server, clientID, secret, scope string) (string, error) {
	// Hydra generates its access-token key pair (RSA 4096) at the first issuance: slow here.
	return clientCredentialsToken(&http.Client{Timeout: time.Minute}, h.TokenEndpoint(), clientID, secret, scope)
}

// hydraIssueOneToken registers a client at Hydra directly and mints a token for it.
func hydraIssueOneToken(t *testing.T, h *hydratest.Server) {
	t.Helper()
	resp, err := http.Post(h.RegistrationEndpoint(), "application/json",
		strings.NewReader(`{"client_name":"warm-up","grant_types":["client_credentials"],"response_types":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var c struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&c); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("registering at Hydra: HTTP %d, %v", resp.StatusCode, err)
	}
	if _, err := hydraToken(h, c.ClientID, c.ClientSecret, ""); err != nil {
		t.Fatal(err)
	}
}

// startBareGateway starts the gateway (proxy and admin listeners) on loopback, with no IdP.
func startBareGateway(t *testing.T) (proxyURL, adminURL, adminToken string) {
	t.Helper()
	adminToken = "hydra-e2e-admin-token-0123456789"
	proxyURL, adminURL = startGateway(t, adminToken, nil)
	return proxyURL, adminURL, adminToken
}

// TestAccHydra_tokenThroughGateway: Terraform registers a client at a real Hydra and protects
// an API with Hydra's keys; a JWT access token Hydra issues to that client reaches the
// upstream through the gateway, and no token or a tampered one does not.
func TestAccHydra_tokenThroughGateway(t *testing.T) {
	t.Parallel()
	h := hydratest.Start(t)
	proxyURL, adminURL, adminToken := startBareGateway(t)
	upstream := newRecordingUpstream(t)
	config := hydraProviderBlock(h, fmt.Sprintf("gateway_url = %q\n  gateway_admin_token = %q", adminURL, adminToken)) +
		clientCredentialsClient("app", "orders-app", "orders") +
		apiConfig("orders", "/orders", upstream.URL, jwtAttr(h.Issuer, h.JWKSURI(), `required_scopes = ["orders"]`)) + `

resource "idpgate_access_policy" "app" {
  name          = "app"
  client_ids    = [idpgate_dcr_client.app.client_id]
  access_rights = [{ api_id = idpgate_protected_api.orders.id }]
}
`
	call := func(token string) (int, error) {
		req, _ := http.NewRequest(http.MethodGet, proxyURL+"/orders/items", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			return 0, err
		}
		_ = resp.Body.Close()
		return resp.StatusCode, nil
	}
	throughGateway := func(s *terraform.State) error {
		id, _ := stateAttr(s, appAddr, "client_id")
		secret, err := stateAttr(s, appAddr, "client_secret")
		if err != nil {
			return err
		}
		token, err := hydraToken(h, id, secret, "orders")
		if err != nil {
			return err
		}
		before := upstream.count()
		if status, err := call(token); err != nil || status != http.StatusOK {
			return fmt.Errorf("Hydra's token through the gateway: HTTP %d, %v", status, err)
		}
		if upstream.count() != before+1 {
			return fmt.Errorf("the upstream saw %d requests, want 1", upstream.count()-before)
		}
		last, _ := upstream.last()
		if got := last.Header.Get("X-Idpgate-Client-Id"); got != id {
			return fmt.Errorf("upstream got X-Idpgate-Client-Id %q, want %q", got, id)
		}
		parts := strings.Split(token, ".")
		tampered := parts[0] + "." + parts[1] + "x." + parts[2]
		for what, tok := range map[string]string{"no token": "", "a tampered token": tampered} {
			if status, err := call(tok); err != nil || status != http.StatusUnauthorized {
				return fmt.Errorf("%s: HTTP %d, %v; want 401", what, status, err)
			}
		}
		if upstream.count() != before+1 {
			return fmt.Errorf("a refused request reached the upstream")
		}
		return nil
	}
	accTest(t, resource.TestCase{
		CheckDestroy: checkHydraClientsGone(h),
		Steps: []resource.TestStep{{
			// A Hydra that never issued an access token publishes its access-token key only
			// at the first issuance. Any Hydra in service has issued tokens; this one does so
			// first, so that the test checks the token path rather than the gateway's refetch
			// timing (TestJWKSUnknownKidSoonAfterAnotherFetch covers a key published just
			// after a fetch).
			PreConfig:        func() { hydraIssueOneToken(t, h) },
			Config:           config,
			ConfigPlanChecks: emptyPlanAfterApply(),
			Check:            throughGateway,
		}},
	})
}
