// Command loadtest is `make bench` (and, with -config, `make bench-config`: config.go): one run on loopback that measures, with the same load,
//
//	upstream   a small fixed response, alone
//	bare       a bare httputil.ReverseProxy in front of it
//	gw-jwt     the gateway with a valid RS256 token (JWKS from a local server)
//	gw-intro   the gateway with an opaque token checked by RFC 7662 introspection (cached)
//	gw-jwt-cel gw-jwt on an API whose access right has two CEL conditions (the tenant claim
//	           against an X-Tenant header, the client address in a CIDR), the header sent
//	gw-preflight  a CORS preflight to an API with cors, answered by the gateway itself (204)
//	gw-jwt-log the same with the access log on, written to a file
//	gw-jwt-trace, gw-jwt-trace1  gw-jwt with OpenTelemetry tracing on (-tracing), every
//	           request sampled / 1% of them (parentbased_traceidratio 0.01), spans exported
//	           over OTLP/HTTP to a sink in the server process that reads and discards them;
//	           gw-jwt is the same gateway with tracing off (the default)
//	gw-jwt-redis  gw-jwt on a gateway whose store and limits are in Redis (a redis-server
//	           this starts on loopback, append-only file fsynced every second): one Lua
//	           round trip per request for the rate limit and quota
//	nginx      nginx (Debian's package) in front of the upstream, alone
//	nginx-allow   the documented auth_request configuration asking a Go handler that allows
//	           everything without a look (the identity headers fixed): the floor of asking at all
//	nginx-decide  the same nginx asking the gateway's decision endpoint about every request
//	           (the documented auth_request configuration, internal/edgeproxy)
//
// and prints requests/s, p50 and p99 for each and the gateway/bare-proxy ratios. The servers
// run in a child process (this binary re-executed with -serve) so that the load generator's
// own CPU and GC do not share a heap with what it measures. Not shipped.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/edgeproxy"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/tracing"
)

// preflight makes gw-preflight's request a browser's CORS preflight.
func preflight(r *http.Request) {
	r.Method = http.MethodOptions
	r.Header["Origin"] = []string{"https://app.example.com"}
	r.Header["Access-Control-Request-Method"] = []string{"PUT"}
	r.Header["Access-Control-Request-Headers"] = []string{"authorization, content-type"}
}

// tenantHeader is what gw-jwt-cel sends: the token's tenant claim, which its condition compares.
var tenantHeader = []string{"acme"}

const (
	clientID   = "bench-client"
	opaqueTok  = "opaque-bench-token-0123456789abcdef"
	adminToken = "bench-admin-token-0123456789abcdef"
)

