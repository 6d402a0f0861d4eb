package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/limits"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
	"github.com/idpgate/terraform-provider-idpgate/internal/redistest"
	"github.com/idpgate/terraform-provider-idpgate/internal/workertest"
)

// Replica tests: several gateways (in-process, each with its own listeners, store connection
// and limiter) on one real redis-server, as `idpgate serve --redis-url` runs them.

// cluster is a redis-server, an upstream, and n replicas sharing one fake token validator.
type cluster struct {
	srv  *redistest.Server
	fake *fakeValidators
	up   *httptest.Server
	reps []*harness
}

func newCluster(t *testing.T, n int, opts ...func(*Options)) *cluster {
	t.Helper()
	c := &cluster{srv: redistest.Start(t), fake: newFakeValidators(), up: newEchoUpstream(t)}
	for range n {
		c.reps = append(c.reps, newRedisHarness(t, c.srv.URL, "", c.fake, opts...))
	}
	return c
}

// inSync waits until every replica serves the store's current version: the writes made so
// far, policies included, reach requests on each of them.
func (c *cluster) inSync(t *testing.T, within time.Duration) {
	t.Helper()
	version, err := c.reps[0].gw.store.Version()
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range c.reps {
		for deadline := time.Now().Add(within); h.gw.config.Version() < version; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("replica %d serves version %d after %s, the store is at %d", i, h.gw.config.Version(), within, version)
			}
		}
	}
}

