package provider

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/idpgate/terraform-provider-idpgate/internal/mockidp"
)

// TestAccWriteOnlySecrets drives software_statement_wo (idpgate_dcr_client) and
// introspection.client_secret_wo (idpgate_protected_api) through create, an unrelated update
// and a version-only update, against the mock IdP and the gateway, and checks what reached
// them: the value goes out on create and when its version changes, never on an unrelated
// update, which does not blank it either. No write-only value is in a state file, a plan or
// the TRACE log.
func TestAccWriteOnlySecrets(t *testing.T) {
	s := startGatewayStack(t)
	workDirs := t.TempDir()
	t.Setenv("TF_ACC_TEMP_DIR", workDirs) // where Terraform's state files are written
	logFile := filepath.Join(t.TempDir(), "provider.log")
	t.Setenv("TF_LOG", "JSON")
	t.Setenv("TF_LOG_PATH", logFile)

	gatewayClient, gatewaySecret := s.registerOutOfBand(t, "gateway-introspection")
	appClient, appSecret := s.registerOutOfBand(t, "app")
	const statement1 = "eyJhbGciOiJub25lIn0.eyJzb2Z0d2FyZV9pZCI6IndvLTEifQ.stmt-one-7c1d"
	const statement2 = "eyJhbGciOiJub25lIn0.eyJzb2Z0d2FyZV9pZCI6IndvLTIifQ.stmt-two-9e4a"
	const wrongSecret = "gw-secret-not-to-be-sent-3b8f"
	writeOnly := map[string]string{"software_statement_wo 1": statement1, "software_statement_wo 2": statement2,
		"introspection.client_secret_wo": gatewaySecret, "unsent client_secret_wo": wrongSecret}

	config := func(name, statement string, statementVersion int, secret string, secretVersion int) string {
		return s.providerBlock() + fmt.Sprintf(`
resource "idpgate_dcr_client" "app" {
  client_name                   = %q
  grant_types                   = ["client_credentials"]
  software_statement_wo         = %q
  software_statement_wo_version = %d
}

resource "idpgate_protected_api" "orders" {
  name         = %q
  listen_path  = "/orders"
  upstream_url = %q
  introspection = {
    endpoint                 = %q
    client_id                = %q
    client_secret_wo         = %q
    client_secret_wo_version = %d
    cache_ttl                = "0s"
  }
}
`, name, statement, statementVersion, name, s.upstream.URL, s.idp.IntrospectionEndpoint(), gatewayClient, secret, secretVersion)
	}

	// sentStatements lists the software statements of the registration calls since the last look.
	seen := 0
	sentStatements := func() []string {
		var out []string
		all := append(s.idp.RequestsTo(http.MethodPost, s.idp.RegistrationEndpoint()), putsAt(s)...)
		for _, r := range all {
			var body struct {
				SoftwareStatement string `json:"software_statement"`
			}
			_ = json.Unmarshal(r.Body, &body)
			out = append(out, body.SoftwareStatement)
		}
		fresh := out[seen:]
		seen = len(out)
		return fresh
	}
	expectStatements := func(want ...string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			if got := sentStatements(); strings.Join(got, ",") != strings.Join(want, ",") {
				return fmt.Errorf("software statements sent = %q, want %q", got, want)
			}
			return nil
		}
	}
	// gatewaySends calls the API through the gateway and reports the secret the gateway then
	// presented at the introspection endpoint.
	gatewaySends := func(want string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			token, err := s.fetchToken(appClient, appSecret)
			if err != nil {
				return err
			}
			before := len(s.idp.RequestsTo(http.MethodPost, s.idp.IntrospectionEndpoint()))
			if _, err := s.call(http.MethodGet, "/orders/x", token); err != nil {
				return err
			}
			calls := s.idp.RequestsTo(http.MethodPost, s.idp.IntrospectionEndpoint())
			if len(calls) != before+1 {
				return fmt.Errorf("the gateway made %d introspection calls, want 1", len(calls)-before)
			}
			if got := basicPassword(calls[len(calls)-1].Header.Get("Authorization")); got != want {
				return fmt.Errorf("the gateway introspects with the %s, want the %s", nameOf(writeOnly, got), nameOf(writeOnly, want))
			}
			return nil
		}
	}
	sentStatements() // the out-of-band registrations above
	noWriteOnlyInState := func(*terraform.State) error { return filesFreeOf(workDirs, ".tfstate", writeOnly) }
	noWriteOnlyInPlan := plancheck.PlanCheck(planFreeOf{writeOnly})

	// Both resources are updated in place, no write-only value in the plan, and nothing
	// left to do after the apply.
	updatesBoth := resource.ConfigPlanChecks{
		PreApply: []plancheck.PlanCheck{noWriteOnlyInPlan,
			plancheck.ExpectResourceAction("idpgate_dcr_client.app", plancheck.ResourceActionUpdate),
			plancheck.ExpectResourceAction("idpgate_protected_api.orders", plancheck.ResourceActionUpdate)},
		PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
	}
	accTest(t, resource.TestCase{
		CheckDestroy: s.checkNothingLeft(gatewayClient, appClient),
		Steps: []resource.TestStep{
			{
				Config: config("orders", statement1, 1, gatewaySecret, 1),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{noWriteOnlyInPlan},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					expectStatements(statement1),
					gatewaySends(gatewaySecret),
					resource.TestCheckNoResourceAttr("idpgate_dcr_client.app", "software_statement_wo"),
					resource.TestCheckNoResourceAttr("idpgate_protected_api.orders", "introspection.client_secret_wo"),
					noWriteOnlyInState,
				),
			},
			{
				// An unrelated change, with other write-only values but the same versions:
				// nothing is resent, nothing is blanked.
				Config:           config("orders-renamed", statement2, 1, wrongSecret, 1),
				ConfigPlanChecks: updatesBoth,
				Check: resource.ComposeAggregateTestCheckFunc(
					expectStatements(""),
					gatewaySends(gatewaySecret),
					noWriteOnlyInState,
				),
			},
			{
				// Only the versions change: both values go out again.
				Config:           config("orders-renamed", statement2, 2, wrongSecret, 2),
				ConfigPlanChecks: updatesBoth,
				Check: resource.ComposeAggregateTestCheckFunc(
					expectStatements(statement2),
					gatewaySends(wrongSecret),
					noWriteOnlyInState,
				),
			},
		},
	})
	checkLogFreeOf(t, logFile, writeOnly, "registered client")
}