func main() {
	serveMode := flag.Bool("serve", false, "internal: run the servers and print their addresses")
	duration := flag.Duration("duration", 5*time.Second, "measured time per target")
	warmup := flag.Duration("warmup", time.Second, "unmeasured warm-up per target")
	conns := flag.Int("connections", 32, "concurrent keep-alive connections")
	only := flag.String("only", "", "comma-separated targets to run (default: all), e.g. gw-jwt,gw-dpop")
	rounds := flag.Int("rounds", 3, "rounds over all targets, interleaved; the medians are reported (shared machines are noisy)")
	cpuprofile := flag.String("cpuprofile", "", "with -serve: write a CPU profile of the servers here")
	config := flag.Bool("config", false, "run the configuration-scale bench (config.go) instead")
	idpgate := flag.String("idpgate", "bin/idpgate", "with -config: the idpgate binary to run")
	apis := flag.Int("apis", 1000, "with -config: APIs to fill")
	policies := flag.Int("policies", 10000, "with -config: policies to fill")
	writers := flag.Int("writers", 10, "with -config: concurrent admin writers (Terraform's default parallelism)")
	flag.Parse()
	if *config {
		err := driveConfig(&configRun{idpgate: *idpgate, apis: *apis, policies: *policies, writers: *writers,
			conns: *conns, rounds: *rounds, warmup: *warmup, duration: *duration})
		if err != nil {
			fmt.Fprintln(os.Stderr, "config bench:", err)
			os.Exit(1)
		}
		return
	}
	if *serveMode {
		if err := serveAll(*cpuprofile); err != nil {
			fmt.Fprintln(os.Stderr, "loadtest servers:", err)
			os.Exit(1)
		}
		return
	}
	if err := drive(*duration, *warmup, *conns, *rounds, *only, *cpuprofile); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

// targets is what the server process announces on stdout, one JSON line.
type targets struct {
	Upstream, Bare, BareTuned, GatewayJWT, GatewayIntro string
	GatewayJWTLogged, GatewayJWTRedis, GatewayJWTCEL    string
	GatewayPreflight                                    string
	GatewayJWTTraced, GatewayJWTTraced1                 string
	// GatewayDPoP is an API with sender_constraint dpop; DPoPToken is bound to the key
	// DPoPKey (PKCS #8, base64), which the driver signs each request's proof with.
	GatewayDPoP, DPoPToken, DPoPKey string
	Nginx, NginxAllow, NginxDecide  string
	Token                           string
}

func drive(duration, warmup time.Duration, conns, rounds int, only, cpuprofile string) error {
	args := []string{"-serve"}
	if cpuprofile != "" {
		args = append(args, "-cpuprofile", cpuprofile)
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = stdin.Close(); _ = cmd.Wait() }() // closing stdin stops the servers
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return fmt.Errorf("server process: %w", err)
	}
	var t targets
	if err := json.Unmarshal([]byte(line), &t); err != nil {
		return fmt.Errorf("server process said %q: %w", line, err)
	}

	fmt.Printf("load: %d keep-alive connections, %s per target after %s warm-up, %d interleaved rounds (medians), GOMAXPROCS=%d, %d CPUs\n",
		conns, duration, warmup, rounds, runtime.GOMAXPROCS(0), runtime.NumCPU())
	// Every target gets the same request, the JWT included (the bare proxies forward it as
	// the gateway does), so the ratios compare the work done, not the bytes sent.
	dpop, err := newDPoPSigner(t.DPoPKey, t.DPoPToken)
	if err != nil {
		return err
	}
	type run struct {
		name, url, token string
		prepare          func(*http.Request)
	}
	runs := []run{
		{"upstream", t.Upstream + "/items/1", t.Token, nil},
		{"bare-proxy", t.Bare + "/items/1", t.Token, nil},
		{"bare-tuned", t.BareTuned + "/items/1", t.Token, nil},
		{"gw-jwt", t.GatewayJWT + "/items/1", t.Token, nil},
		{"gw-jwt-cel", t.GatewayJWTCEL + "/items/1", t.Token, func(r *http.Request) { r.Header["X-Tenant"] = tenantHeader }}, // next to gw-jwt
		{"gw-preflight", t.GatewayPreflight + "/items/1", "", preflight},
		{"gw-jwt-trace", t.GatewayJWTTraced + "/items/1", t.Token, nil}, // next to gw-jwt: the machine's load drifts
		{"gw-jwt-trace1", t.GatewayJWTTraced1 + "/items/1", t.Token, nil},
		{"gw-jwt-redis", t.GatewayJWTRedis + "/items/1", t.Token, nil}, // next to gw-jwt: the machine's load drifts
		{"gw-intro", t.GatewayIntro + "/items/1", opaqueTok, nil},
		{"gw-jwt-log", t.GatewayJWTLogged + "/items/1", t.Token, nil},
		{"gw-dpop", t.GatewayDPoP + "/items/1", "", dpop.prepare},
		{"nginx", t.Nginx + "/jwt/items/1", t.Token, nil},
		{"nginx-allow", t.NginxAllow + "/jwt/items/1", t.Token, nil},
		{"nginx-decide", t.NginxDecide + "/jwt/items/1", t.Token, nil},
	}
	if only != "" {
		keep := strings.Split(only, ",")
		runs = slices.DeleteFunc(runs, func(r run) bool { return !slices.Contains(keep, r.name) })
	}
	perRound := map[string][]result{}
	inlineProofs := int64(0)
	for i := 0; i < max(1, rounds); i++ {
		for _, r := range runs {
			if r.name == "gw-dpop" {
				// Enough proofs for the gw-jwt rate of this round (DPoP is slower), and a floor.
				n := 20000
				if jwt := perRound["gw-jwt"]; len(jwt) > 0 {
					n = max(n, int(jwt[len(jwt)-1].rps*(warmup+duration).Seconds()*1.25))
				}
				dpop.presign(n, r.url)
			}
			perRound[r.name] = append(perRound[r.name], load(r.url, r.token, r.prepare, conns, warmup, duration, cmd.Process.Pid))
			if r.name == "gw-dpop" {
				inlineProofs += dpop.inline.Load()
			}
		}
	}
	results := map[string]result{}
	fmt.Printf("%-13s %10s %9s %9s %8s %9s   %s\n", "target", "req/s", "p50", "p99", "errors", "cpu/req", "req/s per round")
	for _, r := range runs {
		res := median(perRound[r.name])
		results[r.name] = res
		var each []string
		for _, x := range perRound[r.name] {
			each = append(each, fmt.Sprintf("%.0f", x.rps))
		}
		fmt.Printf("%-13s %10.0f %9s %9s %8d %9s   %s\n", r.name, res.rps, res.p50.Round(time.Microsecond),
			res.p99.Round(time.Microsecond), res.errors, res.cpu.Round(100*time.Nanosecond), strings.Join(each, " "))
	}
	// have says whether every named target ran (-only may leave some out).
	have := func(names ...string) bool {
		for _, n := range names {
			if _, ok := results[n]; !ok {
				return false
			}
		}
		return true
	}
	for _, base := range []string{"bare-proxy", "bare-tuned"} {
		for _, name := range []string{"gw-jwt", "gw-intro"} {
			if !have(base, name) {
				continue
			}
			bare, g := results[base], results[name]
			tr, lr := g.rps/bare.rps, float64(g.p99)/float64(bare.p99)
			fmt.Printf("%-9s / %s: throughput %.2f (target >= 0.85) %s, p99 %.2fx (target <= 1.25x) %s\n",
				name, base, tr, verdict(tr >= 0.85), lr, verdict(lr <= 1.25))
		}
	}
	if have("gw-jwt", "gw-jwt-cel") {
		plain, cel := results["gw-jwt"], results["gw-jwt-cel"]
		ct := cel.rps / plain.rps
		fmt.Printf("gw-jwt-cel / gw-jwt (two conditions vs none): throughput %.3f (target >= 0.95) %s, p99 %.2fx\n",
			ct, verdict(ct >= 0.95), float64(cel.p99)/float64(plain.p99))
	}
	if have("gw-jwt", "gw-preflight") {
		plain, pre := results["gw-jwt"], results["gw-preflight"]
		pt := pre.rps / plain.rps
		fmt.Printf("gw-preflight / gw-jwt (a preflight vs a proxied request): throughput %.2f (target >= 1.0) %s, p99 %.2fx\n",
			pt, verdict(pt >= 1), float64(pre.p99)/float64(plain.p99))
	}
	if have("gw-jwt", "gw-jwt-redis") {
		mem, red := results["gw-jwt"], results["gw-jwt-redis"]
		rt, rl := red.rps/mem.rps, float64(red.p99)/float64(mem.p99)
		fmt.Printf("gw-jwt-redis / gw-jwt (limits in Redis vs in memory): throughput %.2f (target >= 0.8) %s, p99 %.2fx (target <= 1.5x) %s\n",
			rt, verdict(rt >= 0.8), rl, verdict(rl <= 1.5))
	}
	if have("gw-jwt", "gw-dpop") {
		dp, bearer := results["gw-dpop"], results["gw-jwt"]
		cost := bearer.rps / dp.rps
		fmt.Printf("gw-dpop / gw-jwt: cost per request %.2fx (target <= 1.30) %s, p99 %.2fx (ES256 proofs signed before the run; %d signed during it)\n",
			cost, verdict(cost <= 1.3), float64(dp.p99)/float64(bearer.p99), inlineProofs)
	}
	if have("gw-jwt", "gw-jwt-log") {
		on, off := results["gw-jwt-log"], results["gw-jwt"]
		lt := on.rps / off.rps
		fmt.Printf("gw-jwt-log / gw-jwt: throughput %.2f (target >= 0.95) %s, p99 %.2fx\n", lt, verdict(lt >= 0.95), float64(on.p99)/float64(off.p99))
	}
	for _, tr := range []struct {
		name, what string
		target     float64
	}{{"gw-jwt-trace", "tracing on, every request sampled", 0.85}, {"gw-jwt-trace1", "tracing on, 1% sampled", 0.95}} {
		if !have("gw-jwt", tr.name) {
			continue
		}
		on, off := results[tr.name], results["gw-jwt"]
		r := on.rps / off.rps
		fmt.Printf("%s / gw-jwt (%s vs off): throughput %.2f (target >= %.2f) %s, p99 %.2fx, server CPU per request %.2fx\n",
			tr.name, tr.what, r, tr.target, verdict(r >= tr.target), float64(on.p99)/float64(off.p99), float64(on.cpu)/float64(off.cpu))
	}
	if have("nginx", "nginx-decide") {
		n, d := results["nginx"], results["nginx-decide"]
		tr := d.rps / n.rps
		fmt.Printf("nginx-decide / nginx: throughput %.2f (target >= 0.50) %s, p99 %.2fx\n", tr, verdict(tr >= 0.5), float64(d.p99)/float64(n.p99))
	}
	if have("nginx", "nginx-allow", "nginx-decide") {
		n, a, d := results["nginx"], results["nginx-allow"], results["nginx-decide"]
		fmt.Printf("nginx-allow / nginx: throughput %.2f (the floor: a second request per request), nginx-decide / nginx-allow: %.2f (the gateway's checks)\n",
			a.rps/n.rps, d.rps/a.rps)
	}
	return nil
}

