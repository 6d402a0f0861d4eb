package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

// configRun is `make bench-config`: the gateway at platform scale. It starts the real
// `idpgate serve` binary (a bbolt store in a temporary directory), fills it through the admin
// API with apis APIs and policies policies, and reports
//
//   - the latency of one admin write (p50, p99) on an empty store and on the full one,
//     measured alike: sampleWrites sequential creates, half APIs, half policies;
//   - the writes per second of `writers` concurrent writers (Terraform's parallelism) beside
//     one writer, on a small store;
//   - the total fill time;
//   - JWT-path throughput with the full configuration against a second gateway (the same
//     binary) that keeps one API and one policy, in alternating rounds, and the same pair
//     before the fill, when both held one API (how far apart two equal gateways measure);
//   - the gateways' resident memory (VmRSS) and Go heap.
type configRun struct {
	idpgate                 string
	apis, policies, writers int
	conns, rounds           int
	warmup, duration        time.Duration
	gw, ref                 *gatewayProc // filled; kept at one API and one policy
	upstream, idpURL        string
	benchAPI                string
	mu                      sync.Mutex
	apiIDs                  []string // the APIs created, which the policies grant in turn
}

// sampleWrites is how many sequential writes each latency sample takes.
const sampleWrites = 200

func driveConfig(c *configRun) error {
	if c.apis <= sampleWrites || c.policies <= sampleWrites {
		return fmt.Errorf("-apis and -policies must be more than %d (the bench API and policy and two samples)", sampleWrites)
	}
	body := []byte(`{"id":1,"name":"widget","price":42}` + "\n")
	c.upstream = listen(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	key, jwks, err := signingKey()
	if err != nil {
		return err
	}
	c.idpURL = listen(jwks)
	token, err := mint(key, c.idpURL)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "idpgate-bench-config-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }() // a temporary directory; nothing to do if it stays
	if c.ref, _, err = c.benchGateway(dir); err != nil {
		return err
	}
	defer c.ref.stop()
	if c.gw, c.benchAPI, err = c.benchGateway(dir); err != nil {
		return err
	}
	defer c.gw.stop()
	c.apiIDs = []string{c.benchAPI}
	fmt.Printf("config bench: idpgate serve (%s, bbolt), %d APIs and %d policies through the admin API, %d concurrent writers; "+
		"load: %d connections, %s per round after %s warm-up, %d rounds (medians)\n",
		c.idpgate, c.apis, c.policies, c.writers, c.conns, c.duration, c.warmup, c.rounds)

	before, beforeRef := c.throughput(token)

	fillStart := time.Now()
	apis, pols := 1, 1 // the bench API and policy
	startLat, err := c.sample(&apis, &pols)
	if err != nil {
		return err
	}
	oneWriter := float64(len(startLat)) / sum(startLat).Seconds()
	burst := min(c.policies-pols-sampleWrites/2, 40*c.writers)
	t0 := time.Now()
	if err := c.fill(0, burst, &apis, &pols); err != nil {
		return err
	}
	concurrent := float64(burst) / time.Since(t0).Seconds()
	if err := c.fill(c.apis-apis-sampleWrites/2, c.policies-pols-sampleWrites/2, &apis, &pols); err != nil {
		return err
	}
	endLat, err := c.sample(&apis, &pols)
	if err != nil {
		return err
	}
	fillTime := time.Since(fillStart)

	after, afterRef := c.throughput(token)
	memAfter, memRef := c.gw.memory(), c.ref.memory()

	s, e := percentiles(startLat), percentiles(endLat)
	fmt.Printf("%-34s %9s %9s\n", "admin write (sequential creates)", "p50", "p99")
	fmt.Printf("%-34s %9s %9s\n", "  empty store", s[0].Round(time.Microsecond), s[1].Round(time.Microsecond))
	fmt.Printf("%-34s %9s %9s\n", fmt.Sprintf("  %d APIs + %d policies", apis, pols), e[0].Round(time.Microsecond), e[1].Round(time.Microsecond))
	ratio := float64(e[0]) / float64(s[0])
	fmt.Printf("write p50 full/empty: %.2fx (target <= 2x) %s; p99 %.2fx\n", ratio, verdict(ratio <= 2), float64(e[1])/float64(s[1]))
	fmt.Printf("writes/s, small store: 1 writer %.0f, %d writers %.0f (%.2fx)\n", oneWriter, c.writers, concurrent, concurrent/oneWriter)
	fmt.Printf("fill: %d APIs + %d policies in %s (target < 60s) %s, %.0f writes/s\n",
		apis, pols, fillTime.Round(10*time.Millisecond), verdict(fillTime < time.Minute), float64(apis+pols)/fillTime.Seconds())
	fmt.Printf("%-34s %10s %9s %9s %8s\n", "JWT path", "req/s", "p50", "p99", "errors")
	row := func(name string, r result) {
		fmt.Printf("%-34s %10.0f %9s %9s %8d\n", name, r.rps, r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond), r.errors)
	}
	row("  before the fill: gateway, 1 API", before)
	row("  before the fill: reference, 1 API", beforeRef)
	row(fmt.Sprintf("  gateway, %d APIs + %d policies", apis, pols), after)
	row("  reference, 1 API + 1 policy", afterRef)
	tr := after.rps / afterRef.rps
	fmt.Printf("throughput full/one-API: %.2f (target >= 0.9) %s; before the fill, the two measured %.2f apart\n",
		tr, verdict(tr >= 0.9), before.rps/beforeRef.rps)
	fmt.Printf("memory: 1 API + 1 policy: RSS %.1f MiB, Go heap %.1f MiB; %d APIs + %d policies: RSS %.1f MiB, Go heap %.1f MiB (%.1f KiB of heap per object)\n",
		memRef.rss, memRef.heap, apis, pols, memAfter.rss, memAfter.heap, (memAfter.heap-memRef.heap)*1024/float64(apis+pols))
	if before.errors+after.errors+beforeRef.errors+afterRef.errors > 0 {
		return errors.New("some requests failed")
	}
	return nil
}

