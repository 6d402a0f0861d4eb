package gateway

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
)

// Every admin write is applied to the snapshot in place, counted by
// idpgate_config_changes_applied_total; full reloads (one at start) by
// idpgate_config_reloads_total; idpgate_apis / idpgate_policies follow the snapshot; a reload
// that cannot read the store is counted as an error and leaves the previous snapshot serving.
func TestReloadAndConfigSizeMetrics(t *testing.T) {
	h := newHarness(t)
	up := newEchoUpstream(t)
	wantMetrics := func(when string, applied, reloadsOK, reloadsErr, apis, policies int) {
		t.Helper()
		text := h.metricsText()
		for _, line := range []string{
			fmt.Sprintf(`idpgate_config_changes_applied_total %d`, applied),
			fmt.Sprintf(`idpgate_config_reloads_total{result="ok"} %d`, reloadsOK),
			fmt.Sprintf(`idpgate_apis %d`, apis),
			fmt.Sprintf(`idpgate_policies %d`, policies),
		} {
			if !containsLine(text, line) {
				t.Errorf("%s: metrics lack %q", when, line)
			}
		}
		errLine := fmt.Sprintf(`idpgate_config_reloads_total{result="error"} %d`, reloadsErr)
		if reloadsErr > 0 && !containsLine(text, errLine) {
			t.Errorf("%s: metrics lack %q", when, errLine)
		}
	}
	wantMetrics("at start", 0, 1, 0, 0, 0)

	a := h.createAPI(adminapi.API{Name: "a", ListenPath: "/a", UpstreamURL: up.URL})
	b := h.createAPI(adminapi.API{Name: "b", ListenPath: "/b", UpstreamURL: up.URL})
	h.createPolicy(adminapi.Policy{Name: "p", ClientIDs: []string{"app"}, AccessRights: grantAll(a)})
	wantMetrics("after three creations", 3, 1, 0, 2, 1)

	if err := h.admin.DeleteAPI(context.Background(), b.ID); err != nil {
		t.Fatal(err)
	}
	wantMetrics("after a deletion", 4, 1, 0, 1, 1)

	// The store becomes unreadable: the reload fails, is counted, and changes nothing.
	if err := h.gw.store.Close(); err != nil {
		t.Fatal(err)
	}
	if err := h.gw.config.Reload(); err == nil {
		t.Fatal("reload from a closed store succeeded")
	}
	wantMetrics("after a failed reload", 4, 1, 1, 1, 1)
	expect(t, h.do("GET", "/a", h.fake.token("t", token.Identity{ClientID: "app"})), http.StatusOK)
}

// reloads is how many full reloads the gateway made; applied how many changes it applied to
// its snapshot without one (from /metrics).
func (h *harness) reloads() float64 { return h.metric(`idpgate_config_reloads_total{result="ok"}`) }
func (h *harness) applied() float64 { return h.metric("idpgate_config_changes_applied_total") }

func (h *harness) metric(name string) float64 {
	h.t.Helper()
	for line := range strings.SplitSeq(h.metricsText(), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				h.t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	return 0
}
