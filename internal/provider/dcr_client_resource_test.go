package provider

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
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

	"github.com/idpgate/terraform-provider-idpgate/internal/mockidp"
)

const appAddr = "idpgate_dcr_client.app"

func appConfig(idp *mockidp.Server, name, scope string, redirects ...string) string {
	quoted := make([]string, len(redirects))
	for i, r := range redirects {
		quoted[i] = fmt.Sprintf("%q", r)
	}
	// The generic mock advertises the client_credentials grant only (its authorization
	// endpoint is a stub), which plan checks would refuse; the other flavours list both.
	extra := ""
	if idp.Flavor() == mockidp.FlavorGeneric {
		extra = "plan_checks = false"
	}
	return idpProviderBlock(idp, extra) + fmt.Sprintf(`
resource "idpgate_dcr_client" "app" {
  client_name    = %q
  grant_types    = ["authorization_code", "client_credentials"]
  response_types = ["code"]
  redirect_uris  = [%s]
  scope          = %q
  contacts       = ["ops@example.com"]
}
`, name, strings.Join(quoted, ", "), scope)
}

// TestAccDCRClient_lifecycle runs create → empty plan → update in place → empty plan →
// import → destroy against each flavour of the mock IdP.
func TestAccDCRClient_lifecycle(t *testing.T) {
	for _, flavor := range allFlavors {
		t.Run(string(flavor), func(t *testing.T) {
			t.Parallel()
			idp := newAccIdP(t, flavor)
			sameClientID := statecheck.CompareValue(compare.ValuesSame())
			// Only what the IdP can never return again is left out of the import check:
			// Hydra returns the secret at registration only, and Keycloak re-signs the
			// registration access token on every read.
			var ignore []string
			switch flavor {
			case mockidp.FlavorHydra:
				ignore = []string{"client_secret"}
			case mockidp.FlavorKeycloak:
				ignore = []string{"registration_access_token"}
			}
			accTest(t, resource.TestCase{
				CheckDestroy: checkClientsGoneAt(idp),
				Steps: []resource.TestStep{
					{
						Config: appConfig(idp, "orders-app", "orders:read", "https://app.example.com/cb"),
						ConfigStateChecks: []statecheck.StateCheck{
							sameClientID.AddStateValue(appAddr, tfjsonpath.New("client_id")),
							statecheck.ExpectKnownValue(appAddr, tfjsonpath.New("client_secret"), knownvalue.NotNull()),
							statecheck.ExpectSensitiveValue(appAddr, tfjsonpath.New("client_secret")),
							statecheck.ExpectSensitiveValue(appAddr, tfjsonpath.New("registration_access_token")),
						},
						ConfigPlanChecks: emptyPlanAfterApply(),
						Check: resource.ComposeAggregateTestCheckFunc(
							checkAtIdP(idp, map[string]any{"client_name": "orders-app", "scope": "orders:read",
								"redirect_uris": []any{"https://app.example.com/cb"}}),
							func(s *terraform.State) error {
								id, _ := stateAttr(s, appAddr, "client_id")
								secret, _ := stateAttr(s, appAddr, "client_secret")
								return checkTokenMints(idp, id, secret, "orders:read")
							},
						),
					},
					{
						Config: appConfig(idp, "orders-app-v2", "orders:read orders:write",
							"https://app.example.com/cb", "https://app.example.com/cb2"),
						ConfigStateChecks: []statecheck.StateCheck{
							sameClientID.AddStateValue(appAddr, tfjsonpath.New("client_id")),
						},
						ConfigPlanChecks: resource.ConfigPlanChecks{
							PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(appAddr, plancheck.ResourceActionUpdate)},
							PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
						},
						Check: resource.ComposeAggregateTestCheckFunc(
							checkAtIdP(idp, map[string]any{"client_name": "orders-app-v2", "scope": "orders:read orders:write",
								"redirect_uris": []any{"https://app.example.com/cb", "https://app.example.com/cb2"}}),
							checkStateTokenCurrent(idp),
						),
					},
					{
						ResourceName:            appAddr,
						ImportState:             true,
						ImportStateVerify:       true,
						ImportStateIdFunc:       importID(flavor),
						ImportStateVerifyIgnore: ignore,
					},
				},
			})
		})
	}
}