func verdict(ok bool) string {
	if ok {
		return "ok"
	}
	return "MISSED"
}

// median takes each figure's median over the rounds; errors are summed.
func median(rs []result) result {
	pick := func(f func(result) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	out := result{
		rps: pick(func(r result) float64 { return r.rps }),
		p50: time.Duration(pick(func(r result) float64 { return float64(r.p50) })),
		p99: time.Duration(pick(func(r result) float64 { return float64(r.p99) })),
		cpu: time.Duration(pick(func(r result) float64 { return float64(r.cpu) })),
	}
	for _, r := range rs {
		out.errors += r.errors
	}
	return out
}

type result struct {
	rps      float64
	p50, p99 time.Duration
	errors   int
	// cpu is the server process's CPU time (user + system) per measured request; zero where
	// /proc cannot tell. On a shared machine it varies far less than req/s.
	cpu time.Duration
}

// processCPU is the CPU time pid has used so far (Linux /proc; ok false elsewhere).
func processCPU(pid int) (time.Duration, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	const ticksPerSecond = 100 // USER_HZ, 100 on every Linux this runs on
	return time.Duration(utime+stime) * time.Second / ticksPerSecond, true
}

// load runs conns workers, each on its own keep-alive connection, for warmup+duration and
// reports the measured part.
// prepare, when set, is called on the request before each send (a fresh DPoP proof); the
// latency measured starts after it.
func load(target, token string, prepare func(*http.Request), conns int, warmup, duration time.Duration, serverPID int) result {
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	start := time.Now()
	measureFrom, end := start.Add(warmup), start.Add(warmup+duration)
	lat := make([][]time.Duration, conns)
	errs := make([]int, conns)
	var wg sync.WaitGroup
	cpuStart := make(chan time.Duration, 1)
	go func() {
		time.Sleep(time.Until(measureFrom))
		c, _ := processCPU(serverPID)
		cpuStart <- c
	}()
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("GET", target, nil)
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			samples := make([]time.Duration, 0, 1<<16)
			for {
				if prepare != nil {
					prepare(req)
				}
				t0 := time.Now()
				if t0.After(end) {
					break
				}
				resp, err := client.Do(req)
				ok := err == nil && (resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusNoContent)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if t0.Before(measureFrom) {
					continue
				}
				if !ok {
					errs[w]++
					continue
				}
				samples = append(samples, time.Since(t0))
			}
			lat[w] = samples
		}()
	}
	wg.Wait()
	cpuEnd, cpuOK := processCPU(serverPID)
	cpuUsed := cpuEnd - <-cpuStart
	var all []time.Duration
	res := result{}
	for w := range lat {
		all = append(all, lat[w]...)
		res.errors += errs[w]
	}
	if len(all) == 0 {
		return res
	}
	slices.Sort(all)
	res.rps = float64(len(all)) / duration.Seconds()
	if cpuOK {
		res.cpu = cpuUsed / time.Duration(len(all))
	}
	res.p50 = all[len(all)*50/100]
	res.p99 = all[len(all)*99/100]
	return res
}

