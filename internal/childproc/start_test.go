package childproc

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fatalTB records the first Fatalf and ends the goroutine, as testing's Fatalf does.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}
func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// fails runs fn with a fatalTB in its own goroutine and returns what it failed with ("" when
// it did not fail).
func fails(t *testing.T, fn func(tb testing.TB)) string {
	t.Helper()
	tb := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() { defer close(done); fn(tb) }()
	<-done
	return tb.msg
}

func TestToolPath(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("IDPGATE_TOOLS_CACHE", cache)
	t.Setenv("IDPGATE_FAKE_BIN", "")
	tool := Tool{Name: "fake", Version: "v1.2.3", Env: "IDPGATE_FAKE_BIN", What: "the fake", Build: "`bash scripts/fake.sh`"}
	want := filepath.Join(cache, "fake-v1.2.3", "fake")

	msg := fails(t, func(tb testing.TB) { tool.Path(tb) })
	for _, part := range []string{"the fake v1.2.3 is not built", "`bash scripts/fake.sh`", "IDPGATE_FAKE_BIN", want} {
		if !strings.Contains(msg, part) {
			t.Errorf("missing tool: failure %q does not say %q", msg, part)
		}
	}

	if err := os.MkdirAll(filepath.Dir(want), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(want, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	if got := tool.Path(t); got != want {
		t.Errorf("cached tool: Path = %q, want %q", got, want)
	}

	other := filepath.Join(t.TempDir(), "elsewhere")
	t.Setenv("IDPGATE_FAKE_BIN", other)
	if msg := fails(t, func(tb testing.TB) { tool.Path(tb) }); !strings.Contains(msg, "IDPGATE_FAKE_BIN="+other) {
		t.Errorf("a missing $IDPGATE_FAKE_BIN: failure %q does not name it", msg)
	}
	if err := os.WriteFile(other, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	if got := tool.Path(t); got != other {
		t.Errorf("$IDPGATE_FAKE_BIN set: Path = %q, want %q", got, other)
	}
}

func TestToolsCacheFallsBackToXDGThenHome(t *testing.T) {
	t.Setenv("IDPGATE_TOOLS_CACHE", "")
	t.Setenv("XDG_CACHE_HOME", "/xdg")
	if got := ToolsCache(); got != "/xdg/idpgate-tools" {
		t.Errorf("with XDG_CACHE_HOME: %q", got)
	}
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "/home/someone")
	if got := ToolsCache(); got != "/home/someone/.cache/idpgate-tools" {
		t.Errorf("with HOME only: %q", got)
	}
}

func TestWaitReadyUntilReady(t *testing.T) {
	child := Start(t, "sleep", exec.Command("sleep", "30"))
	defer child.Stop(5 * time.Second)
	calls := 0
	WaitReady(t, "sleep", child.Exited, 10*time.Second, time.Millisecond, func() string { return "" }, func() error {
		if calls++; calls < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if calls != 3 {
		t.Errorf("ready was called %d times, want until it succeeds (3)", calls)
	}
}

func TestWaitReadyFailsWhenTheChildExitsOrTimeIsUp(t *testing.T) {
	cmd := exec.Command("sh", "-c", "echo bad config; exit 3")
	var out Output
	cmd.Stdout = &out
	exited := Start(t, "sh", cmd).Exited
	msg := fails(t, func(tb testing.TB) {
		WaitReady(tb, "the child", exited, time.Minute, time.Millisecond, out.String, func() error { return errors.New("no") })
	})
	if msg != "the child exited at start: bad config\n" {
		t.Errorf("exited child: failure %q", msg)
	}

	sleeper := Start(t, "sleep", exec.Command("sleep", "30"))
	defer sleeper.Stop(5 * time.Second)
	start := time.Now()
	msg = fails(t, func(tb testing.TB) {
		WaitReady(tb, "the sleeper", sleeper.Exited, 50*time.Millisecond, time.Millisecond, func() string { return "zzz" },
			func() error { return errors.New("refused") })
	})
	if took := time.Since(start); took < 50*time.Millisecond || took > time.Second {
		t.Errorf("WaitReady gave up after %v, want the 50ms it was given", took)
	}
	if msg != "the sleeper is not ready after 50ms: refused; its output: zzz" {
		t.Errorf("timeout: failure %q", msg)
	}
}

func TestStartFailsNamingWhat(t *testing.T) {
	msg := fails(t, func(tb testing.TB) { Start(tb, "the missing one", exec.Command(filepath.Join(t.TempDir(), "nothing"))) })
	if !strings.HasPrefix(msg, "starting the missing one: ") {
		t.Errorf("failure %q", msg)
	}
}

func TestChildStopAndKillAreIdempotent(t *testing.T) {
	c := Start(t, "sleep", exec.Command("sleep", "30"))
	c.Stop(5 * time.Second)
	if ws := c.Cmd.ProcessState.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
		t.Fatalf("child ended with %v, want ended by SIGTERM", c.Cmd.ProcessState)
	}
	start := time.Now()
	c.Stop(5 * time.Second)
	c.Kill()
	if took := time.Since(start); took > time.Second {
		t.Errorf("stopping and killing an exited child took %v, want at once", took)
	}

	k := Start(t, "sh", exec.Command("sh", "-c", `trap "" TERM; exec sleep 30`))
	k.Kill()
	if ws := k.Cmd.ProcessState.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, want killed by SIGKILL", k.Cmd.ProcessState)
	}
}

// Run starts the tool in dir, keeps what it prints and stops it when the test ends, SIGKILL
// after grace.
func TestToolRunKeepsTheOutputAndStopsAtTheEnd(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "fake")
	script := "#!/bin/sh\ntrap '' TERM\npwd\necho \"$@\" >&2\nexec sleep 30\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("IDPGATE_FAKE_BIN", bin)
	dir := t.TempDir()
	var c *Child
	t.Run("run", func(t *testing.T) {
		c = Tool{Name: "fake", Env: "IDPGATE_FAKE_BIN"}.Run(t, dir, 100*time.Millisecond, "-c", "conf.yml")
		WaitReady(t, "the fake", c.Exited, 5*time.Second, 10*time.Millisecond, c.Output.String, func() error {
			if !strings.Contains(c.Output.String(), "-c conf.yml") {
				return errors.New("no arguments yet")
			}
			return nil
		})
	})
	select {
	case <-c.Exited:
	default:
		t.Fatal("the child outlived its test")
	}
	if ws := c.Cmd.ProcessState.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Errorf("child ended with %v, want killed after the grace", c.Cmd.ProcessState)
	}
	if got := c.Output.String(); !strings.HasPrefix(got, dir+"\n") {
		t.Errorf("output %q, want it to start with the folder %s", got, dir)
	}
}
