package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/redistest"
	"github.com/idpgate/terraform-provider-idpgate/internal/workertest"
)

const replicaHelperEnv = "IDPGATE_TEST_SERVE_ARGS"

// TestServeHelperProcess is not a test on its own: TestKillOneReplica re-executes the test
// binary with replicaHelperEnv set, and this runs `idpgate serve` with those arguments (JSON)
// until it is killed.
func TestServeHelperProcess(t *testing.T) {
	raw := os.Getenv(replicaHelperEnv)
	if raw == "" {
		return
	}
	var args []string
	if err := json.Unmarshal([]byte(raw), &args); err != nil {
		t.Fatal(err)
	}
	os.Exit(run(args, os.Stderr))
}

type replicaProc struct {
	cmd          *exec.Cmd
	proxy, admin string
}

// startReplica runs `idpgate serve --redis-url` in a child process and waits for its
// "idpgate serving" log line.
func startReplica(t *testing.T, redisURL string) *replicaProc {
	t.Helper()
	args, _ := json.Marshal([]string{"serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
		"--redis-url", redisURL})
	cmd := exec.Command(os.Args[0], "-test.run=^TestServeHelperProcess$")
	cmd.Env = append(os.Environ(), replicaHelperEnv+"="+string(args), adminTokenEnv+"=replica-test-admin-token")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := bufio.NewScanner(stderr)
	found := make(chan *replicaProc, 1)
	go func() {
		sent := false
		for lines.Scan() { // keep draining so the child never blocks on its log
			var l struct{ Msg, Proxy, Admin string }
			if json.Unmarshal(lines.Bytes(), &l) == nil && l.Msg == "idpgate serving" && !sent {
				found <- &replicaProc{cmd: cmd, proxy: "http://" + l.Proxy, admin: "http://" + l.Admin}
				sent = true
			}
		}
		if !sent {
			close(found)
		}
	}()
	select {
	case r := <-found:
		if r == nil {
			t.Fatal("replica exited before serving")
		}
		return r
	case <-time.After(20 * time.Second):
		t.Fatal("replica did not start")
	}
	return nil
}

// TestKillOneReplica: three `idpgate serve` processes on one Redis; the one that took every
// admin write is killed with SIGKILL under load. Nothing it acknowledged is lost, the other
// two keep answering 200 throughout, and a change through one of them reaches the other.
func TestKillOneReplica(t *testing.T) {
	srv := redistest.Start(t)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))
	defer up.Close()
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		active := r.PostForm.Get("token") == "good"
		_ = json.NewEncoder(w).Encode(map[string]any{"active": active, "client_id": "app", "exp": time.Now().Add(time.Hour).Unix()})
	}))
	defer idp.Close()

	reps := []*replicaProc{startReplica(t, srv.URL), startReplica(t, srv.URL), startReplica(t, srv.URL)}
	ctx := context.Background()
	a, _ := adminapi.NewClient(reps[0].admin, "replica-test-admin-token", nil)
	intro := func(name string) adminapi.API {
		return adminapi.API{Name: name, ListenPath: "/" + name, UpstreamURL: up.URL,
			Introspection: &adminapi.Introspection{Endpoint: idp.URL, ClientID: "gw", ClientSecret: "gw-secret"}}
	}
	api, err := a.CreateAPI(ctx, intro("a"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreatePolicy(ctx, adminapi.Policy{Name: "p", ClientIDs: []string{"app"},
		AccessRights: []adminapi.AccessRight{{APIID: api.ID}}, RateLimit: &adminapi.Limit{Requests: 1_000_000, Per: adminapi.Duration(time.Minute)}}); err != nil {
		t.Fatal(err)
	}
	get := func(base, path string) int {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer good")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	waitOK := func(base, path string) {
		t.Helper()
		deadline := time.Now().Add(3 * time.Second)
		for get(base, path) != http.StatusOK {
			if time.Now().After(deadline) {
				t.Fatalf("%s%s never answered 200", base, path)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	for _, r := range reps {
		waitOK(r.proxy, "/a")
	}

	var mu sync.Mutex
	survivors := map[int]int{}
	var next atomic.Int64
	stop := workertest.Start(4, func() {
		i := int(next.Add(1)) % 3
		s := get(reps[i].proxy, "/a")
		if i > 0 {
			mu.Lock()
			survivors[s]++
			mu.Unlock()
		}
	})
	var acked []string
	for i := range 20 {
		x, err := a.CreateAPI(ctx, intro(fmt.Sprintf("w%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		acked = append(acked, x.ID)
	}
	if err := reps[0].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	stop()
	t.Logf("answers of the two surviving replicas around the kill: %v", survivors)
	if len(survivors) != 1 || survivors[200] == 0 {
		t.Errorf("surviving replicas answered %v, want only 200", survivors)
	}

	b, _ := adminapi.NewClient(reps[1].admin, "replica-test-admin-token", nil)
	list, err := b.ListAPIs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, x := range list {
		have[x.ID] = true
	}
	for _, id := range acked {
		if !have[id] {
			t.Errorf("API %s acknowledged by the killed replica is lost", id)
		}
	}
	after, err := b.CreateAPI(ctx, intro("after"))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := b.ListPolicies(ctx)
	p[0].AccessRights = append(p[0].AccessRights, adminapi.AccessRight{APIID: after.ID})
	if _, err := b.UpdatePolicy(ctx, p[0].ID, p[0]); err != nil {
		t.Fatal(err)
	}
	waitOK(reps[2].proxy, "/after")
}
