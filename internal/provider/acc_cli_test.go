package provider

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-version"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"
)

// The acceptance tests drive the terraform on PATH, or the binary TF_ACC_TERRAFORM_PATH names:
// OpenTofu in the second leg of `make test-all` (make testacc-tofu). These machines cannot
// download either, so a missing one fails the test with what to do.

const (
	envTerraformPath = "TF_ACC_TERRAFORM_PATH"
	envProviderHost  = "TF_ACC_PROVIDER_HOST"
	openTofuRegistry = "registry.opentofu.org"
)

// accCLI is the command-line tool the acceptance tests drive.
type accCLI struct {
	path    string
	name    string // "Terraform" or "OpenTofu", as its `version` says
	version *version.Version
}

func (c accCLI) isOpenTofu() bool { return c.name == "OpenTofu" }

// currentAccCLI finds and identifies the tool once per test binary.
var currentAccCLI = sync.OnceValues(func() (accCLI, error) {
	path := os.Getenv(envTerraformPath)
	if path == "" {
		found, err := exec.LookPath("terraform")
		if err != nil {
			return accCLI{}, fmt.Errorf("terraform must be on PATH for acceptance tests (or %s must name terraform or tofu; scripts/tofu.sh builds tofu): %w", envTerraformPath, err)
		}
		path = found
	}
	// stdout only: a CLI configuration warning goes to stderr.
	out, err := exec.Command(path, "version").Output()
	if err != nil {
		return accCLI{}, fmt.Errorf("%s version: %w", path, err)
	}
	return parseCLIVersion(path, out)
})

// parseCLIVersion finds the line "Terraform v1.11.4" or "OpenTofu v1.12.6" in the output of
// `terraform version` or `tofu version` (tofu may print CLI configuration warnings first).
func parseCLIVersion(path string, out []byte) (accCLI, error) {
	for line := range strings.Lines(string(out)) {
		name, v, _ := strings.Cut(strings.TrimSpace(line), " ")
		if (name != "Terraform" && name != "OpenTofu") || !strings.HasPrefix(v, "v") {
			continue
		}
		parsed, err := version.NewVersion(v)
		if err != nil {
			return accCLI{}, fmt.Errorf("%s version printed %q: %w", path, line, err)
		}
		return accCLI{path: path, name: name, version: parsed}, nil
	}
	return accCLI{}, fmt.Errorf("%s version printed %q; want a line \"Terraform vX.Y.Z\" or \"OpenTofu vX.Y.Z\"", path, out)
}

// testAccPreCheck makes sure the acceptance tests can drive the tool they were given, and that
// the environment lets the test harness talk to OpenTofu.
func testAccPreCheck(t *testing.T) {
	t.Helper()
	cli, err := currentAccCLI()
	if err != nil {
		t.Fatal(err)
	}
	if err := checkOpenTofuEnv(cli, os.Getenv); err != nil {
		t.Fatal(err)
	}
}

// checkOpenTofuEnv: OpenTofu looks providers up at its own registry, so the harness must give
// the in-process provider that host; and it prints a warning before its version when
// TF_CLI_CONFIG_FILE names a missing file, which the harness then cannot parse.
func checkOpenTofuEnv(cli accCLI, getenv func(string) string) error {
	if !cli.isOpenTofu() {
		return nil
	}
	if host := getenv(envProviderHost); host != openTofuRegistry {
		return fmt.Errorf("%s is OpenTofu, which finds the provider under %s: set %s=%s (make testacc-tofu does), not %q",
			cli.path, openTofuRegistry, envProviderHost, openTofuRegistry, host)
	}
	if file := getenv("TF_CLI_CONFIG_FILE"); file != "" {
		if _, err := os.Stat(file); err != nil {
			return fmt.Errorf("TF_CLI_CONFIG_FILE names %s, which OpenTofu cannot read (%v); unset it or point it at a real file", file, err)
		}
	}
	return nil
}

// requireCLIFeature fails a test case (never skips it: a skipped test would hide the gap) when
// the tool is older than the first version of it that has the feature.
type requireCLIFeature struct {
	feature             string
	terraform, openTofu *version.Version
}

// ephemeralResources: Terraform 1.10, OpenTofu 1.11.
var ephemeralResources = requireCLIFeature{
	feature:   "ephemeral resources",
	terraform: tfversion.Version1_10_0,
	openTofu:  tfversion.Version1_11_0,
}

