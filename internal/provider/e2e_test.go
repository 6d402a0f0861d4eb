package provider

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/config"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
)

const (
	e2eApp    = "idpgate_dcr_client.app"
	e2eAPI    = "idpgate_protected_api.orders"
	e2ePolicy = "idpgate_access_policy.app"
)

// e2eConfig registers a client, protects an API and grants the client `methods` on it at
// `limit` requests per 60s: the quickstart, against the in-process stack.
func e2eConfig(s *gatewayStack, limit int, methods ...string) string {
	return e2eConfigWithoutPolicy(s) + fmt.Sprintf(`
resource "idpgate_access_policy" "app" {
  name       = "orders-app"
  client_ids = [idpgate_dcr_client.app.client_id]

  access_rights = [
    {
      api_id  = idpgate_protected_api.orders.id
      methods = [%s]
    },
  ]

  rate_limit = {
    requests = %d
    per      = "60s"
  }
}
`, quoteList(methods), limit)
}

func e2eConfigWithoutPolicy(s *gatewayStack) string {
	return s.providerBlock() + fmt.Sprintf(`
resource "idpgate_dcr_client" "app" {
  client_name                = "orders-app"
  grant_types                = ["client_credentials"]
  token_endpoint_auth_method = "client_secret_basic"
  scope                      = "orders"
}

resource "idpgate_protected_api" "orders" {
  name              = "orders"
  listen_path       = "/orders/"
  upstream_url      = %[1]q
  strip_listen_path = true

  jwt = {
    issuer   = %[2]q
    jwks_uri = %[3]q
  }

  forward_claims = {
    "X-Token-Id" = "jti"
  }
}
`, s.upstream.URL, s.idp.URL(), s.idp.JWKSURI())
}

func quoteList(values []string) string {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}