// importID is the import ID the driver wants: the client_id for okta, otherwise
// registration_client_uri,registration_access_token.
func importID(flavor mockidp.Flavor) resource.ImportStateIdFunc {
	return func(s *terraform.State) (string, error) {
		rs := s.RootModule().Resources[appAddr]
		if flavor == mockidp.FlavorOkta {
			return rs.Primary.Attributes["client_id"], nil
		}
		return rs.Primary.Attributes["registration_client_uri"] + "," + rs.Primary.Attributes["registration_access_token"], nil
	}
}

// checkAtIdP asks the mock IdP what it holds for the state's client.
func checkAtIdP(idp *mockidp.Server, want map[string]any) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		id, err := stateAttr(s, appAddr, "client_id")
		if err != nil {
			return err
		}
		rec, ok := idp.Client(id)
		if !ok {
			return fmt.Errorf("client %s not registered at the IdP", id)
		}
		for k, v := range want {
			got := rec.Metadata[k]
			if list, isList := got.([]any); isList {
				slices.SortFunc(list, func(a, b any) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
			}
			if fmt.Sprint(got) != fmt.Sprint(v) {
				return fmt.Errorf("IdP holds %s = %v, want %v", k, got, v)
			}
		}
		return nil
	}
}

// checkStateTokenCurrent: where the flavour rotates the registration access token, the state
// must hold the one the IdP considers current (Keycloak also keeps older re-signed copies
// valid; the stored one must still work, which the import step then proves).
func checkStateTokenCurrent(idp *mockidp.Server) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		id, _ := stateAttr(s, appAddr, "client_id")
		rat, _ := stateAttr(s, appAddr, "registration_access_token")
		rec, _ := idp.Client(id)
		if idp.Flavor() == mockidp.FlavorHydra && rat != rec.RegistrationAccessToken {
			return fmt.Errorf("state holds a stale registration access token")
		}
		if idp.Flavor() == mockidp.FlavorOkta && rat != "" {
			return fmt.Errorf("okta has no registration access token, state holds %q", rat)
		}
		return nil
	}
}

// TestAccDCRClient_deletedOutOfBand: a client removed in the IdP's console is planned for
// re-creation, whether the IdP says so with a 401 on the registration access token (RFC 7592)
// or Okta's 401 invalid_client.
func TestAccDCRClient_deletedOutOfBand(t *testing.T) {
	for _, flavor := range allFlavors {
		t.Run(string(flavor), func(t *testing.T) {
			t.Parallel()
			idp := newAccIdP(t, flavor)
			var firstID string
			cfg := appConfig(idp, "app", "orders:read", "https://app.example.com/cb")
			accTest(t, resource.TestCase{
				CheckDestroy: checkClientsGoneAt(idp),
				Steps: []resource.TestStep{
					{
						Config: cfg,
						Check: func(s *terraform.State) (err error) {
							firstID, err = stateAttr(s, appAddr, "client_id")
							return err
						},
					},
					{
						PreConfig: func() {
							if !idp.DeleteClient(firstID) {
								t.Errorf("client %s was not at the IdP", firstID)
							}
						},
						Config: cfg,
						ConfigPlanChecks: resource.ConfigPlanChecks{
							PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(appAddr, plancheck.ResourceActionCreate)},
						},
						Check: func(s *terraform.State) error {
							id, _ := stateAttr(s, appAddr, "client_id")
							if id == firstID || id == "" {
								return fmt.Errorf("client not registered again: %q", id)
							}
							if n := len(idp.Clients()); n != 1 {
								return fmt.Errorf("%d clients at the IdP, want 1", n)
							}
							return nil
						},
					},
				},
			})
		})
	}
}