// status sends one proxy request and returns its status, the body drained.
func (h *harness) status(method, path, tok string) int {
	h.t.Helper()
	resp := h.do(method, path, tok)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// waitStatus polls h until the request answers want, and returns how long that took.
func (h *harness) waitStatus(method, path, tok string, want int, within time.Duration) (time.Duration, error) {
	start := time.Now()
	for {
		got := h.status(method, path, tok)
		if got == want {
			return time.Since(start), nil
		}
		if time.Since(start) > within {
			return 0, fmt.Errorf("%s %s still answers %d after %s, want %d", method, path, got, within, want)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestReplicasAnswerAsOneNode: three replicas configured through one of them answer every
// request (200, 401, 403, 404) exactly as a single bbolt node with the same configuration.
func TestReplicasAnswerAsOneNode(t *testing.T) {
	c := newCluster(t, 3)
	fake, up, reps := c.fake, c.up, c.reps
	one := newHarnessIn(t, t.TempDir(), fake)
	for _, h := range []*harness{one, reps[0]} { // reps[0] is the replica Terraform talks to
		a := h.createAPI(adminapi.API{Name: "a", ListenPath: "/a", UpstreamURL: up.URL,
			JWT: &adminapi.JWTValidation{Issuer: "https://idp.example", JWKSURI: "https://idp.example/jwks", RequiredScopes: []string{"read"}}})
		h.createPolicy(adminapi.Policy{Name: "p", ClientIDs: []string{"app"},
			AccessRights: []adminapi.AccessRight{{APIID: a.ID, Methods: []string{"GET"}, Paths: []string{"/items/**"}}}})
	}
	good := fake.token("good", token.Identity{ClientID: "app", Scopes: []string{"read"}})
	noScope := fake.token("noscope", token.Identity{ClientID: "app"})
	stranger := fake.token("stranger", token.Identity{ClientID: "stranger", Scopes: []string{"read"}})
	cases := []struct{ method, path, tok string }{
		{"GET", "/a/items/1", good}, {"POST", "/a/items/1", good}, {"GET", "/a/other", good},
		{"GET", "/a/items/1", noScope}, {"GET", "/a/items/1", stranger}, {"GET", "/a/items/1", "forged"},
		{"GET", "/a/items/1", ""}, {"GET", "/nothing", good}, {"GET", "/a/items/%2e%2e/x", good},
	}
	for i, h := range reps {
		if _, err := h.waitStatus("GET", "/a/items/1", good, http.StatusOK, 2*time.Second); err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
	}
	seen := map[int]bool{}
	for _, c := range cases {
		want := one.status(c.method, c.path, c.tok)
		seen[want] = true
		for i, h := range reps {
			if got := h.status(c.method, c.path, c.tok); got != want {
				t.Errorf("replica %d: %s %s with %q: %d, one node answers %d", i, c.method, c.path, c.tok, got, want)
			}
		}
	}
	for _, s := range []int{200, 400, 401, 403, 404} {
		if !seen[s] {
			t.Errorf("the cases never produced HTTP %d; they prove less than they should", s)
		}
	}
}

// TestPolicyChangePropagates: 100 policy changes made through replica A are enforced by B
// and C; the time from A's acknowledgement until both enforce it is measured, and its p99
// must stay within 1 s.
func TestPolicyChangePropagates(t *testing.T) {
	c := newCluster(t, 3)
	fake, up, reps := c.fake, c.up, c.reps
	a := reps[0].createAPI(adminapi.API{Name: "a", ListenPath: "/a", UpstreamURL: up.URL})
	pol := reps[0].createPolicy(adminapi.Policy{Name: "p", ClientIDs: []string{"app"}, AccessRights: grantAll(a)})
	tok := fake.token("t", token.Identity{ClientID: "app"})

	const changes = 100
	lat := make([]time.Duration, 0, changes)
	for i := range changes {
		methods, want := []string{"POST"}, http.StatusForbidden
		if i%2 == 1 {
			methods, want = []string{"GET"}, http.StatusOK
		}
		pol.AccessRights = []adminapi.AccessRight{{APIID: a.ID, Methods: methods}}
		if _, err := reps[0].admin.UpdatePolicy(context.Background(), pol.ID, *pol); err != nil {
			t.Fatal(err)
		}
		acked := time.Now()
		var wg sync.WaitGroup
		var failed atomic.Bool
		for _, h := range reps[1:] {
			wg.Go(func() {
				if _, err := h.waitStatus("GET", "/a", tok, want, 3*time.Second); err != nil {
					t.Errorf("change %d: %v", i, err)
					failed.Store(true)
				}
			})
		}
		wg.Wait()
		if failed.Load() {
			t.FailNow()
		}
		lat = append(lat, time.Since(acked))
	}
	slices.Sort(lat)
	p50, p99, worst := lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1]
	t.Logf("propagation A -> B and C over %d changes: p50 %s, p99 %s, max %s", changes, p50, p99, worst)
	if p99 > time.Second {
		t.Errorf("p99 propagation %s, want <= 1s", p99)
	}
}

// hammer sends requests for tok round-robin over hs from clients goroutines until each has
// sent perClient, pausing pause between two, and counts the answers by status.
func hammer(hs []*harness, path, tok string, clients, perClient int, pause time.Duration) map[int]int {
	var mu sync.Mutex
	counts := map[int]int{}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for range perClient {
				h := hs[int(next.Add(1))%len(hs)]
				s := h.status("GET", path, tok)
				mu.Lock()
				counts[s]++
				mu.Unlock()
				time.Sleep(pause)
			}
		})
	}
	wg.Wait()
	return counts
}

// TestSharedRateLimit: a rate limit of N per minute, hit round-robin over three replicas by
// several concurrent clients, lets through what one node would (the burst N plus the refill
// over the test's duration) plus at most 2, never about 3N; a quota lets through exactly
// its count.
func TestSharedRateLimit(t *testing.T) {
	c := newCluster(t, 3)
	fake, up, reps := c.fake, c.up, c.reps
	a := reps[0].createAPI(adminapi.API{Name: "a", ListenPath: "/a", UpstreamURL: up.URL})
	const n = 60 // a token back every second
	reps[0].createPolicy(adminapi.Policy{Name: "rate", ClientIDs: []string{"rated"}, AccessRights: grantAll(a),
		RateLimit: &adminapi.Limit{Requests: n, Per: adminapi.Duration(time.Minute)}})
	const q = 25
	reps[0].createPolicy(adminapi.Policy{Name: "quota", ClientIDs: []string{"quoted"}, AccessRights: grantAll(a),
		Quota: &adminapi.Limit{Requests: q, Per: adminapi.Duration(time.Hour)}})
	rated := fake.token("rated", token.Identity{ClientID: "rated"})
	quoted := fake.token("quoted", token.Identity{ClientID: "quoted"})
	// Both policies, not only the API, must be served by every replica before the count
	// starts: a replica that had the API but not yet the policy once answered 403.
	c.inSync(t, 3*time.Second)

	start := time.Now()
	counts := hammer(reps, "/a", rated, 6, 100, 25*time.Millisecond) // 600 requests over ~3 s, 10x the limit
	elapsed := time.Since(start)
	refill := float64(n) * elapsed.Minutes()
	allowedMax := n + int(refill) + 2
	t.Logf("rate limit %d/min over 3 replicas, 6 clients, %s: %v (one node: %d burst + %.1f refill; bound %d)",
		n, elapsed.Round(time.Millisecond), counts, n, refill, allowedMax)
	if counts[200] > allowedMax || counts[200] < n+int(refill)-1 {
		t.Errorf("%d requests let through, want between %d (burst + refill - 1) and %d", counts[200], n+int(refill)-1, allowedMax)
	}
	if counts[200]+counts[429] != 600 {
		t.Errorf("answers other than 200 and 429: %v", counts)
	}

	counts = hammer(reps, "/a", quoted, 6, 3*q/6+1, 0)
	t.Logf("quota %d/h over 3 replicas, 6 clients: %v", q, counts)
	if counts[200] != q {
		t.Errorf("quota %d: %d requests let through, want exactly %d (%v)", q, counts[200], q, counts)
	}
}