// TestAccE2E_registerProtectGrant is the product in one test: one apply registers a client
// at the IdP, protects an API on the gateway and grants the client access under a limit;
// then real tokens go through the gateway, and changes to the policy take effect in place.
func TestAccE2E_registerProtectGrant(t *testing.T) {
	t.Parallel()
	s := startGatewayStack(t)
	otherID, otherSecret := s.registerOutOfBand(t, "someone-else")
	var appClientID, policyID string

	const firstLimit, secondLimit = 3, 5
	accTest(t, resource.TestCase{
		CheckDestroy: s.checkNothingLeft(otherID),
		Steps: []resource.TestStep{
			{
				Config:           e2eConfig(s, firstLimit, "GET"),
				ConfigPlanChecks: emptyPlanAfterApply(),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttrPair(e2ePolicy, "access_rights.0.api_id", e2eAPI, "id"),
					resource.TestCheckResourceAttrPair(e2ePolicy, "client_ids.0", e2eApp, "client_id"),
					resource.TestCheckResourceAttr(e2ePolicy, "rate_limit.per", "60s"),
					resource.TestCheckResourceAttr(e2eAPI, "jwt.allowed_algorithms.0", "RS256"),
					resource.TestCheckResourceAttr(e2eAPI, "jwt.leeway", "30s"),
					func(st *terraform.State) error {
						var token string
						var err error
						appClientID, token, err = s.tokenFromState(st, e2eApp)
						if err != nil {
							return fmt.Errorf("token for the client Terraform registered: %w", err)
						}
						other, err := s.fetchToken(otherID, otherSecret)
						if err != nil {
							return fmt.Errorf("token for the out-of-band client: %w", err)
						}
						return checkFirstPolicy(s, token, other, appClientID, firstLimit)
					},
				),
			},
			{
				// A higher limit and one more method: an in-place update the gateway follows.
				Config: e2eConfig(s, secondLimit, "GET", "POST"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(e2ePolicy, plancheck.ResourceActionUpdate),
						plancheck.ExpectResourceAction(e2eAPI, plancheck.ResourceActionNoop),
						plancheck.ExpectResourceAction(e2eApp, plancheck.ResourceActionNoop),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(st *terraform.State) error {
					var err error
					if policyID, err = stateAttr(st, e2ePolicy, "id"); err != nil {
						return err
					}
					_, token, err := s.tokenFromState(st, e2eApp)
					if err != nil {
						return err
					}
					if _, err := s.expectStatus(http.MethodPost, "/orders/items", token, http.StatusOK); err != nil {
						return fmt.Errorf("POST after it was granted: %w", err)
					}
					// The POST took one of the new limit's requests.
					return checkRateLimit(s, token, secondLimit-1)
				},
			},
			{
				ResourceName:      e2eAPI,
				ImportState:       true,
				ImportStateVerify: true,
			},
			{
				ResourceName:      e2ePolicy,
				ImportState:       true,
				ImportStateVerify: true,
				// The gateway spells the period "1m0s"; the steps below show that this is no diff.
				ImportStateVerifyIgnore: []string{"rate_limit.per"},
			},
			// Adopt the policy as a user would: Terraform forgets it (the gateway keeps it),
			// imports it into the state, and then plans no change.
			{
				Config: e2eConfigWithoutPolicy(s) + `
removed {
  from = idpgate_access_policy.app
  lifecycle {
    destroy = false
  }
}
`,
				Check: func(*terraform.State) error {
					_, err := s.admin.GetPolicy(t.Context(), policyID)
					return err
				},
			},
			{
				Config:             e2eConfig(s, secondLimit, "GET", "POST"),
				ResourceName:       e2ePolicy,
				ImportState:        true,
				ImportStateIdFunc:  func(*terraform.State) (string, error) { return policyID, nil },
				ImportStatePersist: true,
			},
			{
				Config:   e2eConfig(s, secondLimit, "GET", "POST"),
				PlanOnly: true,
			},
			{
				// Deleted on the gateway behind Terraform's back: planned for re-creation,
				// and access works again after the apply.
				PreConfig: func() {
					policies, err := s.admin.ListPolicies(t.Context())
					if err != nil || len(policies) != 1 {
						t.Fatalf("listing policies: %v (%d)", err, len(policies))
					}
					if err := s.admin.DeletePolicy(t.Context(), policies[0].ID); err != nil {
						t.Fatalf("deleting the policy out of band: %v", err)
					}
				},
				Config: e2eConfig(s, secondLimit, "GET", "POST"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(e2ePolicy, plancheck.ResourceActionCreate),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: s.checkGETAllowed(e2eApp, "/orders/items"),
			},
		},
	})
}

// checkFirstPolicy: GET is granted to the registered client only, within the limit.
func checkFirstPolicy(s *gatewayStack, token, otherToken, clientID string, limit int) error {
	before := s.upstream.count()
	resp, err := s.expectStatus(http.MethodGet, "/orders/items", "", http.StatusUnauthorized)
	if err != nil {
		return fmt.Errorf("no token: %w", err)
	}
	if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
		return fmt.Errorf("no token: WWW-Authenticate = %q, want a Bearer challenge", resp.Header.Get("WWW-Authenticate"))
	}
	if _, err := s.expectStatus(http.MethodGet, "/orders/items", "not-a-jwt", http.StatusUnauthorized); err != nil {
		return fmt.Errorf("malformed token: %w", err)
	}
	if _, err := s.expectStatus(http.MethodGet, "/orders/items", otherToken, http.StatusForbidden); err != nil {
		return fmt.Errorf("token of a client no policy binds: %w", err)
	}
	if _, err := s.expectStatus(http.MethodPost, "/orders/items", token, http.StatusForbidden); err != nil {
		return fmt.Errorf("method the policy does not grant: %w", err)
	}
	if n := s.upstream.count(); n != before {
		return fmt.Errorf("%d refused requests reached the upstream", n-before)
	}

	if _, err := s.expectStatus(http.MethodGet, "/orders/items", token, http.StatusOK); err != nil {
		return fmt.Errorf("granted request: %w", err)
	}
	got, n := s.upstream.last()
	if n != before+1 {
		return fmt.Errorf("the upstream saw %d requests, want 1", n-before)
	}
	if got.Path != "/items" {
		return fmt.Errorf("upstream path = %q, want /items (strip_listen_path)", got.Path)
	}
	for header, want := range map[string]string{
		"X-Idpgate-Client-Id": clientID,
		"X-Idpgate-Subject":   clientID,
		"X-Idpgate-Scope":     "orders",
	} {
		if v := got.Header.Get(header); v != want {
			return fmt.Errorf("upstream got %s = %q, want %q", header, v, want)
		}
	}
	if got.Header.Get("X-Token-Id") == "" {
		return fmt.Errorf("upstream did not get the forwarded jti claim as X-Token-Id")
	}
	return checkRateLimit(s, token, limit-1)
}