// TestAccDCRClient_tokenWorks mints an access token at the mock IdP's /token with the id and
// secret Terraform registered, and verifies it with the IdP's JWKS.
func TestAccDCRClient_tokenWorks(t *testing.T) {
	t.Parallel()
	idp := newAccIdP(t, mockidp.FlavorKeycloak)
	accTest(t, resource.TestCase{
		CheckDestroy: checkClientsGoneAt(idp),
		Steps: []resource.TestStep{{
			Config: idpProviderBlock(idp, "") + `
resource "idpgate_dcr_client" "svc" {
  client_name = "billing-service"
  grant_types = ["client_credentials"]
  scope       = "billing:read"
}
`,
			Check: func(s *terraform.State) error {
				rs := s.RootModule().Resources["idpgate_dcr_client.svc"].Primary.Attributes
				if rs["response_types.#"] != "0" {
					return fmt.Errorf("client_credentials-only client has response_types %q, want []", rs["response_types.#"])
				}
				return checkTokenMints(idp, rs["client_id"], rs["client_secret"], "billing:read")
			},
		}},
	})
}

func checkTokenMints(idp *mockidp.Server, clientID, secret, scope string) error {
	token, err := clientCredentialsToken(&http.Client{Timeout: 5 * time.Second}, idp.TokenEndpoint(), clientID, secret, scope)
	if err != nil {
		return err
	}
	gotClient, gotScope, err := accessTokenClaims(idp, token)
	if err != nil {
		return err
	}
	if gotClient != clientID || !strings.Contains(gotScope, scope) {
		return fmt.Errorf("access token carries client_id %q scope %q", gotClient, gotScope)
	}
	return nil
}

// TestAccDCRClient_faults: with the IdP refusing a share of all calls (429 with Retry-After,
// or 503), an apply of several clients succeeds, registers each exactly once and leaves state
// matching the IdP.
func TestAccDCRClient_faults(t *testing.T) {
	for name, faults := range map[string]mockidp.Faults{
		"429": {Status: http.StatusTooManyRequests, Every: 3, RetryAfter: time.Second},
		"503": {Status: http.StatusServiceUnavailable, Every: 2},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			idp := newAccIdP(t, mockidp.FlavorOkta)
			idp.SetFaults(faults)
			accTest(t, resource.TestCase{
				CheckDestroy: checkClientsGoneAt(idp),
				Steps: []resource.TestStep{{
					Config: idpProviderBlock(idp, "max_retries = 10") + `
resource "idpgate_dcr_client" "svc" {
  count       = 4
  client_name = "svc-${count.index}"
  grant_types = ["client_credentials"]
}
`,
					Check: func(s *terraform.State) error {
						if idp.FaultsInjected() == 0 {
							return fmt.Errorf("no fault was injected: the test proves nothing")
						}
						clients := idp.Clients()
						if len(clients) != 4 {
							return fmt.Errorf("%d clients at the IdP, want 4 (duplicates or losses)", len(clients))
						}
						for i := range 4 {
							attrs := s.RootModule().Resources[fmt.Sprintf("idpgate_dcr_client.svc.%d", i)].Primary.Attributes
							rec, ok := idp.Client(attrs["client_id"])
							if !ok {
								return fmt.Errorf("state's client %s unknown to the IdP", attrs["client_id"])
							}
							if rec.Metadata["client_name"] != attrs["client_name"] || rec.ClientSecret != attrs["client_secret"] {
								return fmt.Errorf("state %v does not match the IdP %v", attrs["client_name"], rec.Metadata["client_name"])
							}
						}
						posts := requestsWhere(idp, func(r mockidp.RecordedRequest) bool {
							return r.Method == http.MethodPost && r.Status == http.StatusCreated
						})
						if posts != 4 {
							return fmt.Errorf("%d successful registrations, want 4", posts)
						}
						return nil
					},
				}},
			})
		})
	}
}