// TestRedisLimitHeadersMatchMemory: the Redis limiter answers the same statuses and
// X-RateLimit-* values as the in-memory one for the same sequence of requests.
func TestRedisLimitHeadersMatchMemory(t *testing.T) {
	srv := redistest.Start(t)
	fake := newFakeValidators()
	up := newEchoUpstream(t)
	mem := newHarnessIn(t, t.TempDir(), fake)
	red := newRedisHarness(t, srv.URL, "", fake)
	tok := fake.token("t", token.Identity{ClientID: "app"})
	qtok := fake.token("q", token.Identity{ClientID: "qapp"})
	for _, h := range []*harness{mem, red} {
		a := h.createAPI(adminapi.API{Name: "a", ListenPath: "/a", UpstreamURL: up.URL})
		h.createPolicy(adminapi.Policy{Name: "both", ClientIDs: []string{"app"}, AccessRights: grantAll(a),
			RateLimit: &adminapi.Limit{Requests: 3, Per: adminapi.Duration(30 * time.Second)},
			Quota:     &adminapi.Limit{Requests: 100, Per: adminapi.Duration(time.Hour)}})
		h.createPolicy(adminapi.Policy{Name: "quota", ClientIDs: []string{"qapp"}, AccessRights: grantAll(a),
			Quota: &adminapi.Limit{Requests: 2, Per: adminapi.Duration(time.Hour)}})
	}
	headers := func(h *harness, tok string) string {
		resp := h.do("GET", "/a", tok)
		defer resp.Body.Close()
		return fmt.Sprintf("%d limit=%s remaining=%s reset=%s retry-after=%s", resp.StatusCode, resp.Header.Get("X-Ratelimit-Limit"),
			resp.Header.Get("X-Ratelimit-Remaining"), resp.Header.Get("X-Ratelimit-Reset"), resp.Header.Get("Retry-After"))
	}
	for i := range 5 {
		for _, tk := range []string{tok, qtok} {
			m, r := headers(mem, tk), headers(red, tk)
			if m != r {
				t.Errorf("request %d with %s: Redis answers %q, memory %q", i, tk, r, m)
			}
		}
	}
}