// checkRateLimit: `remaining` more GETs pass, the next one is refused with 429.
func checkRateLimit(s *gatewayStack, token string, remaining int) error {
	for i := range remaining {
		if _, err := s.expectStatus(http.MethodGet, "/orders/items", token, http.StatusOK); err != nil {
			return fmt.Errorf("request %d of %d within the limit: %w", i+1, remaining, err)
		}
	}
	resp, err := s.expectStatus(http.MethodGet, "/orders/items", token, http.StatusTooManyRequests)
	if err != nil {
		return fmt.Errorf("request past the limit: %w", err)
	}
	if resp.Header.Get("Retry-After") == "" {
		return fmt.Errorf("429 without Retry-After")
	}
	return nil
}

// TestAccE2E_policyClaim: a policy bound through the API's policy claim (Tyk's "pol") rather
// than by client id, named by its name or its id.
func TestAccE2E_policyClaim(t *testing.T) {
	t.Parallel()
	s := startGatewayStack(t)
	cfg := s.providerBlock() + clientCredentialsClient("partner", "partner", "orders") + s.stackAPI("", `policy_claim = "pol"`) + `

resource "idpgate_access_policy" "partners" {
  name = "partners"

  access_rights = [
    {
      api_id = idpgate_protected_api.orders.id
      paths  = ["/items/**"]
    },
  ]
}
`

	accTest(t, resource.TestCase{
		CheckDestroy: s.checkNothingLeft(),
		Steps: []resource.TestStep{{
			Config:           cfg,
			ConfigPlanChecks: emptyPlanAfterApply(),
			Check: func(st *terraform.State) error {
				clientID, secret, err := credentialsInState(st, "idpgate_dcr_client.partner")
				if err != nil {
					return err
				}
				policyID, err := stateAttr(st, "idpgate_access_policy.partners", "id")
				if err != nil {
					return err
				}
				// No claim: the client is bound to no policy.
				token, err := s.fetchToken(clientID, secret)
				if err != nil {
					return err
				}
				if _, err := s.expectStatus(http.MethodGet, "/orders/items/1", token, http.StatusForbidden); err != nil {
					return fmt.Errorf("token without the policy claim: %w", err)
				}
				for _, pol := range []any{"partners", []any{"unrelated", policyID}} {
					s.idp.SetExtraClaims(clientID, map[string]any{"pol": pol})
					token, err := s.fetchToken(clientID, secret)
					if err != nil {
						return err
					}
					if _, err := s.expectStatus(http.MethodGet, "/orders/items/1", token, http.StatusOK); err != nil {
						return fmt.Errorf("token with pol = %v: %w", pol, err)
					}
					if got, _ := s.upstream.last(); got.Header.Get("X-Idpgate-Client-Id") != clientID {
						return fmt.Errorf("upstream got client id %q, want %q", got.Header.Get("X-Idpgate-Client-Id"), clientID)
					}
					// The policy grants /items/** only.
					if _, err := s.expectStatus(http.MethodGet, "/orders/admin", token, http.StatusForbidden); err != nil {
						return fmt.Errorf("path the policy does not grant, pol = %v: %w", pol, err)
					}
				}
				s.idp.SetExtraClaims(clientID, map[string]any{"pol": "no-such-policy"})
				token, err = s.fetchToken(clientID, secret)
				if err != nil {
					return err
				}
				_, err = s.expectStatus(http.MethodGet, "/orders/items/1", token, http.StatusForbidden)
				return err
			},
		}},
	})
}

