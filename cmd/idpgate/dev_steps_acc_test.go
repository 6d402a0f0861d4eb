package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestAccDevPrintedSteps does what `idpgate dev` tells a new user to do, as a shell would:
// build the two binaries side by side as `make build` does, start `idpgate dev --env-file F`,
// `source F`, then run the printed `terraform init && terraform apply` (or the tofu line) in a
// copy of examples/quickstart, answering "yes" to apply's question. No other step: no CLI
// configuration of the test's own, no registry. It drives the terraform on PATH, or the
// binary TF_ACC_TERRAFORM_PATH names (make testacc-tofu gives it tofu).
func TestAccDevPrintedSteps(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1")
	}
	tool, toolName := cliUnderTest(t)
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	bin := filepath.Join(work, "bin")
	for pkg, out := range map[string]string{".": providerBinaryName(), "./cmd/idpgate": "idpgate"} {
		build := exec.Command("go", "build", "-o", filepath.Join(bin, out), pkg)
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	quickstart := filepath.Join(work, "quickstart")
	copyDir(t, filepath.Join(root, "examples", "quickstart"), quickstart)

	envFile := filepath.Join(work, "env")
	// A file, not a buffer: the process writes it while the test reads it.
	devLog, err := os.Create(filepath.Join(work, "dev.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer devLog.Close()
	devOut := func() string { b, _ := os.ReadFile(devLog.Name()); return string(b) }
	dev := exec.Command(filepath.Join(bin, "idpgate"), "dev", "--idp-listen", "127.0.0.1:0", "--listen", "127.0.0.1:0",
		"--admin-listen", "127.0.0.1:0", "--upstream-listen", "127.0.0.1:0", "--env-file", envFile)
	dev.Stdout, dev.Stderr = devLog, devLog
	if err := dev.Start(); err != nil {
		t.Fatal(err)
	}
	devDone := make(chan error, 1)
	go func() { devDone <- dev.Wait() }()
	defer func() {
		_ = dev.Process.Signal(syscall.SIGINT)
		select {
		case err := <-devDone:
			if err != nil {
				t.Errorf("idpgate dev stopped with %v:\n%s", err, devOut())
			}
		case <-time.After(10 * time.Second):
			_ = dev.Process.Kill()
			t.Errorf("idpgate dev did not stop within 10s of SIGINT: %v", <-devDone)
		}
	}()
	waitForFile(t, envFile, devDone, 30*time.Second)

	// The line dev printed for this tool, run as printed.
	steps := regexp.MustCompile(`(?m)\b` + toolName + ` init && ` + toolName + ` apply\b`).FindString(devOut())
	if steps == "" {
		t.Fatalf("idpgate dev printed no `%s init && %s apply`:\n%s", toolName, toolName, devOut())
	}
	shellPath := filepath.Join(work, "path")
	if err := os.MkdirAll(shellPath, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(tool, filepath.Join(shellPath, toolName)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	script := "source " + shellQuote(envFile) + " && cd " + shellQuote(quickstart) + " && " + steps
	shell := exec.CommandContext(ctx, "bash", "-c", script)
	shell.Env = append(withoutTerraformEnv(os.Environ()), "PATH="+shellPath+string(os.PathListSeparator)+os.Getenv("PATH"),
		"CHECKPOINT_DISABLE=1")
	shell.Stdin = strings.NewReader("yes\n")
	out, err := shell.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s\n--- idpgate dev:\n%s", script, err, out, devOut())
	}
	if !regexp.MustCompile(`Apply complete! Resources: 3 added, 0 changed, 0 destroyed`).Match(out) {
		t.Fatalf("%s did not apply the quickstart:\n%s", script, out)
	}
	t.Logf("%s in examples/quickstart: Apply complete! Resources: 3 added", steps)

	destroy := exec.CommandContext(ctx, "bash", "-c", "source "+shellQuote(envFile)+" && cd "+shellQuote(quickstart)+" && "+toolName+" destroy -auto-approve")
	destroy.Env = shell.Env
	if out, err := destroy.CombinedOutput(); err != nil {
		t.Fatalf("destroy: %v\n%s", err, out)
	}
}

// cliUnderTest is the acceptance tests' tool: TF_ACC_TERRAFORM_PATH, else terraform on PATH;
// and the name a user types for it.
func cliUnderTest(t *testing.T) (path, name string) {
	t.Helper()
	path = os.Getenv("TF_ACC_TERRAFORM_PATH")
	if path == "" {
		found, err := exec.LookPath("terraform")
		if err != nil {
			t.Fatalf("terraform must be on PATH (or TF_ACC_TERRAFORM_PATH must name terraform or tofu; scripts/tofu.sh builds tofu): %v", err)
		}
		path = found
	}
	out, err := exec.Command(path, "version").Output()
	if err != nil {
		t.Fatalf("%s version: %v", path, err)
	}
	// tofu may print CLI configuration warnings before its version line.
	switch {
	case regexp.MustCompile(`(?m)^OpenTofu v`).Match(out):
		return path, "tofu"
	case regexp.MustCompile(`(?m)^Terraform v`).Match(out):
		return path, "terraform"
	}
	t.Fatalf("%s version printed %q; want Terraform or OpenTofu", path, out)
	return "", ""
}

// withoutTerraformEnv drops what would steer the tool away from the printed steps: a CLI
// configuration, reattached providers, the harness's own settings.
func withoutTerraformEnv(env []string) []string {
	var kept []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if name == "TF_CLI_CONFIG_FILE" || name == "TF_REATTACH_PROVIDERS" || name == "TF_PLUGIN_CACHE_DIR" ||
			name == "PATH" || strings.HasPrefix(name, "TF_ACC") || strings.HasPrefix(name, "IDPGATE_") {
			continue
		}
		kept = append(kept, kv)
	}
	return kept
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.CopyFS(to, os.DirFS(from)); err != nil {
		t.Fatal(err)
	}
	// A developer's own init in the example must not leak into the trial.
	for _, leftover := range []string{".terraform", ".terraform.lock.hcl", "terraform.tfstate", "terraform.tfstate.backup"} {
		if err := os.RemoveAll(filepath.Join(to, leftover)); err != nil {
			t.Fatal(err)
		}
	}
}