// TestRedisDownUnderLoad: Redis stops while three replicas serve traffic. They keep
// answering from their last configuration (local limits: no 5xx at all), /readyz says
// degraded with 200, idpgate_store_up is 0, admin writes answer 503 and change nothing.
// Redis then restarts from its append-only file: no acknowledged write is lost, the next
// change propagates, and the store is reported up again.
func TestRedisDownUnderLoad(t *testing.T) {
	c := newCluster(t, 3)
	srv, fake, up, reps := c.srv, c.fake, c.up, c.reps
	ctx := context.Background()
	a := reps[0].createAPI(adminapi.API{Name: "a", ListenPath: "/a", UpstreamURL: up.URL})
	reps[0].createPolicy(adminapi.Policy{Name: "p", ClientIDs: []string{"app"}, AccessRights: grantAll(a),
		RateLimit: &adminapi.Limit{Requests: 1_000_000, Per: adminapi.Duration(time.Minute)}})
	tok := fake.token("t", token.Identity{ClientID: "app"})

	// Acknowledged writes through every replica; all must survive Redis's restart.
	var acked []string
	for i := range 30 {
		api, err := reps[i%3].admin.CreateAPI(ctx, adminapi.API{Name: fmt.Sprintf("w%d", i), ListenPath: fmt.Sprintf("/w%d", i),
			UpstreamURL: up.URL, JWT: &adminapi.JWTValidation{Issuer: "https://i", JWKSURI: "https://i/k"}})
		if err != nil {
			t.Fatal(err)
		}
		acked = append(acked, api.ID)
	}
	for _, h := range reps {
		if _, err := h.waitStatus("GET", "/a", tok, http.StatusOK, 2*time.Second); err != nil {
			t.Fatal(err)
		}
	}

	var mu sync.Mutex
	counts := map[int]int{}
	var next atomic.Int64
	stop := workertest.Start(4, func() {
		s := reps[int(next.Add(1))%3].status("GET", "/a", tok)
		mu.Lock()
		counts[s]++
		mu.Unlock()
	})
	time.Sleep(300 * time.Millisecond)
	srv.Kill() // SIGKILL: only what Redis fsynced to its append-only file survives
	time.Sleep(1500 * time.Millisecond)

	_, err := reps[1].admin.CreateAPI(ctx, adminapi.API{Name: "during", ListenPath: "/during", UpstreamURL: up.URL,
		JWT: &adminapi.JWTValidation{Issuer: "https://i", JWKSURI: "https://i/k"}})
	var ae *adminapi.Error
	if !errors.As(err, &ae) || ae.Status != http.StatusServiceUnavailable || ae.Code != adminapi.CodeUnavailable ||
		!strings.Contains(ae.Message, "nothing was changed") {
		t.Errorf("admin write with Redis down: %v, want a 503 store_unavailable saying nothing changed", err)
	}
	for i, h := range reps {
		if body := readyz(t, h, http.StatusOK); !strings.Contains(body, `"degraded"`) {
			t.Errorf("replica %d /readyz with Redis down: %s, want status degraded", i, body)
		}
		if m := h.metricsText(); !containsLine(m, "idpgate_store_up 0") || !strings.Contains(m, `idpgate_limits_fallback_total{mode="local"}`) {
			t.Errorf("replica %d metrics with Redis down lack idpgate_store_up 0 or the fallback counter", i)
		}
	}
	stop()
	t.Logf("answers while Redis went away: %v", counts)
	if len(counts) != 1 || counts[200] == 0 {
		t.Errorf("answers while Redis went away: %v, want only 200 (local fallback)", counts)
	}

	srv.StartAgain()
	// go-redis stops dialling a Redis it cannot reach and probes it once a second, so a
	// replica is back within about a second; readiness says when.
	restarted := time.Now()
	for i, h := range reps {
		for !strings.Contains(readyz(t, h, http.StatusOK), `"ready"`) {
			if time.Since(restarted) > 5*time.Second {
				t.Fatalf("replica %d still degraded 5 s after Redis restarted", i)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	t.Logf("every replica ready again %s after Redis restarted", time.Since(restarted).Round(time.Millisecond))
	list, err := reps[2].admin.ListAPIs(ctx)
	if err != nil {
		t.Fatalf("list after Redis restarted: %v", err)
	}
	have := map[string]bool{}
	for _, x := range list {
		have[x.ID] = true
		if x.Name == "during" {
			t.Error("the write refused while Redis was down is in the store")
		}
	}
	for _, id := range acked {
		if !have[id] {
			t.Errorf("acknowledged API %s lost across Redis's restart", id)
		}
	}
	b := reps[1].createAPI(adminapi.API{Name: "after", ListenPath: "/after", UpstreamURL: up.URL})
	reps[1].createPolicy(adminapi.Policy{Name: "after", ClientIDs: []string{"app"}, AccessRights: grantAll(b)})
	for i, h := range reps {
		if _, err := h.waitStatus("GET", "/after", tok, http.StatusOK, 2*time.Second); err != nil {
			t.Errorf("replica %d after Redis restarted: %v", i, err)
		}
	}
	deadline := time.Now().Add(3 * time.Second)
	for _, h := range reps {
		for !containsLine(h.metricsText(), "idpgate_store_up 1") {
			if time.Now().After(deadline) {
				t.Fatal("idpgate_store_up still 0 after Redis restarted")
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// TestRedisDownDenyMode: with --redis-limits-fallback=deny, a request a limit applies to is
// refused with 503 while Redis is away, and one without limits still passes.
func TestRedisDownDenyMode(t *testing.T) {
	c := newCluster(t, 1, func(o *Options) { o.LimitsFallback = limits.FallbackDeny })
	srv, fake, up, h := c.srv, c.fake, c.up, c.reps[0]
	a := h.createAPI(adminapi.API{Name: "a", ListenPath: "/a", UpstreamURL: up.URL})
	h.createPolicy(adminapi.Policy{Name: "limited", ClientIDs: []string{"limited"}, AccessRights: grantAll(a),
		RateLimit: &adminapi.Limit{Requests: 1000, Per: adminapi.Duration(time.Minute)}})
	h.createPolicy(adminapi.Policy{Name: "free", ClientIDs: []string{"free"}, AccessRights: grantAll(a)})
	limited := fake.token("limited", token.Identity{ClientID: "limited"})
	free := fake.token("free", token.Identity{ClientID: "free"})
	if s := h.status("GET", "/a", limited); s != http.StatusOK {
		t.Fatalf("with Redis up: %d", s)
	}
	srv.Stop()
	if s := h.status("GET", "/a", limited); s != http.StatusServiceUnavailable {
		t.Errorf("limited request with Redis down in deny mode: %d, want 503", s)
	}
	if s := h.status("GET", "/a", free); s != http.StatusOK {
		t.Errorf("request without limits with Redis down: %d, want 200", s)
	}
	srv.StartAgain()
	if _, err := h.waitStatus("GET", "/a", limited, http.StatusOK, 3*time.Second); err != nil {
		t.Errorf("after Redis is back: %v", err)
	}
}

func readyz(t *testing.T, h *harness, want int) string {
	t.Helper()
	resp, err := http.Get(h.adminSrv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	return string(expect(t, resp, want))
}

// TestDPoPReplayAcrossReplicas: replicas on one Redis share the DPoP replay cache, so a proof
// used at one replica is refused at another (behind a load balancer they share a URL).
func TestDPoPReplayAcrossReplicas(t *testing.T) {
	c := newCluster(t, 2)
	a, b := c.reps[0], c.reps[1]
	api := a.createAPI(adminapi.API{Name: "dpop", ListenPath: "/dpop", UpstreamURL: c.up.URL, SenderConstraint: adminapi.SenderConstraintDPoP})
	a.createPolicy(adminapi.Policy{Name: "p", ClientIDs: []string{"app"}, AccessRights: grantAll(api)})
	client := newDPoPClient(t)
	tok := c.fake.token("bound", token.Identity{ClientID: "app", Confirmation: map[string]any{"jkt": client.jkt()}})
	host := strings.TrimPrefix(a.proxy.URL, "http://")
	target := "http://" + host + "/dpop/x"
	send := func(h *harness, proof string) int {
		// Host: the one URL clients know, as behind a load balancer
		resp := h.getAs("GET", "/dpop/x", host, "Authorization", "DPoP "+tok, "DPoP", proof)
		resp.Body.Close()
		return resp.StatusCode
	}
	if _, err := b.waitStatus("GET", "/dpop/x", "", http.StatusUnauthorized, 5*time.Second); err != nil {
		t.Fatal(err) // b knows the API (no token: 401, not 404)
	}
	proof := client.proof("GET", target, tok, time.Now(), nextJTI())
	if got := send(a, proof); got != http.StatusOK {
		t.Fatalf("a fresh proof at replica A: %d", got)
	}
	if got := send(b, proof); got != http.StatusUnauthorized {
		t.Errorf("the same proof replayed at replica B: %d, want 401", got)
	}
	if got := send(b, client.proof("GET", target, tok, time.Now(), nextJTI())); got != http.StatusOK {
		t.Errorf("a fresh proof at replica B: %d, want 200", got)
	}
}