// --- the server process ---

func serveAll(cpuprofile string) error {
	if cpuprofile != "" {
		stop, err := startCPUProfile(cpuprofile)
		if err != nil {
			return err
		}
		defer stop()
	}
	body := []byte(`{"id":1,"name":"widget","price":42}` + "\n")
	upstream := listen(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	upURL, _ := url.Parse(upstream)
	// bare-proxy is httputil.ReverseProxy as most code uses it; bare-tuned adds what the
	// gateway's own proxy has (a buffer pool), so its ratio isolates the gateway's checks.
	bareTransport := &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 256, IdleConnTimeout: 90 * time.Second}
	rewrite := func(pr *httputil.ProxyRequest) { pr.SetURL(upURL); pr.SetXForwarded() }
	bare := listen(&httputil.ReverseProxy{Rewrite: rewrite, Transport: bareTransport})
	bareTuned := listen(&httputil.ReverseProxy{Rewrite: rewrite, Transport: bareTransport.Clone(), BufferPool: &bufferPool{}})

	// The IdP: a JWKS with one RSA key and an introspection endpoint.
	key, jwks, err := signingKey()
	if err != nil {
		return err
	}
	var idpURL string
	idp := http.NewServeMux()
	idp.Handle("/jwks", jwks)
	idp.HandleFunc("/introspect", func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		active := ok && user == "gateway" && pass == "gateway-secret" && r.PostFormValue("token") == opaqueTok
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"active": active, "sub": "bench-user", "client_id": clientID,
			"scope": "items:read", "iss": idpURL, "exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()})
	})
	idpURL = listen(idp)
	token, err := mint(key, idpURL)
	if err != nil {
		return err
	}

	dir, err := os.MkdirTemp("", "idpgate-bench-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }() // a temporary directory; nothing to do if it stays
	proxy, err := benchGateway(gateway.Options{DataDir: filepath.Join(dir, "gw")}, upstream, idpURL)
	if err != nil {
		return err
	}
	redisURL, stopRedis, err := startRedis(dir)
	if err != nil {
		return err
	}
	defer stopRedis()
	redisProxy, err := benchGateway(gateway.Options{RedisURL: redisURL}, upstream, idpURL)
	if err != nil {
		return err
	}
	// The same gateway with its access log on, written to a file as in production.
	accessLog, err := os.Create(filepath.Join(dir, "access.log"))
	if err != nil {
		return err
	}
	defer func() { _ = accessLog.Close() }()
	proxyLogged, err := benchGateway(gateway.Options{DataDir: filepath.Join(dir, "gw-logged"), AccessLog: accessLog}, upstream, idpURL)
	if err != nil {
		return err
	}

	// The same gateway with tracing on, exporting to an OTLP/HTTP sink: every request
	// sampled, and 1% of them.
	sink := listen(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	var traced [2]string
	for i, sampler := range []sdktrace.Sampler{sdktrace.AlwaysSample(), sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.01))} {
		exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(sink+"/v1/traces"))
		if err != nil {
			return err
		}
		tp, err := tracing.New(context.Background(), tracing.Options{Exporter: exp, Sampler: sampler})
		if err != nil {
			return err
		}
		if traced[i], err = benchGateway(gateway.Options{DataDir: filepath.Join(dir, fmt.Sprintf("gw-traced-%d", i)), Tracing: tp}, upstream, idpURL); err != nil {
			return err
		}
	}

	// A decision endpoint that allows everything without a look, with the headers the
	// gateway's answers for the bench API (identity, forward_claims, limits): what asking at
	// all costs nginx, whatever the decision costs.
	allow := listen(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set(adminapi.HeaderSubject, "bench-user")
		h.Set(adminapi.HeaderClientID, clientID)
		h.Set(adminapi.HeaderScope, "items:read")
		h.Set(adminapi.HeaderPolicy, "bench")
		h.Set("X-Tenant", "acme")
		h.Set("X-Ratelimit-Limit", "10000000")
		h.Set("X-Ratelimit-Remaining", "9999999")
		h.Set("X-Ratelimit-Reset", "1")
		h.Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
	}))

	// nginx, alone, asking the allow-all endpoint and asking the gateway, all proxying to the
	// same upstream; a worker per core each.
	var nginx [3]*edgeproxy.Server
	for i, run := range []struct {
		start   func(edgeproxy.Config) (*edgeproxy.Server, error)
		decider string
	}{{edgeproxy.StartNginxPassThrough, proxy}, {edgeproxy.StartNginx, allow}, {edgeproxy.StartNginx, proxy}} {
		edge := edgeproxy.Config{Idpgate: strings.TrimPrefix(run.decider, "http://"), Upstream: upURL.Host, Host: "127.0.0.1"}
		if edge.Dir, err = os.MkdirTemp(dir, "nginx-"); err != nil {
			return err
		}
		if nginx[i], err = run.start(edge); err != nil {
			return err
		}
		defer nginx[i].Stop()
	}

	dpopKey, dpopToken, err := dpopClient(key, idpURL)
	if err != nil {
		return err
	}
	out, _ := json.Marshal(targets{Upstream: upstream, Bare: bare, BareTuned: bareTuned, GatewayJWT: proxy + "/jwt", GatewayIntro: proxy + "/intro",
		GatewayJWTCEL: proxy + "/jwt-cel", GatewayPreflight: proxy + "/spa",
		GatewayJWTLogged: proxyLogged + "/jwt", GatewayJWTRedis: redisProxy + "/jwt",
		GatewayJWTTraced: traced[0] + "/jwt", GatewayJWTTraced1: traced[1] + "/jwt", GatewayDPoP: proxy + "/dpop", DPoPToken: dpopToken, DPoPKey: dpopKey,
		Nginx: nginx[0].URL, NginxAllow: nginx[1].URL, NginxDecide: nginx[2].URL, Token: token})
	fmt.Println(string(out))
	_, _ = io.Copy(io.Discard, os.Stdin) // run until the driver closes stdin
	return nil
}

