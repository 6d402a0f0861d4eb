package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/childproc"
	"github.com/idpgate/terraform-provider-idpgate/internal/mockidp"
)

// TestSIGTERMDrainsInFlightRequests: `idpgate serve` in its own process gets a real SIGTERM
// while a request waits on its upstream. It stops accepting connections at once, the request
// still completes with the upstream's answer, and the process exits 0.
func TestSIGTERMDrainsInFlightRequests(t *testing.T) {
	idp := mockidp.NewTestServer(t, mockidp.Options{Flavor: mockidp.FlavorGeneric})
	entered, release := make(chan struct{}), make(chan struct{})
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(entered)
		<-release
		_, _ = io.WriteString(w, "finished after SIGTERM")
	}))
	defer upstream.Close()
	var releaseOnce sync.Once
	defer releaseOnce.Do(func() { close(release) })

	proc := startServeProcess(t, "serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
		"--data-dir", t.TempDir(), "--shutdown-timeout", "20s")
	ac, _ := adminapi.NewClient(proc.admin, "shutdown-test-admin-token", nil)
	grantApp(t, ac, "slow", "/slow", upstream.URL, "p", idp)

	type answer struct {
		status int
		body   string
		err    error
	}
	answers := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, proc.proxy+"/slow", nil)
		req.Header.Set("Authorization", "Bearer "+idp.MintToken(map[string]any{"sub": "alice", "client_id": "app"}))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answers <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		answers <- answer{status: resp.StatusCode, body: string(body), err: err}
	}()
	select {
	case <-entered:
	case a := <-answers:
		t.Fatalf("the request ended before reaching the upstream: %+v", a)
	case <-time.After(10 * time.Second):
		t.Fatal("the request never reached the upstream")
	}

	if err := proc.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	proxyAddr := strings.TrimPrefix(proc.proxy, "http://")
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", proxyAddr, time.Second)
		if err != nil {
			break // the listener is closed: shutdown has begun
		}
		_ = c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the proxy still accepts connections 10s after SIGTERM")
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case a := <-answers:
		t.Fatalf("the in-flight request ended before its upstream answered: %+v", a)
	default:
	}

	releaseOnce.Do(func() { close(release) })
	select {
	case a := <-answers:
		if a.err != nil || a.status != http.StatusOK || a.body != "finished after SIGTERM" {
			t.Errorf("in-flight request: status %d, body %q, err %v; want 200 with the upstream's body", a.status, a.body, a.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the in-flight request did not complete")
	}
	if err := proc.wait(10 * time.Second); err != nil {
		t.Errorf("serve after SIGTERM: %v; want exit status 0 (stderr:\n%s)", err, proc.stderr.String())
	}
}

type serveProc struct {
	cmd          *exec.Cmd
	proxy, admin string
	stderr       *childproc.Output
	done         chan error
}

// startServeProcess runs `idpgate <args>` in a child process (TestServeHelperProcess) and
// waits for its "idpgate serving" log line.
func startServeProcess(t *testing.T, args ...string) *serveProc {
	t.Helper()
	raw, _ := json.Marshal(args)
	p := &serveProc{stderr: &childproc.Output{}, done: make(chan error, 1)}
	p.cmd = exec.Command(os.Args[0], "-test.run=^TestServeHelperProcess$")
	p.cmd.Env = append(os.Environ(), replicaHelperEnv+"="+string(raw), adminTokenEnv+"=shutdown-test-admin-token")
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() { _ = p.cmd.Process.Kill(); _ = p.wait(5 * time.Second) })
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(p.stderr.String(), "\n") {
			var l struct{ Msg, Proxy, Admin string }
			if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "idpgate serving" {
				p.proxy, p.admin = "http://"+l.Proxy, "http://"+l.Admin
				return p
			}
		}
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("serve exited before serving: %v\n%s", err, p.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("serve did not start within 20s:\n%s", p.stderr.String())
	return nil
}

// wait returns the child's exit error, or an error when it has not exited within d.
func (p *serveProc) wait(d time.Duration) error {
	select {
	case err := <-p.done:
		p.done <- err // later callers (the cleanup) see it too
		return err
	case <-time.After(d):
		return os.ErrDeadlineExceeded
	}
}
