package provider

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/store"
	"github.com/idpgate/terraform-provider-idpgate/internal/mockidp"
	"github.com/idpgate/terraform-provider-idpgate/internal/redistest"
)

// startGatewayOn starts a gateway with opts and serves it on loopback, as a stack that shares
// base's IdP and upstream. stop closes it early (it is closed at cleanup anyway).
func startGatewayOn(t *testing.T, base *gatewayStack, opts gateway.Options) (s *gatewayStack, stop func()) {
	t.Helper()
	const adminToken = "replicas-admin-token-0123456789"
	opts.AdminToken, opts.Logger = adminToken, slog.New(slog.DiscardHandler)
	gw, err := gateway.New(opts)
	if err != nil {
		t.Fatalf("starting gateway: %v", err)
	}
	proxy := httptest.NewServer(gw.ProxyHandler())
	adminSrv := httptest.NewServer(gw.AdminHandler())
	closed := false
	stop = func() {
		if !closed {
			closed = true
			proxy.Close()
			adminSrv.Close()
			_ = gw.Close()
		}
	}
	t.Cleanup(stop)
	admin, err := adminapi.NewClient(adminSrv.URL, adminToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &gatewayStack{idp: base.idp, proxyURL: proxy.URL, adminURL: adminSrv.URL, adminToken: adminToken,
		admin: admin, upstream: base.upstream, http: &http.Client{Timeout: 10 * time.Second}}, stop
}

// TestAccReplicas_redis: Terraform configures a single bbolt gateway; its store is exported
// and imported into Redis (`idpgate config export/import`'s functions), after which the
// provider, pointed at replica A of three on that Redis, plans no change. An update applied
// through A is enforced by B and C, each answers 200/401/403 as one node does, and the rate
// limit is shared: N requests spread over the three replicas exhaust it.
func TestAccReplicas_redis(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	base := &gatewayStack{idp: mockidp.NewTestServer(t, mockidp.Options{Flavor: mockidp.FlavorGeneric}), upstream: newRecordingUpstream(t)}
	boltDir := t.TempDir()
	single, stopSingle := startGatewayOn(t, base, gateway.Options{DataDir: boltDir})
	var reps []*gatewayStack
	for range 3 {
		r, _ := startGatewayOn(t, base, gateway.Options{RedisURL: srv.URL})
		reps = append(reps, r)
	}
	a := reps[0]

	const limit = 4
	accTest(t, resource.TestCase{
		CheckDestroy: a.checkGatewayEmpty,
		Steps: []resource.TestStep{
			{
				Config: e2eConfig(single, limit, "GET"),
				Check:  single.checkGETAllowed(e2eApp, "/orders/items"),
			},
			{
				// Move: export the bbolt store, import it into Redis; the plan against
				// replica A is empty.
				PreConfig: func() {
					stopSingle()
					b, err := store.OpenBolt(boltDir)
					if err != nil {
						t.Fatal(err)
					}
					cfg, err := b.Export()
					_ = b.Close()
					if err != nil {
						t.Fatal(err)
					}
					r, err := store.OpenRedis(context.Background(), store.RedisOptions{URL: srv.URL})
					if err != nil {
						t.Fatal(err)
					}
					defer r.Close()
					if err := r.Import(cfg, false); err != nil {
						t.Fatalf("import into Redis: %v", err)
					}
				},
				Config:   e2eConfig(a, limit, "GET"),
				PlanOnly: true,
			},
			{
				Config: e2eConfig(a, limit, "GET", "POST"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(e2ePolicy, plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(st *terraform.State) error {
					_, token, err := a.tokenFromState(st, e2eApp)
					if err != nil {
						return err
					}
					// B and C enforce the update made through A (POST newly granted).
					for _, r := range reps[1:] {
						if err := waitForStatus(r, http.MethodPost, token, http.StatusOK, time.Second); err != nil {
							return err
						}
					}
					for i, r := range reps {
						for _, c := range []struct {
							method, token string
							want          int
						}{{http.MethodDelete, token, http.StatusForbidden}, {http.MethodGet, "", http.StatusUnauthorized},
							{http.MethodGet, "not-a-token", http.StatusUnauthorized}} {
							if _, err := r.expectStatus(c.method, "/orders/items", c.token, c.want); err != nil {
								return fmt.Errorf("replica %d: %w", i, err)
							}
						}
					}
					// Redis's bucket started full (step 1 counted in the bbolt node's memory) and
					// the two POSTs took two tokens; the rest, spread over the replicas,
					// exhausts it, and then every replica refuses.
					used := 2
					for i := 0; used < limit; i, used = i+1, used+1 {
						if _, err := reps[i%3].expectStatus(http.MethodGet, "/orders/items", token, http.StatusOK); err != nil {
							return fmt.Errorf("request %d within the shared limit: %w", used+1, err)
						}
					}
					for i, r := range reps {
						if _, err := r.expectStatus(http.MethodGet, "/orders/items", token, http.StatusTooManyRequests); err != nil {
							return fmt.Errorf("replica %d past the shared limit: %w", i, err)
						}
					}
					return nil
				},
			},
		},
	})
}

// waitForStatus polls s until a request answers want.
func waitForStatus(s *gatewayStack, method, token string, want int, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		resp, err := s.call(method, "/orders/items", token)
		if err == nil && resp.StatusCode == want {
			return nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return err
			}
			return fmt.Errorf("%s %s on %s: %d after %s, want %d", method, "/orders/items", s.proxyURL, resp.StatusCode, within, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