func (c *configRun) apiSpec(name, path string) adminapi.API {
	return adminapi.API{Name: name, ListenPath: path, UpstreamURL: c.upstream, StripListenPath: true,
		JWT:           &adminapi.JWTValidation{Issuer: c.idpURL, JWKSURI: c.idpURL + "/jwks", Audiences: []string{"bench-api"}, RequiredScopes: []string{"items:read"}},
		ForwardClaims: map[string]string{"X-Tenant": "tenant"}}
}

// policySpec is a realistic policy: one client, one API, methods, paths, a rate limit.
func (c *configRun) policySpec(name, client, apiID string) adminapi.Policy {
	return adminapi.Policy{Name: name, ClientIDs: []string{client},
		AccessRights: []adminapi.AccessRight{{APIID: apiID, Methods: []string{"GET"}, Paths: []string{"/items/*"}, RequiredScopes: []string{"items:read"}}},
		RateLimit:    &adminapi.Limit{Requests: 10_000_000, Per: adminapi.Duration(time.Second)}}
}

// createAPI and createPolicy create the n-th fill object; policies grant the APIs in turn.
func (c *configRun) createAPI(ctx context.Context, n int) error {
	api, err := c.gw.admin.CreateAPI(ctx, c.apiSpec("svc-"+strconv.Itoa(n), "/svc-"+strconv.Itoa(n)))
	if err == nil {
		c.mu.Lock()
		c.apiIDs = append(c.apiIDs, api.ID)
		c.mu.Unlock()
	}
	return err
}

func (c *configRun) createPolicy(ctx context.Context, n int) error {
	c.mu.Lock()
	apiID := c.apiIDs[n%len(c.apiIDs)]
	c.mu.Unlock()
	_, err := c.gw.admin.CreatePolicy(ctx, c.policySpec("pol-"+strconv.Itoa(n), "client-"+strconv.Itoa(n), apiID))
	return err
}

// sample makes sampleWrites sequential creates (half APIs, half policies) and returns each
// one's latency.
func (c *configRun) sample(apis, pols *int) ([]time.Duration, error) {
	ctx := context.Background()
	var lat []time.Duration
	for range sampleWrites / 2 {
		t0 := time.Now()
		if err := c.createAPI(ctx, *apis); err != nil {
			return nil, err
		}
		lat = append(lat, time.Since(t0))
		*apis++
		t0 = time.Now()
		if err := c.createPolicy(ctx, *pols); err != nil {
			return nil, err
		}
		lat = append(lat, time.Since(t0))
		*pols++
	}
	return lat, nil
}

