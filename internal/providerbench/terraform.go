package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// workspace is one Terraform working directory and the CLI config that points both providers
// at the binaries this run built (dev_overrides: no registry, no terraform init).
type workspace struct {
	dir         string
	env         []string
	parallelism int
}

func newWorkspace(root, name, binDir, config string, parallelism int) (*workspace, error) {
	dir := filepath.Join(root, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(config), 0o644); err != nil {
		return nil, err
	}
	rc := filepath.Join(dir, "terraformrc")
	if err := os.WriteFile(rc, []byte(fmt.Sprintf(`provider_installation {
  dev_overrides {
    "idpgate/idpgate" = %q
    "bench/noop"      = %q
  }
  direct {}
}
`, binDir, binDir)), 0o644); err != nil {
		return nil, err
	}
	env := append(os.Environ(), "TF_CLI_CONFIG_FILE="+rc, "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1")
	return &workspace{dir: dir, env: env, parallelism: parallelism}, nil
}

// errPlanNotEmpty is what a plan that proposes changes returns (exit code 2 of
// -detailed-exitcode).
var errPlanNotEmpty = errors.New("the plan is not empty")

// measurement is what one terraform command cost: the wall time, and the CPU time of
// terraform and the provider it started (the provider is terraform's child, waited for).
type measurement struct {
	wall, cpu time.Duration
}

// run runs one terraform command and measures it.
func (w *workspace) run(ctx context.Context, args ...string) (measurement, error) {
	args = append(args, "-input=false", "-no-color")
	if w.parallelism > 0 {
		args = append(args, fmt.Sprintf("-parallelism=%d", w.parallelism))
	}
	cmd := exec.CommandContext(ctx, "terraform", append([]string{"-chdir=" + w.dir}, args...)...)
	cmd.Env = w.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	took := measurement{wall: time.Since(start)}
	if cmd.ProcessState != nil {
		took.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	if exit := (*exec.ExitError)(nil); errors.As(err, &exit) && exit.ExitCode() == 2 && args[0] == "plan" {
		return took, fmt.Errorf("terraform %s in %s: %w:\n%s", args[0], w.dir, errPlanNotEmpty, tail(out.String(), 40))
	}
	if err != nil {
		return took, fmt.Errorf("terraform %s in %s: %w:\n%s", args[0], w.dir, err, tail(out.String(), 40))
	}
	return took, nil
}

func (w *workspace) apply(ctx context.Context) (measurement, error) {
	return w.run(ctx, "apply", "-auto-approve")
}

// plan is a refresh plan, which must find nothing to change.
func (w *workspace) plan(ctx context.Context) (measurement, error) {
	return w.run(ctx, "plan", "-detailed-exitcode")
}

func (w *workspace) destroy(ctx context.Context) (measurement, error) {
	return w.run(ctx, "destroy", "-auto-approve")
}

func tail(s string, lines int) string {
	all := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}