// TestAccDCRClient_badInput: mistakes get a diagnostic that says what to change.
func TestAccDCRClient_badInput(t *testing.T) {
	t.Parallel()
	idp := newAccIdP(t, mockidp.FlavorGeneric)
	cases := map[string]struct {
		resource string
		want     string
	}{
		"jwks with jwks_uri": {`
  grant_types = ["client_credentials"]
  jwks        = jsonencode({ keys = [] })
  jwks_uri    = "https://app.example.com/jwks"`, `(?s)Invalid Attribute Combination.*jwks`},
		"IdP rejects redirect URI": {`
  redirect_uris = ["https://app.example.com/cb#fragment"]`, `(?s)Identity provider rejected redirect_uris.*invalid_redirect_uri.*Change\s+redirect_uris`},
		"reserved extra_metadata": {`
  grant_types    = ["client_credentials"]
  extra_metadata = jsonencode({ client_secret = "mine" })`, `(?s)extra_metadata must not contain "client_secret"`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			accTest(t, resource.TestCase{
				Steps: []resource.TestStep{{
					Config:      idpProviderBlock(idp, "") + "resource \"idpgate_dcr_client\" \"bad\" {" + tc.resource + "\n}\n",
					ExpectError: regexp.MustCompile(tc.want),
				}},
			})
		})
	}
}

// TestAccDCRClient_extraMetadata: vendor fields are sent merged and compared
// only by the keys the user set; metadata the IdP adds (keycloak's defaults) never diffs.
func TestAccDCRClient_extraMetadata(t *testing.T) {
	t.Parallel()
	idp := newAccIdP(t, mockidp.FlavorKeycloak)
	accTest(t, resource.TestCase{
		CheckDestroy: checkClientsGoneAt(idp),
		Steps: []resource.TestStep{{
			Config: idpProviderBlock(idp, "") + `
resource "idpgate_dcr_client" "app" {
  client_name    = "spa"
  redirect_uris  = ["https://spa.example.com/cb"]
  scope          = "b a"
  extra_metadata = jsonencode({ post_logout_redirect_uris = ["https://spa.example.com/bye"] })
}
`,
			ConfigPlanChecks: emptyPlanAfterApply(),
			Check: resource.ComposeAggregateTestCheckFunc(
				checkAtIdP(idp, map[string]any{"post_logout_redirect_uris": []any{"https://spa.example.com/bye"}}),
				// Keycloak's default grant types were stored although the user set none.
				resource.TestCheckTypeSetElemAttr(appAddr, "grant_types.*", "refresh_token"),
			),
		}},
	})
}

// TestAccDCRClient_senderConstrainedTokens: the RFC 9449 and RFC 8705 metadata reach the IdP,
// plan no difference, change in place, and import.
func TestAccDCRClient_senderConstrainedTokens(t *testing.T) {
	t.Parallel()
	idp := newAccIdP(t, mockidp.FlavorGeneric)
	config := func(dpop bool) string {
		// The generic mock's token endpoint takes client secrets only, and its discovery says
		// so: plan checks would refuse tls_client_auth. This test is about the metadata.
		return idpProviderBlock(idp, "plan_checks = false") + fmt.Sprintf(`
resource "idpgate_dcr_client" "app" {
  client_name                                = "bound"
  grant_types                                = ["client_credentials"]
  token_endpoint_auth_method                 = "tls_client_auth"
  tls_client_auth_subject_dn                 = "CN=bound,O=Example"
  tls_client_certificate_bound_access_tokens = true
  dpop_bound_access_tokens                   = %t
}
`, dpop)
	}
	accTest(t, resource.TestCase{
		CheckDestroy: checkClientsGoneAt(idp),
		Steps: []resource.TestStep{
			{
				Config:           config(true),
				ConfigPlanChecks: emptyPlanAfterApply(),
				Check: checkAtIdP(idp, map[string]any{"dpop_bound_access_tokens": true,
					"tls_client_certificate_bound_access_tokens": true, "tls_client_auth_subject_dn": "CN=bound,O=Example"}),
			},
			{
				Config: config(false),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(appAddr, plancheck.ResourceActionUpdate)},
				},
				Check: checkAtIdP(idp, map[string]any{"dpop_bound_access_tokens": false}),
			},
		},
	})
}

