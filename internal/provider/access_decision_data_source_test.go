package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6/tf6server"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// TestAccAccessDecisionDataSource: the data source answers with the gateway's verdict for
// described callers, read after the policy it asks about exists; a malformed request is an
// error on the attribute.
func TestAccAccessDecisionDataSource(t *testing.T) {
	s := startGatewayStack(t)
	// decision asks about a request to the API, made by who, once the policy exists.
	decision := func(name, method, url, who string) string {
		return fmt.Sprintf(`
data "idpgate_access_decision" %q {
  method     = %q
  url        = %q
  %s
  depends_on = [idpgate_access_policy.billing]
}
`, name, method, url, who)
	}
	const billing = `client_id = "billing"
  scopes    = ["orders:read"]`
	config := s.providerBlock() + s.stackAPI("") + `

resource "idpgate_access_policy" "billing" {
  name       = "billing"
  client_ids = ["billing"]
  access_rights = [{
    api_id          = idpgate_protected_api.orders.id
    methods         = ["GET"]
    required_scopes = ["orders:read"]
  }]
}

` + decision("read", "GET", "https://api.example.com/orders/items/1", billing) +
		decision("delete", "DELETE", "/orders/items/1", billing) +
		decision("by_claim", "GET", "/orders/items/1", `claims = jsonencode({ pol = "billing", scope = "orders:read" })`) +
		decision("bad_token", "GET", "/orders/items/1", `token = "not-a-token"`)
	accTest(t, resource.TestCase{
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.idpgate_access_decision.read", tfjsonpath.New("allowed"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("data.idpgate_access_decision.read", tfjsonpath.New("status"), knownvalue.Int64Exact(200)),
					statecheck.CompareValuePairs("data.idpgate_access_decision.read", tfjsonpath.New("policy_id"),
						"idpgate_access_policy.billing", tfjsonpath.New("id"), compareSame{}),
					statecheck.CompareValuePairs("data.idpgate_access_decision.read", tfjsonpath.New("api_id"),
						"idpgate_protected_api.orders", tfjsonpath.New("id"), compareSame{}),
					statecheck.ExpectKnownValue("data.idpgate_access_decision.delete", tfjsonpath.New("allowed"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue("data.idpgate_access_decision.delete", tfjsonpath.New("error"), knownvalue.StringExact("access_denied")),
					statecheck.ExpectKnownValue("data.idpgate_access_decision.delete", tfjsonpath.New("reason"),
						knownvalue.StringRegexp(regexp.MustCompile(`method DELETE is not one of GET`))),
					statecheck.ExpectKnownValue("data.idpgate_access_decision.by_claim", tfjsonpath.New("allowed"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("data.idpgate_access_decision.bad_token", tfjsonpath.New("status"), knownvalue.Int64Exact(401)),
					statecheck.ExpectKnownValue("data.idpgate_access_decision.bad_token", tfjsonpath.New("error"), knownvalue.StringExact("invalid_token")),
					statecheck.ExpectSensitiveValue("data.idpgate_access_decision.bad_token", tfjsonpath.New("token")),
				},
			},
			{
				Config: config + `
data "idpgate_access_decision" "malformed" {
  method = "GET"
  url    = "/orders/x"
  scopes = ["two words"]
}
`,
				ExpectError: regexp.MustCompile(`(?s)Invalid scopes.*caller.scopes\[0\]`),
			},
		},
	})
	if n := s.upstream.count(); n != 0 {
		t.Errorf("%d requests reached the upstream; a decision sends none", n)
	}
}

// compareSame is compare.ValuesSame without importing another package for it.
type compareSame struct{}

func (compareSame) CompareValues(values ...any) error {
	if len(values) == 2 && fmt.Sprint(values[0]) == fmt.Sprint(values[1]) && fmt.Sprint(values[0]) != "" {
		return nil
	}
	return fmt.Errorf("values differ: %v", values)
}

// TestAccAccessDecisionExampleTest runs examples/tests/access_decision with the real
// `terraform test` (`tofu test` in the OpenTofu leg) against the mock IdP and an in-process
// gateway, the provider served in-process and reattached; then breaks the policy (billing
// may DELETE) and expects the run to fail with the assertion's message.
func TestAccAccessDecisionExampleTest(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1")
	}
	testAccPreCheck(t)
	cli, _ := currentAccCLI()
	s := startGatewayStack(t)
	// The provider runs in this process: it reads its settings from this environment.
	t.Setenv("IDPGATE_ISSUER", s.idp.URL())
	t.Setenv("IDPGATE_GATEWAY_URL", s.adminURL)
	t.Setenv("IDPGATE_GATEWAY_ADMIN_TOKEN", s.adminToken)
	reattach := serveProviderForReattach(t)

	run := func(dir string, args ...string) (string, error) {
		cmd := exec.Command(cli.path, args...)
		cmd.Dir = dir
		cmd.Env = append(cliEnv(), "TF_REATTACH_PROVIDERS="+reattach, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	example := filepath.Join("..", "..", "examples", "tests", "access_decision")

	dir := filepath.Join(t.TempDir(), "access_decision")
	copyTree(t, example, dir)
	if out, err := run(dir, "init", "-input=false", "-no-color"); err != nil {
		t.Fatalf("%s init: %v\n%s", cli.name, err, out)
	}
	start := time.Now()
	out, err := run(dir, "test", "-no-color")
	if err != nil {
		t.Fatalf("%s test of the example failed: %v\n%s", cli.name, err, out)
	}
	t.Logf("%s test of the example passed in %s", cli.name, time.Since(start).Round(time.Millisecond))
	for _, want := range []string{`run "billing_reads_orders"... pass`, `run "billing_cannot_delete_orders"... pass`,
		`run "other_clients_are_outside_the_policy"... pass`, `run "billing_needs_the_orders_read_scope"... pass`, "5 passed, 0 failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("%s test output lacks %q:\n%s", cli.name, want, out)
		}
	}
	if clients := s.idp.Clients(); len(clients) != 0 {
		t.Errorf("the test run left %d clients at the IdP", len(clients))
	}
	if err := s.checkGatewayEmpty(nil); err != nil {
		t.Errorf("the test run left objects at the gateway: %v", err)
	}

	// The same suite against a policy that grants DELETE too: the delete assertion fails
	// with its message, and the command fails.
	broken := filepath.Join(t.TempDir(), "access_decision")
	copyTree(t, example, broken)
	mainTF := filepath.Join(broken, "main.tf")
	raw, err := os.ReadFile(mainTF)
	if err != nil {
		t.Fatal(err)
	}
	grant := `methods         = ["GET", "HEAD"]`
	if !strings.Contains(string(raw), grant) {
		t.Fatalf("the example no longer says %s; update this test", grant)
	}
	if err := os.WriteFile(mainTF, []byte(strings.Replace(string(raw), grant, `methods         = ["GET", "HEAD", "DELETE"]`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := run(broken, "init", "-input=false", "-no-color"); err != nil {
		t.Fatalf("%s init: %v\n%s", cli.name, err, out)
	}
	out, err = run(broken, "test", "-no-color")
	if err == nil {
		t.Fatalf("%s test passed with a policy that lets billing delete orders:\n%s", cli.name, out)
	}
	if !strings.Contains(out, "billing must not be able to delete orders") || !strings.Contains(out, `run "billing_cannot_delete_orders"... fail`) {
		t.Errorf("%s test failed without the delete assertion's message:\n%s", cli.name, out)
	}
	if !strings.Contains(out, `run "billing_reads_orders"... pass`) {
		t.Errorf("the read assertion should still pass:\n%s", out)
	}
}

// cliEnv is the test process's environment without what would steer the CLI elsewhere.
func cliEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if name == "TF_REATTACH_PROVIDERS" || name == "TF_CLI_ARGS" || strings.HasPrefix(name, "TF_CLI_ARGS_") ||
			name == "TF_LOG" {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// serveProviderForReattach serves the provider in this process, as terraform-plugin-testing
// does for resource.Test, and returns the TF_REATTACH_PROVIDERS value that points the CLI at
// it (under the registry host the CLI resolves idpgate/idpgate to).
func serveProviderForReattach(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	config := make(chan *plugin.ReattachConfig, 1)
	closed := make(chan struct{})
	host := os.Getenv(envProviderHost)
	if host == "" {
		host = "registry.terraform.io"
	}
	name := host + "/idpgate/idpgate"
	go func() {
		err := tf6server.Serve(name, providerserver.NewProtocol6(New("test", "none")()),
			tf6server.WithDebug(ctx, config, closed), tf6server.WithLoggingSink(t))
		if err != nil {
			t.Errorf("serving the provider: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-closed
	})
	var rc *plugin.ReattachConfig
	select {
	case rc = <-config:
	case <-time.After(30 * time.Second):
		t.Fatal("the provider server did not start within 30s")
	}
	type addr struct{ Network, String string }
	b, err := json.Marshal(map[string]any{name: map[string]any{
		"Protocol": string(rc.Protocol), "ProtocolVersion": rc.ProtocolVersion, "Pid": rc.Pid, "Test": true,
		"Addr": addr{Network: rc.Addr.Network(), String: rc.Addr.String()},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// copyTree copies the example directory src to dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			if d.Name() == ".terraform" {
				return filepath.SkipDir
			}
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}