// benchGateway starts a gateway on opts' store with the bench APIs and policy and returns its
// proxy listener's URL. It runs until the process ends.
func benchGateway(opts gateway.Options, upstream, idpURL string) (string, error) {
	opts.AdminToken = adminToken
	opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	gw, err := gateway.New(opts)
	if err != nil {
		return "", err
	}
	// Not closed: the servers live until the process ends.
	admin, _ := adminapi.NewClient(listen(gw.AdminHandler()), adminToken, nil)
	proxy := listen(gw.ProxyHandler())
	ctx := context.Background()
	jwtAPI, err := admin.CreateAPI(ctx, adminapi.API{Name: "bench-jwt", ListenPath: "/jwt", UpstreamURL: upstream, StripListenPath: true,
		JWT:           &adminapi.JWTValidation{Issuer: idpURL, JWKSURI: idpURL + "/jwks", Audiences: []string{"bench-api"}, RequiredScopes: []string{"items:read"}},
		ForwardClaims: map[string]string{"X-Tenant": "tenant"}})
	if err != nil {
		return "", err
	}
	introAPI, err := admin.CreateAPI(ctx, adminapi.API{Name: "bench-intro", ListenPath: "/intro", UpstreamURL: upstream, StripListenPath: true,
		Introspection: &adminapi.Introspection{Endpoint: idpURL + "/introspect", ClientID: "gateway", ClientSecret: "gateway-secret"}})
	if err != nil {
		return "", err
	}
	celAPI, err := admin.CreateAPI(ctx, adminapi.API{Name: "bench-jwt-cel", ListenPath: "/jwt-cel", UpstreamURL: upstream, StripListenPath: true,
		JWT:           &adminapi.JWTValidation{Issuer: idpURL, JWKSURI: idpURL + "/jwks", Audiences: []string{"bench-api"}, RequiredScopes: []string{"items:read"}},
		ForwardClaims: map[string]string{"X-Tenant": "tenant"}})
	if err != nil {
		return "", err
	}
	if _, err := admin.CreateAPI(ctx, adminapi.API{Name: "bench-spa", ListenPath: "/spa", UpstreamURL: upstream, StripListenPath: true,
		JWT:  &adminapi.JWTValidation{Issuer: idpURL, JWKSURI: idpURL + "/jwks", Audiences: []string{"bench-api"}},
		CORS: &adminapi.CORS{AllowedOrigins: []string{"https://app.example.com"}, AllowedHeaders: []string{"Content-Type"}}}); err != nil {
		return "", err
	}
	dpopAPI, err := admin.CreateAPI(ctx, adminapi.API{Name: "bench-dpop", ListenPath: "/dpop", UpstreamURL: upstream, StripListenPath: true,
		SenderConstraint: adminapi.SenderConstraintDPoP,
		JWT:              &adminapi.JWTValidation{Issuer: idpURL, JWKSURI: idpURL + "/jwks", Audiences: []string{"bench-api"}, RequiredScopes: []string{"items:read"}}})
	if err != nil {
		return "", err
	}
	// A realistic policy: paths, methods, a rate limit and a quota far above the load.
	_, err = admin.CreatePolicy(ctx, adminapi.Policy{Name: "bench", ClientIDs: []string{clientID},
		AccessRights: []adminapi.AccessRight{
			{APIID: jwtAPI.ID, Methods: []string{"GET"}, Paths: []string{"/items/*"}, RequiredScopes: []string{"items:read"}},
			// gw-jwt's grant with two conditions: the difference is what they cost.
			{APIID: celAPI.ID, Methods: []string{"GET"}, Paths: []string{"/items/*"}, RequiredScopes: []string{"items:read"},
				Conditions: []string{`claims.tenant == request.headers["x-tenant"]`, `cidr("127.0.0.0/8").containsIP(request.remote_ip)`}},
			{APIID: introAPI.ID, Methods: []string{"GET"}, Paths: []string{"/items/**"}},
			{APIID: dpopAPI.ID, Methods: []string{"GET"}, Paths: []string{"/items/*"}, RequiredScopes: []string{"items:read"}},
		},
		RateLimit: &adminapi.Limit{Requests: 10_000_000, Per: adminapi.Duration(time.Second)},
		Quota:     &adminapi.Limit{Requests: 1_000_000_000, Per: adminapi.Duration(time.Hour)}})
	if err != nil {
		return "", err
	}

	return proxy, nil
}