// TestAccE2E_gatewayFailures: what a user reads when the gateway cannot be reached, refuses
// the admin token, or refuses a value.
func TestAccE2E_gatewayFailures(t *testing.T) {
	t.Parallel()
	s := startGatewayStack(t)
	apiOnly := func(gatewayURL, token string) string {
		return gatewayProvider(gatewayURL, token) + s.stackAPI("")
	}
	cases := map[string]struct {
		config string
		want   string
	}{
		"unreachable": {
			config: apiOnly(closedPort(t), s.adminToken),
			want:   `(?s)Cannot reach the idpgate gateway.*gateway_url.*IDPGATE_GATEWAY_URL`,
		},
		"wrong admin token": {
			config: apiOnly(s.adminURL, "not-the-token"),
			want:   `(?s)refused the admin token.*gateway_admin_token.*IDPGATE_GATEWAY_ADMIN_TOKEN.*IDPGATE_ADMIN_TOKEN`,
		},
		"policy grants an API that does not exist": {
			config: s.providerBlock() + `
resource "idpgate_access_policy" "p" {
  name          = "p"
  access_rights = [{ api_id = "api_doesnotexist" }]
}
`,
			// Caught at plan time (gateway_plan_checks.go), before anything is created.
			want: `(?s)Unknown API.*access_rights\[0\]\.api_id.*no API with id "api_doesnotexist"`,
		},
		"name already taken": {
			config: apiOnly(s.adminURL, s.adminToken) + fmt.Sprintf(`
resource "idpgate_protected_api" "twin" {
  name         = idpgate_protected_api.orders.name
  listen_path  = "/twin"
  upstream_url = %q
  jwt = {
    issuer   = %q
    jwks_uri = %q
  }
}
`, s.upstream.URL, s.idp.URL(), s.idp.JWKSURI()),
			want: `(?s)Gateway rejected name.*already exists`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			accTest(t, resource.TestCase{
				Steps: []resource.TestStep{{Config: tc.config, ExpectError: regexp.MustCompile(tc.want)}},
			})
		})
	}
}

// TestAccE2E_quickstartExample applies examples/quickstart/main.tf as shipped, with only the
// provider settings (which users give through IDPGATE_* variables) pointed at the stack, and
// sends a request the way its comments tell users to.
func TestAccE2E_quickstartExample(t *testing.T) {
	t.Parallel()
	s := startGatewayStack(t)
	raw, err := os.ReadFile(filepath.Join("..", "..", "examples", "quickstart", "main.tf"))
	if err != nil {
		t.Fatal(err)
	}
	// The registry source in required_providers would make terraform look for a download;
	// the test serves the provider in-process instead.
	cfg := regexp.MustCompile(`(?s)terraform \{.*?\n\}\n`).ReplaceAllString(string(raw), "")
	if !strings.Contains(cfg, `provider "idpgate" {}`) {
		t.Fatal(`the quickstart no longer has an empty provider "idpgate" block; update this test`)
	}
	cfg = strings.Replace(cfg, `provider "idpgate" {}`, s.providerBlock(), 1)

	accTest(t, resource.TestCase{
		CheckDestroy: s.checkNothingLeft(),
		Steps: []resource.TestStep{{
			Config:           cfg,
			ConfigVariables:  config.Variables{"orders_upstream": config.StringVariable(s.upstream.URL)},
			ConfigPlanChecks: emptyPlanAfterApply(),
			Check: func(st *terraform.State) error {
				_, token, err := s.tokenFromState(st, "idpgate_dcr_client.app")
				if err != nil {
					return err
				}
				for _, method := range []string{http.MethodGet, http.MethodHead} {
					if _, err := s.expectStatus(method, "/orders/items", token, http.StatusOK); err != nil {
						return err
					}
				}
				_, err = s.expectStatus(http.MethodDelete, "/orders/items", token, http.StatusForbidden)
				return err
			},
		}},
	})
}
