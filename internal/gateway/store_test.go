package gateway

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

const storeHelperEnv = "IDPGATE_STORE_HELPER_DIR"

// TestStoreHelperProcess is not a test on its own: TestStoreSurvivesKill re-executes the test
// binary with storeHelperEnv set, and then this serves the admin API over the given data
// directory until it is killed.
func TestStoreHelperProcess(t *testing.T) {
	if dir := os.Getenv(storeHelperEnv); dir != "" {
		h := newHarnessIn(t, dir, newFakeValidators())
		fmt.Println("ADMIN", h.adminSrv.URL)
		select {} // until SIGKILL
	}
}

// TestStoreSurvivesKill acknowledges writes from a child process, kills it with SIGKILL (no
// Close, no flush) and finds every acknowledged write after reopening the file.
func TestStoreSurvivesKill(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestStoreHelperProcess$")
	cmd.Env = append(os.Environ(), storeHelperEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	t.Cleanup(func() {
		if !killed {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	lines := bufio.NewScanner(out)
	var adminURL string
	deadline := time.Now().Add(20 * time.Second)
	for adminURL == "" && time.Now().Before(deadline) && lines.Scan() {
		if u, ok := strings.CutPrefix(lines.Text(), "ADMIN "); ok {
			adminURL = u
		}
	}
	if adminURL == "" {
		t.Fatal("helper process did not start its admin API")
	}
	client, _ := adminapi.NewClient(adminURL, harnessAdminToken, nil)
	ctx := context.Background()
	jwt := &adminapi.JWTValidation{Issuer: "https://i", JWKSURI: "https://i/k"}

	var apiIDs, policyIDs []string
	for i := 0; i < 20; i++ {
		a, err := client.CreateAPI(ctx, adminapi.API{Name: fmt.Sprintf("api%d", i), ListenPath: fmt.Sprintf("/api%d", i),
			UpstreamURL: "http://127.0.0.1:1", JWT: jwt})
		if err != nil {
			t.Fatal(err)
		}
		apiIDs = append(apiIDs, a.ID)
		p, err := client.CreatePolicy(ctx, adminapi.Policy{Name: fmt.Sprintf("pol%d", i), ClientIDs: []string{"c"},
			AccessRights: []adminapi.AccessRight{{APIID: a.ID}}})
		if err != nil {
			t.Fatal(err)
		}
		policyIDs = append(policyIDs, p.ID)
	}
	// the last acknowledged writes before the kill: an update and a delete
	upd, _ := client.GetAPI(ctx, apiIDs[0])
	upd.UpstreamURL = "http://127.0.0.1:2"
	if _, err := client.UpdateAPI(ctx, apiIDs[0], *upd); err != nil {
		t.Fatal(err)
	}
	if err := client.DeletePolicy(ctx, policyIDs[19]); err != nil {
		t.Fatal(err)
	}

	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	_ = cmd.Wait()
	killed = true

	h := newHarnessIn(t, dir, newFakeValidators())
	apis, err := h.admin.ListAPIs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pols, _ := h.admin.ListPolicies(ctx)
	if len(apis) != 20 || len(pols) != 19 {
		t.Fatalf("after kill -9: %d APIs (want 20), %d policies (want 19)", len(apis), len(pols))
	}
	for _, id := range apiIDs {
		if _, err := h.admin.GetAPI(ctx, id); err != nil {
			t.Errorf("API %s lost: %v", id, err)
		}
	}
	for _, id := range policyIDs[:19] {
		if _, err := h.admin.GetPolicy(ctx, id); err != nil {
			t.Errorf("policy %s lost: %v", id, err)
		}
	}
	if got, _ := h.admin.GetAPI(ctx, apiIDs[0]); got.UpstreamURL != "http://127.0.0.1:2" {
		t.Errorf("acknowledged update lost: %s", got.UpstreamURL)
	}
	if h.gw.config.Snapshot().Routes() != 20 {
		t.Errorf("the snapshot loaded at start has %d routes, want 20", h.gw.config.Snapshot().Routes())
	}
}