func listen(h http.Handler) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String()
}

// signingKey is the bench IdP's RSA key and a handler that serves it as a JWKS (one key, k1).
func signingKey() (*rsa.PrivateKey, http.Handler, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	return key, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(jwks)
	}), nil
}

func mint(key *rsa.PrivateKey, issuer string, extra ...map[string]any) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
		(&jose.SignerOptions{}).WithType("at+jwt").WithHeader("kid", "k1"))
	if err != nil {
		return "", err
	}
	now := time.Now()
	claims := map[string]any{
		"iss": issuer, "sub": "bench-user", "aud": "bench-api", "client_id": clientID, "scope": "items:read",
		"tenant": "acme", "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"jti": strings.Repeat("j", 16),
	}
	for _, e := range extra {
		maps.Copy(claims, e)
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}

// bufferPool is the ReverseProxy buffer pool both the gateway and bare-tuned use.
type bufferPool struct{ pool sync.Pool }

func (p *bufferPool) Get() []byte {
	if b, ok := p.pool.Get().(*[]byte); ok {
		return *b
	}
	return make([]byte, 32*1024)
}

func (p *bufferPool) Put(b []byte) { p.pool.Put(&b) }

// startRedis runs redis-server on a free loopback port with its files under dir, as a
// production node would be set up (append-only file, fsync every second).
func startRedis(dir string) (url string, stop func(), err error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return "", nil, errors.New("redis-server is not installed: run `bash scripts/test-deps.sh`")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	_ = ln.Close() // freed for redis-server
	cmd := exec.Command(bin, "--bind", "127.0.0.1", "--port", port, "--dir", dir, "--save", "",
		"--appendonly", "yes", "--appendfsync", "everysec", "--loglevel", "warning")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop = func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", "127.0.0.1:"+port); err == nil {
			_ = c.Close()
			return "redis://127.0.0.1:" + port + "/0", stop, nil
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, errors.New("redis-server did not start")
		}
	}
}