// putsAt lists the updates (PUT) the mock IdP received at any client's registration URI.
func putsAt(s *gatewayStack) []mockidp.RecordedRequest {
	var out []mockidp.RecordedRequest
	for _, r := range s.idp.Requests() {
		if r.Method == http.MethodPut && strings.HasPrefix(s.idp.URL()+r.Path, s.idp.RegistrationEndpoint()+"/") {
			out = append(out, r)
		}
	}
	return out
}

// nameOf names a secret by its key in secrets, so that a failure never prints one.
func nameOf(secrets map[string]string, secret string) string {
	for what, v := range secrets {
		if v == secret {
			return what
		}
	}
	return "unknown secret"
}

// basicPassword is the password of an HTTP Basic Authorization header ("" when none).
func basicPassword(header string) string {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(header, "Basic "))
	if err != nil {
		return ""
	}
	_, password, _ := strings.Cut(string(raw), ":")
	return password
}

// filesFreeOf fails when a file under root whose name contains suffix holds one of secrets.
func filesFreeOf(root, suffix string, secrets map[string]string) error {
	found := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.Contains(d.Name(), suffix) {
			return err
		}
		found++
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for what, secret := range secrets {
			if strings.Contains(string(b), secret) {
				return fmt.Errorf("the %s is in %s", what, p)
			}
		}
		return nil
	})
	if err == nil && found == 0 {
		return fmt.Errorf("no %s file under %s: the check proves nothing", suffix, root)
	}
	return err
}

// planFreeOf fails when the plan, as Terraform renders it in JSON, holds one of secrets. Its
// "configuration" section is left out: it echoes the source text, where these tests write
// the values as literals (a real configuration takes them from an ephemeral variable or
// resource); the planned values, the changes and the prior state are what Terraform made.
type planFreeOf struct{ secrets map[string]string }

func (c planFreeOf) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	plan := *req.Plan
	plan.Config = nil
	b, err := json.Marshal(plan)
	if err != nil {
		resp.Error = err
		return
	}
	for what, secret := range c.secrets {
		if i := strings.Index(string(b), secret); i >= 0 {
			resp.Error = fmt.Errorf("the %s is in the plan: …%s…", what, b[max(0, i-300):i+10])
			return
		}
	}
}