// TestAccDCRClient_noSecretsInTraceLog runs a full lifecycle with TF_LOG=TRACE and checks
// that neither Terraform's log nor the provider's holds a client secret, a registration
// access token or the initial access token. It cannot run in parallel (t.Setenv).
func TestAccDCRClient_noSecretsInTraceLog(t *testing.T) {
	dir := t.TempDir()
	tfLog, providerLog := filepath.Join(dir, "terraform.log"), filepath.Join(dir, "provider.log")
	t.Setenv("TF_LOG", "TRACE")
	t.Setenv("TF_LOG_PATH", tfLog)
	t.Setenv("TF_ACC_LOG_PATH", providerLog)
	// The test harness logs each step's configuration text at TRACE, so the token comes from
	// the environment, as it should in real use too.
	t.Setenv("IDPGATE_INITIAL_ACCESS_TOKEN", testInitialAccessToken)
	idp := newAccIdP(t, mockidp.FlavorKeycloak)
	cfg := func(scope string) string {
		return idpProviderBlockWithoutToken(idp, "") + `
resource "idpgate_dcr_client" "app" {
  client_name   = "log-app"
  redirect_uris = ["https://app.example.com/cb"]
  scope         = "` + scope + `"
}
`
	}
	var secrets []string
	var currentToken string
	collect := func(s *terraform.State) error {
		for _, c := range idp.Clients() {
			secrets = append(secrets, c.ClientSecret, c.RegistrationAccessToken)
		}
		var err error
		currentToken, err = stateAttr(s, appAddr, "registration_access_token")
		return err
	}
	accTest(t, resource.TestCase{
		CheckDestroy: checkClientsGoneAt(idp),
		Steps: []resource.TestStep{
			{Config: cfg("a"), Check: collect},
			{Config: cfg("a b"), Check: collect},
			{
				// Terraform logs import IDs, so the token comes from the environment here.
				PreConfig: func() {
					t.Setenv(importTokenEnv, currentToken)
				},
				ResourceName:      appAddr,
				ImportState:       true,
				ImportStateIdFunc: func(s *terraform.State) (string, error) { return stateAttr(s, appAddr, "registration_client_uri") },
				ImportStateCheck: func(states []*terraform.InstanceState) error {
					if len(states) != 1 || states[0].Attributes["client_secret"] == "" {
						return fmt.Errorf("import by URI + %s did not read the client: %v", importTokenEnv, states)
					}
					return nil
				},
			},
		},
	})
	// Every token the IdP ever issued, from what it answered.
	for _, r := range idp.Requests() {
		if auth := r.Header.Get("Authorization"); strings.HasPrefix(auth, "Bearer ") {
			secrets = append(secrets, strings.TrimPrefix(auth, "Bearer "))
		}
	}
	secrets = append(secrets, testInitialAccessToken)

	logs := readFile(t, tfLog) + readFile(t, providerLog)
	for _, want := range []string{"identity provider answer", "idpgate_dcr_client"} {
		if !strings.Contains(logs, want) {
			t.Fatalf("the logs do not contain %q: they were not captured, the test would prove nothing", want)
		}
	}
	for _, s := range secrets {
		if s == "" {
			continue
		}
		for _, line := range strings.Split(logs, "\n") {
			if strings.Contains(line, s) {
				t.Errorf("TRACE log contains a secret (%d chars, starting %q): %s", len(s), s[:min(4, len(s))],
					truncateLine(strings.ReplaceAll(line, s, "<SECRET>"), 400))
			}
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return string(b)
}

func truncateLine(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// TestAccDCRClient_lostRegistrationAnswer: when the connection drops after the POST was sent,
// the registration is not sent again and the error tells the user to look for the client.
func TestAccDCRClient_lostRegistrationAnswer(t *testing.T) {
	t.Parallel()
	idp := newAccIdP(t, mockidp.FlavorGeneric)
	idp.SetFaults(mockidp.Faults{Method: http.MethodPost, PathPrefix: "/register", Drop: true})
	accTest(t, resource.TestCase{
		Steps: []resource.TestStep{{
			Config: idpProviderBlock(idp, "") + `
resource "idpgate_dcr_client" "app" {
  client_name = "lost-app"
  grant_types = ["client_credentials"]
}
`,
			ExpectError: regexp.MustCompile(`(?s)Client registration outcome unknown.*lost-app.*not\s+sent\s+again.*terraform\s+import`),
		}},
	})
	posts := requestsWhere(idp, func(r mockidp.RecordedRequest) bool { return r.Method == http.MethodPost })
	if posts != 1 {
		t.Errorf("the registration was sent %d times, want exactly once", posts)
	}
}

// TestAccDCRClient_serverErrorIsNotDeletion: a refresh that only gets 503s fails; it never
// drops the client from the state, and once the IdP recovers the plan is empty.
func TestAccDCRClient_serverErrorIsNotDeletion(t *testing.T) {
	t.Parallel()
	idp := newAccIdP(t, mockidp.FlavorGeneric)
	cfg := idpProviderBlock(idp, "max_retries = 1") + `
resource "idpgate_dcr_client" "app" {
  client_name = "steady"
  grant_types = ["client_credentials"]
}
`
	accTest(t, resource.TestCase{
		CheckDestroy: checkClientsGoneAt(idp),
		Steps: []resource.TestStep{
			{Config: cfg},
			{
				PreConfig:   func() { idp.SetFaults(mockidp.Faults{Method: http.MethodGet, PathPrefix: "/register/", Status: 503}) },
				Config:      cfg,
				ExpectError: regexp.MustCompile(`(?s)Identity provider unavailable.*HTTP 503.*max_retries`),
			},
			{
				PreConfig: func() { idp.SetFaults(mockidp.Faults{}) },
				Config:    cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
		},
	})
}

// TestAccDCRClient_notFoundRightAfterCreate: an IdP that hides a new client for a moment
// (eventual consistency) does not make Terraform register it twice.
func TestAccDCRClient_notFoundRightAfterCreate(t *testing.T) {
	t.Parallel()
	idp := newAccIdP(t, mockidp.FlavorOkta)
	idp.SetFaults(mockidp.Faults{NotFoundAfterCreate: 2})
	cfg := idpProviderBlock(idp, "") + `
resource "idpgate_dcr_client" "app" {
  client_name = "fresh"
  grant_types = ["client_credentials"]
}
`
	accTest(t, resource.TestCase{
		CheckDestroy: checkClientsGoneAt(idp),
		Steps: []resource.TestStep{{Config: cfg}, {
			// The first refreshes after the create meet the hidden client.
			Config: cfg,
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
			Check: func(*terraform.State) error {
				if n := len(idp.Clients()); n != 1 {
					return fmt.Errorf("%d clients at the IdP, want 1", n)
				}
				hidden := requestsWhere(idp, func(r mockidp.RecordedRequest) bool {
					return r.Method == http.MethodGet && r.Status == http.StatusNotFound
				})
				if hidden != 2 {
					return fmt.Errorf("%d reads were answered 404, want 2: the fault did not fire", hidden)
				}
				return nil
			},
		}},
	})
}
