package gateway

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/config"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/store"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
)

// BenchmarkProxyLargeConfig runs the same proxied request with a snapshot of 1 API and 1
// policy, and of 1,000 APIs and 10,000 policies (the bench API among them), in the same run:
// the request path's lookups must not make the large configuration slower. It also reports
// the cost of applying one change to each snapshot. In memory, like BenchmarkProxyOverhead,
// so the machine's load hardly moves the ratio.
func BenchmarkProxyLargeConfig(b *testing.B) {
	up := fixedUpstream{body: []byte(`{"id":1,"name":"widget"}`)}
	h := newHarness(b)
	h.gw.upstreams.Transport = up
	bench := adminapi.API{ID: "api_bench", Name: "bench", ListenPath: "/bench", UpstreamURL: "http://upstream.internal", StripListenPath: true,
		JWT:           &adminapi.JWTValidation{Issuer: "https://idp.example", JWKSURI: "https://idp.example/jwks"},
		ForwardClaims: map[string]string{"X-Tenant": "tenant"}}
	policy := func(id, client, apiID string) adminapi.Policy {
		return adminapi.Policy{ID: id, Name: id, ClientIDs: []string{client},
			AccessRights: []adminapi.AccessRight{{APIID: apiID, Methods: []string{"GET"}, Paths: []string{"/items/*"}}},
			RateLimit:    &adminapi.Limit{Requests: 1 << 40, Per: adminapi.Duration(time.Second)}}
	}
	load := func(apis []adminapi.API, policies []adminapi.Policy) *config.Snapshot {
		if err := h.gw.store.Import(store.Config{APIs: apis, Policies: policies}, true); err != nil {
			b.Fatal(err)
		}
		if err := h.gw.config.Reload(); err != nil {
			b.Fatal(err)
		}
		return h.gw.config.Snapshot()
	}
	small := load([]adminapi.API{bench}, []adminapi.Policy{policy("pol_bench", "app", bench.ID)})
	apis, policies := []adminapi.API{bench}, []adminapi.Policy{policy("pol_bench", "app", bench.ID)}
	for i := 1; i < 1000; i++ {
		a := bench
		a.ID, a.Name, a.ListenPath = fmt.Sprintf("api_%04d", i), fmt.Sprint("svc-", i), fmt.Sprint("/svc-", i)
		apis = append(apis, a)
	}
	for i := 1; i < 10000; i++ {
		policies = append(policies, policy(fmt.Sprintf("pol_%05d", i), fmt.Sprint("client-", i), apis[i%len(apis)].ID))
	}
	large := load(apis, policies)
	tok := h.fake.token("tok", token.Identity{Subject: "u", ClientID: "app", Scopes: []string{"items:read"}, Claims: map[string]any{"tenant": "acme"}})

	loaded := "1000-apis-10000-policies"
	for _, tc := range []struct {
		name     string
		apis     []adminapi.API
		policies []adminapi.Policy
	}{{"1-api", apis[:1], policies[:1]}, {"1000-apis-10000-policies", apis, policies}} {
		b.Run("request/"+tc.name, func(b *testing.B) {
			if loaded != tc.name { // b.Run calls this again for each b.N it tries
				load(tc.apis, tc.policies)
				loaded = tc.name
				b.ResetTimer()
			}
			req := httptest.NewRequest("GET", "/bench/items/1", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					w := httptest.NewRecorder()
					h.gw.ProxyHandler().ServeHTTP(w, req.Clone(req.Context()))
					if w.Code != http.StatusOK {
						b.Fatalf("status %d: %s", w.Code, w.Body)
					}
				}
			})
		})
	}
	for _, tc := range []struct {
		name string
		snap *config.Snapshot
	}{{"1-api", small}, {"1000-apis-10000-policies", large}} {
		b.Run("change/"+tc.name, func(b *testing.B) {
			p := policy("pol_changed", "client-changed", bench.ID)
			b.ReportAllocs()
			for b.Loop() {
				h.gw.config.Changed(tc.snap, config.Change{Version: tc.snap.Version() + 1, PolicyID: p.ID, Policy: &p})
			}
		})
	}
}
