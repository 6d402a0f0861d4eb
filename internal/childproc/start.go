package childproc

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Tool is a binary a scripts/*.sh builds once per machine into the tools cache
// (${IDPGATE_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/idpgate-tools}/<Name>-<Version>/<Name>).
type Tool struct {
	Name    string // the file's name and its cache folder's prefix: "hydra"
	Version string // the release the script builds: "v2.3.0"
	Env     string // a variable that names the binary instead: "IDPGATE_HYDRA_BIN"
	What    string // what it is, for the failure: "Ory Hydra"
	Build   string // how to build it, for the failure: "`bash scripts/hydra.sh` (make test-all does)"
}

// Path finds the tool: $Env when set (it must exist), else its place in the tools cache. A
// tool that is not there fails t, saying how to build it; it never skips.
func (tool Tool) Path(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(tool.Env); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s=%s: %v", tool.Env, p, err)
		}
		return p
	}
	p := filepath.Join(ToolsCache(), tool.Name+"-"+tool.Version, tool.Name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s %s is not built: run %s or set %s to a %s binary. Looked at %s",
			tool.What, tool.Version, tool.Build, tool.Env, tool.Name, p)
	}
	return p
}

// ToolsCache is the folder the scripts build their tools into (scripts/lib/tool-cache.sh).
func ToolsCache() string {
	if d := os.Getenv("IDPGATE_TOOLS_CACHE"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "idpgate-tools")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "idpgate-tools")
}

// Run starts the tool with args in dir for t, keeping what it prints in the Child's Output,
// and stops it when t ends (SIGTERM, then SIGKILL after grace).
func (tool Tool) Run(t testing.TB, dir string, grace time.Duration, args ...string) *Child {
	t.Helper()
	out := &Output{}
	cmd := exec.Command(tool.Path(t), args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out
	c := Start(t, tool.Name, cmd)
	c.Output = out
	t.Cleanup(func() { c.Stop(grace) })
	return c
}

// Child is a server a test's helper started.
type Child struct {
	Cmd    *exec.Cmd
	Exited <-chan struct{} // closed once it has exited
	Output *Output         // what it printed, when Tool.Run started it
}

// Start starts cmd for t; what names it in the failure when it cannot start.
func Start(t testing.TB, what string, cmd *exec.Cmd) *Child {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", what, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	return &Child{Cmd: cmd, Exited: exited}
}

// Stop ends the child as Stop does with SIGTERM: it may shut down cleanly within grace, then
// it is killed. It returns once the child has exited; stopping a child that has exited
// returns at once.
func (c *Child) Stop(grace time.Duration) { Stop(c.Cmd.Process, syscall.SIGTERM, c.Exited, grace) }

// Kill ends the child with SIGKILL and returns once it has exited.
func (c *Child) Kill() {
	_ = c.Cmd.Process.Kill()
	<-c.Exited
}

// WaitReady calls ready every interval until it returns nil. It fails t when the child exits
// first (exited is closed) or ready has not succeeded within, naming what and adding
// output(), what the child printed.
func WaitReady(t testing.TB, what string, exited <-chan struct{}, within, interval time.Duration,
	output func() string, ready func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := ready()
		if err == nil {
			return
		}
		select {
		case <-exited:
			t.Fatalf("%s exited at start: %s", what, output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is not ready after %s: %v; its output: %s", what, within, err, output())
		}
		time.Sleep(interval)
	}
}

// Answered200 is a readiness probe's verdict on an HTTP answer: nil for 200 OK. It closes
// the body.
func Answered200(resp *http.Response, err error) error {
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return nil
}