// fill creates nAPIs APIs, then nPolicies policies, with c.writers concurrent writers.
func (c *configRun) fill(nAPIs, nPolicies int, apis, pols *int) error {
	for _, job := range []struct {
		n      int
		next   *int
		create func(context.Context, int) error
	}{{nAPIs, apis, c.createAPI}, {nPolicies, pols, c.createPolicy}} {
		var next atomic.Int64
		next.Store(int64(*job.next))
		last := int64(*job.next + job.n)
		var wg sync.WaitGroup
		errs := make([]error, c.writers)
		for w := range c.writers {
			wg.Go(func() {
				for i := next.Add(1) - 1; i < last; i = next.Add(1) - 1 {
					if err := job.create(context.Background(), int(i)); err != nil {
						errs[w] = err
						return
					}
				}
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return err
		}
		*job.next += job.n
	}
	return nil
}

// throughput measures the JWT path of the filled gateway and of the reference in
// alternating rounds (the machine's load drifts) and returns their medians.
func (c *configRun) throughput(token string) (gw, ref result) {
	var gws, refs []result
	for range max(1, c.rounds) {
		gws = append(gws, load(c.gw.proxy+"/bench/items/1", token, nil, c.conns, c.warmup, c.duration, 0))
		refs = append(refs, load(c.ref.proxy+"/bench/items/1", token, nil, c.conns, c.warmup, c.duration, 0))
	}
	return median(gws), median(refs)
}

// gatewayProc is one `idpgate serve` process.
type gatewayProc struct {
	pid             int
	proxy, adminURL string
	admin           *adminapi.Client
	stop            func()
}

type memFigures struct{ rss, heap float64 } // MiB

// memory reads the gateway's VmRSS from /proc and its Go heap in use from /metrics.
func (g *gatewayProc) memory() memFigures {
	var m memFigures
	if raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", g.pid)); err == nil {
		for line := range strings.SplitSeq(string(raw), "\n") {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
				m.rss = kb / 1024
			}
		}
	}
	if resp, err := http.Get(g.adminURL + "/metrics"); err == nil {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "go_memstats_heap_inuse_bytes "); ok {
				b, _ := strconv.ParseFloat(v, 64)
				m.heap = b / (1 << 20)
			}
		}
		resp.Body.Close()
	}
	return m
}

// benchGateway starts a gateway with the bench API and its policy, and returns the API's id.
func (c *configRun) benchGateway(dir string) (*gatewayProc, string, error) {
	g, err := c.startGateway(dir)
	if err != nil {
		return nil, "", err
	}
	ctx := context.Background()
	api, err := g.admin.CreateAPI(ctx, c.apiSpec("bench", "/bench"))
	if err == nil {
		_, err = g.admin.CreatePolicy(ctx, c.policySpec("bench", clientID, api.ID))
	}
	if err != nil {
		g.stop()
		return nil, "", err
	}
	return g, api.ID, nil
}

// startGateway runs `idpgate serve` on free loopback ports with its store in a new
// directory under dir, and returns once it is ready.
func (c *configRun) startGateway(dir string) (*gatewayProc, error) {
	proxyAddr, adminAddr := freeAddr(), freeAddr()
	dir, err := os.MkdirTemp(dir, "gateway-")
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(dir, "idpgate.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(c.idpgate, "serve", "-listen", proxyAddr, "-admin-listen", adminAddr,
		"-data-dir", filepath.Join(dir, "data"), "-access-log", "off")
	cmd.Env = append(os.Environ(), "IDPGATE_ADMIN_TOKEN="+adminToken)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s (build it with: go build -o bin/idpgate ./cmd/idpgate): %w", c.idpgate, err)
	}
	g := &gatewayProc{pid: cmd.Process.Pid, proxy: "http://" + proxyAddr, adminURL: "http://" + adminAddr}
	g.stop = func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		_ = logFile.Close()
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 2 * c.writers}
	g.admin, _ = adminapi.NewClient(g.adminURL, adminToken, &http.Client{Transport: tr, Timeout: 30 * time.Second})
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(g.adminURL + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return g, nil
			}
		}
	}
	g.stop()
	log, _ := os.ReadFile(logFile.Name())
	return nil, fmt.Errorf("idpgate serve was not ready within 10s; its log:\n%s", log)
}

// freeAddr is a loopback address nothing listens on right now.
func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // only its port was wanted
	return addr
}

func sum(ds []time.Duration) time.Duration {
	var t time.Duration
	for _, d := range ds {
		t += d
	}
	return t
}

// percentiles returns p50 and p99.
func percentiles(ds []time.Duration) [2]time.Duration {
	s := slices.Sorted(slices.Values(ds))
	return [2]time.Duration{s[len(s)*50/100], s[len(s)*99/100]}
}