var _ tfversion.TerraformVersionCheck = requireCLIFeature{}

func (r requireCLIFeature) CheckTerraformVersion(_ context.Context, req tfversion.CheckTerraformVersionRequest, resp *tfversion.CheckTerraformVersionResponse) {
	cli, err := currentAccCLI()
	if err != nil {
		resp.Error = err
		return
	}
	if err := r.check(cli.name, req.TerraformVersion); err != nil {
		resp.Error = err
	}
}

func (r requireCLIFeature) check(tool string, got *version.Version) error {
	least := r.terraform
	if tool == "OpenTofu" {
		least = r.openTofu
	}
	if got.Core().LessThan(least) {
		return fmt.Errorf("%s need %s %s or later; this one is %s", r.feature, tool, least, got)
	}
	return nil
}

func TestParseCLIVersion(t *testing.T) {
	cases := map[string]struct {
		out      string
		wantName string
		wantErr  bool
	}{
		"terraform":       {out: "Terraform v1.11.4\non linux_amd64\n", wantName: "Terraform"},
		"opentofu":        {out: "OpenTofu v1.12.6\non linux_amd64\n", wantName: "OpenTofu"},
		"after a warning": {out: "\nWarning: Unable to open CLI configuration file\n\nOpenTofu v1.12.6\n", wantName: "OpenTofu"},
		"other":           {out: "Pulumi v3.0.0\n", wantErr: true},
		"garbled":         {out: "OpenTofu v1.x\n", wantErr: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			cli, err := parseCLIVersion("/bin/x", []byte(tc.out))
			if tc.wantErr {
				if err == nil {
					t.Fatalf("parsed %+v, want an error", cli)
				}
				return
			}
			if err != nil || cli.name != tc.wantName {
				t.Fatalf("got %+v, %v; want %s", cli, err, tc.wantName)
			}
		})
	}
}

func TestCheckOpenTofuEnv(t *testing.T) {
	tofu := accCLI{path: "/bin/tofu", name: "OpenTofu"}
	existing := t.TempDir() + "/tofurc"
	if err := os.WriteFile(existing, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	if err := checkOpenTofuEnv(accCLI{name: "Terraform"}, env()); err != nil {
		t.Errorf("terraform needs no provider host: %v", err)
	}
	if err := checkOpenTofuEnv(tofu, env(envProviderHost, openTofuRegistry, "TF_CLI_CONFIG_FILE", existing)); err != nil {
		t.Errorf("a complete OpenTofu environment: %v", err)
	}
	err := checkOpenTofuEnv(tofu, env())
	if err == nil || !strings.Contains(err.Error(), envProviderHost+"="+openTofuRegistry) {
		t.Errorf("no provider host: %v, want a message that says to set %s", err, envProviderHost)
	}
	err = checkOpenTofuEnv(tofu, env(envProviderHost, openTofuRegistry, "TF_CLI_CONFIG_FILE", existing+".missing"))
	if err == nil || !strings.Contains(err.Error(), "unset it or point it at a real file") {
		t.Errorf("a missing CLI config file: %v, want a message that says what to do", err)
	}
}

func TestRequireCLIFeature(t *testing.T) {
	cases := []struct {
		tool, version string
		ok            bool
	}{
		{"Terraform", "1.9.8", false},
		{"Terraform", "1.10.0", true},
		{"OpenTofu", "1.10.7", false},
		{"OpenTofu", "1.11.0", true},
		{"OpenTofu", "1.11.0-beta1", true}, // a prerelease of the version that brought it
	}
	for _, tc := range cases {
		err := ephemeralResources.check(tc.tool, version.Must(version.NewVersion(tc.version)))
		if (err == nil) != tc.ok {
			t.Errorf("%s %s: %v, want ok=%v", tc.tool, tc.version, err, tc.ok)
		}
	}
}

// TestAccCLI names the tool and version the acceptance tests drive, so that a run's log shows
// it; with IDPGATE_ACC_CLI set (make testacc-tofu sets OpenTofu) it fails on any other tool.
func TestAccCLI(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1")
	}
	testAccPreCheck(t)
	cli, _ := currentAccCLI()
	t.Logf("acceptance tests drive %s %s at %s", cli.name, cli.version, cli.path)
	if want := os.Getenv("IDPGATE_ACC_CLI"); want != "" && want != cli.name {
		t.Errorf("IDPGATE_ACC_CLI=%s, but %s is %s", want, cli.path, cli.name)
	}
}
