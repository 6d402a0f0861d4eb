package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/childproc"
	"github.com/idpgate/terraform-provider-idpgate/internal/mockidp"
	"github.com/idpgate/terraform-provider-idpgate/internal/otelcoltest"
)

// tracedServe runs `idpgate serve -tracing` with the OTEL_* environment the test set, and
// stops it when the test ends; it returns the proxy and admin addresses.
func tracedServe(t *testing.T, accessLog string) (proxy, adminURL string, admin *adminapi.Client, stop func() error) {
	t.Helper()
	cfg := &serveConfig{listen: "127.0.0.1:0", adminListen: "127.0.0.1:0", dataDir: t.TempDir(),
		readHeaderTimeout: 5 * time.Second, readTimeout: 5 * time.Second, writeTimeout: 5 * time.Second,
		idleTimeout: 5 * time.Second, shutdownTimeout: 5 * time.Second, adminToken: "tracing-test-admin-token",
		accessLog: accessLog, tracing: true, failedAuthLimit: failedAuthLimitFlag{}}
	p, a, stopWithin := serveInBackground(t, cfg)
	client, err := adminapi.NewClient("http://"+a.String(), cfg.adminToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	return "http://" + p.String(), "http://" + a.String(), client, func() error { return stopWithin(20 * time.Second) }
}

// traceRecorder is an upstream that records the traceparent of each request.
type traceRecorder struct {
	mu   sync.Mutex
	seen map[string]string // path → traceparent
}

func newTraceRecorder(t *testing.T) (*traceRecorder, *httptest.Server) {
	rec := &traceRecorder{seen: map[string]string{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.seen[r.URL.Path] = r.Header.Get("Traceparent")
		rec.mu.Unlock()
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return rec, srv
}

func (rec *traceRecorder) traceparent(path string) string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.seen[path]
}

func getTraced(t *testing.T, url, tok, traceparent string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if traceparent != "" {
		req.Header.Set("Traceparent", traceparent)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// traceparentParts splits a version-00 traceparent into trace id and parent id.
func traceparentParts(v string) (traceID, parentID string) {
	p := strings.Split(v, "-")
	if len(p) != 4 {
		return "", ""
	}
	return p[1], p[2]
}

// An operator sets OTEL_EXPORTER_OTLP_ENDPOINT and -tracing; a real OpenTelemetry Collector
// receives each request's trace, with the token check, the IdP calls and the upstream call
// inside it, and the access log line leads to it. No token, claim value or secret reaches
// the collector; the upstream and the IdP receive the trace context.
func TestServeExportsTracesToACollector(t *testing.T) {
	col := otelcoltest.Start(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", col.HTTPEndpoint)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	t.Setenv("OTEL_SERVICE_NAME", "idpgate-under-test")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=ci")
	t.Setenv("OTEL_TRACES_SAMPLER", "parentbased_always_on")
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "100")

	idp := mockidp.NewTestServer(t, mockidp.Options{})
	rs, err := idp.RegisterClient(map[string]any{"client_name": "gateway", "grant_types": []any{"client_credentials"},
		"response_types": []any{}, "token_endpoint_auth_method": "client_secret_basic"})
	if err != nil {
		t.Fatal(err)
	}
	rec, up := newTraceRecorder(t)
	accessLog := filepath.Join(t.TempDir(), "access.log")
	proxy, _, admin, stop := tracedServe(t, accessLog)
	ctx := context.Background()
	orders, err := admin.CreateAPI(ctx, adminapi.API{Name: "orders", ListenPath: "/orders", UpstreamURL: up.URL,
		JWT: &adminapi.JWTValidation{Issuer: idp.URL(), JWKSURI: idp.JWKSURI()}})
	if err != nil {
		t.Fatal(err)
	}
	ledger, err := admin.CreateAPI(ctx, adminapi.API{Name: "ledger", ListenPath: "/ledger", UpstreamURL: up.URL,
		Introspection: &adminapi.Introspection{Endpoint: idp.IntrospectionEndpoint(), ClientID: rs.ClientID, ClientSecret: rs.ClientSecret}})
	if err != nil {
		t.Fatal(err)
	}
	pol, err := admin.CreatePolicy(ctx, adminapi.Policy{Name: "p", ClientIDs: []string{"app"}, AccessRights: []adminapi.AccessRight{
		{APIID: orders.ID, Methods: []string{"GET"}}, {APIID: ledger.ID, Methods: []string{"GET"}}}})
	if err != nil {
		t.Fatal(err)
	}

	// The JWKS prefetched at create, a key rotation makes the first request fetch it again
	// inside its own trace (an unknown kid refetches once a second at most).
	for deadline := time.Now().Add(10 * time.Second); len(idp.RequestsTo("GET", idp.JWKSURI())) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the gateway did not prefetch the JWKS")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(1100 * time.Millisecond)
	idp.RotateKeys()
	idp.ResetRequests()
	tok := idp.MintToken(map[string]any{"sub": "alice-subject-value", "client_id": "app", "tenant": "acme-claim-value"})

	const trace1 = "11111111111111111111111111111111"
	const trace2 = "22222222222222222222222222222222"
	const trace3 = "33333333333333333333333333333333"
	for _, r := range []struct{ path, trace string }{{"/orders/1", trace1}, {"/ledger/1", trace2}, {"/orders/2", trace3}} {
		if code := getTraced(t, proxy+r.path+"?q=query-secret", tok, "00-"+r.trace+"-aaaaaaaaaaaaaaaa-01"); code != 200 {
			t.Fatalf("GET %s: %d", r.path, code)
		}
	}

	spans := col.WaitSpans(20*time.Second, func(s []otelcoltest.Span) bool {
		n := 0
		for _, sp := range s {
			if sp.Kind == 3 && strings.HasPrefix(sp.Name, "upstream") {
				n++
			}
		}
		return n >= 3
	})
	inTrace := func(trace string) map[string]otelcoltest.Span {
		m := map[string]otelcoltest.Span{}
		for _, s := range spans {
			if s.TraceID == trace {
				m[s.Name] = s
			}
		}
		return m
	}
	childOf := func(tr map[string]otelcoltest.Span, child, parent string) otelcoltest.Span {
		t.Helper()
		c, ok := tr[child]
		if !ok {
			t.Errorf("no span %q in the trace (has %v)", child, keys(tr))
			return c
		}
		if p, ok := tr[parent]; !ok || c.ParentSpanID != p.SpanID {
			t.Errorf("span %q is not a child of %q", child, parent)
		}
		return c
	}

	// Request 1: JWT, the JWKS fetched for its unknown kid inside its trace.
	t1 := inTrace(trace1)
	server := t1["orders"]
	if server.ParentSpanID != "aaaaaaaaaaaaaaaa" || server.Kind != 2 {
		t.Errorf("server span %+v: want a server span under the client's span", server)
	}
	for k, want := range map[string]any{"idpgate.outcome": "forwarded", "http.response.status_code": int64(200),
		"idpgate.api.id": orders.ID, "idpgate.policy.id": pol.ID, "idpgate.client_id": "app"} {
		if got := server.Attributes[k]; got != want {
			t.Errorf("server span %s = %v, want %v", k, got, want)
		}
	}
	if got := server.Resource["service.name"]; got != "idpgate-under-test" {
		t.Errorf("service.name %v, want OTEL_SERVICE_NAME's", got)
	}
	if got := server.Resource["deployment.environment.name"]; got != "ci" {
		t.Errorf("deployment.environment.name %v, want OTEL_RESOURCE_ATTRIBUTES'", got)
	}
	check := childOf(t1, "token check", "orders")
	if check.Attributes["idpgate.token.cache"] != "miss" {
		t.Errorf("first request's token check: cache %v, want miss", check.Attributes["idpgate.token.cache"])
	}
	childOf(t1, "jwks fetch", "token check")
	idpGet := childOf(t1, "idp GET", "jwks fetch")
	upstream := childOf(t1, "upstream GET", "orders")
	if tid, pid := traceparentParts(rec.traceparent("/orders/1")); tid != trace1 || pid != upstream.SpanID {
		t.Errorf("upstream received traceparent %q; want trace %s under span %s", rec.traceparent("/orders/1"), trace1, upstream.SpanID)
	}
	jwksReqs := idp.RequestsTo("GET", idp.JWKSURI())
	if len(jwksReqs) == 0 {
		t.Fatal("the IdP saw no JWKS fetch after the rotation")
	}
	if tid, pid := traceparentParts(jwksReqs[0].Header.Get("Traceparent")); tid != trace1 || pid != idpGet.SpanID {
		t.Errorf("the IdP's JWKS request carried traceparent %q; want trace %s under span %s", jwksReqs[0].Header.Get("Traceparent"), trace1, idpGet.SpanID)
	}

	// Request 2: introspection inside its trace, the context passed to the IdP.
	t2 := inTrace(trace2)
	childOf(t2, "token check", "ledger")
	childOf(t2, "introspection", "token check")
	idpPost := childOf(t2, "idp POST", "introspection")
	intro := idp.RequestsTo("POST", idp.IntrospectionEndpoint())
	if len(intro) != 1 {
		t.Fatalf("the IdP saw %d introspection requests, want 1", len(intro))
	}
	if tid, pid := traceparentParts(intro[0].Header.Get("Traceparent")); tid != trace2 || pid != idpPost.SpanID {
		t.Errorf("the introspection request carried traceparent %q; want trace %s under span %s", intro[0].Header.Get("Traceparent"), trace2, idpPost.SpanID)
	}

	// Request 3: the verified token reused.
	if got := childOf(inTrace(trace3), "token check", "orders").Attributes["idpgate.token.cache"]; got != "hit" {
		t.Errorf("third request's token check: cache %v, want hit", got)
	}

	// Nothing secret reached the collector: not the token, a claim value, the subject, the
	// query, the introspection client's secret.
	var all bytes.Buffer
	for _, s := range spans {
		all.Write(s.Raw)
		fmt.Fprint(&all, s.Resource)
	}
	for _, secret := range []string{tok, tok[len(tok)-20:], "acme-claim-value", "alice-subject-value", "query-secret", rs.ClientSecret} {
		if strings.Contains(all.String(), secret) {
			t.Errorf("the collector received %q", secret)
		}
	}

	// The access log leads from each line to its trace.
	if err := stop(); err != nil {
		t.Fatalf("serve: %v", err)
	}
	logged, err := os.ReadFile(accessLog)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct{ trace, span string }{{trace1, server.SpanID}, {trace2, inTrace(trace2)["ledger"].SpanID}} {
		if !strings.Contains(string(logged), `"trace_id":"`+want.trace+`","span_id":"`+want.span+`","trace_sampled":true`) {
			t.Errorf("no access log line leads to trace %s span %s:\n%s", want.trace, want.span, logged)
		}
	}
}

func keys(m map[string]otelcoltest.Span) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// A collector that accepts connections and never answers does not slow requests down: the
// export queue is bounded, the spans past it are dropped and counted, and the gateway still
// stops in time.
func TestServeTracingWithAStalledCollector(t *testing.T) {
	collector := childproc.Unresponsive(t, false) // reads nothing, answers nothing
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+collector)
	t.Setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "60000")
	t.Setenv("OTEL_BSP_MAX_QUEUE_SIZE", "8")
	t.Setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "4")
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "10")
	t.Setenv("OTEL_TRACES_SAMPLER", "always_on")

	idp := mockidp.NewTestServer(t, mockidp.Options{})
	_, up := newTraceRecorder(t)
	proxy, adminURL, admin, stop := tracedServe(t, "off")
	grantApp(t, admin, "orders", "/orders", up.URL, "p", idp, "GET")
	tok := idp.MintToken(map[string]any{"client_id": "app"})
	getTraced(t, proxy+"/orders/warm", tok, "")

	var slowest time.Duration
	start := time.Now()
	for i := range 100 {
		t0 := time.Now()
		if code := getTraced(t, fmt.Sprintf("%s/orders/%d", proxy, i), tok, ""); code != 200 {
			t.Fatalf("request %d: %d", i, code)
		}
		slowest = max(slowest, time.Since(t0))
	}
	if total := time.Since(start); slowest > time.Second || total > 10*time.Second {
		t.Errorf("with a stalled collector: slowest request %s, 100 requests %s", slowest, total)
	}
	metrics := adminGet(t, adminURL+"/metrics")
	var dropped float64
	for line := range strings.SplitSeq(metrics, "\n") {
		if strings.HasPrefix(line, `idpgate_trace_spans_dropped_total{reason="queue_full"}`) {
			_, _ = fmt.Sscan(strings.Fields(line)[1], &dropped)
		}
	}
	// 101 requests of 3 spans each, at most 8 waiting: the rest are dropped.
	if dropped < 250 {
		t.Errorf("idpgate_trace_spans_dropped_total{reason=\"queue_full\"} = %v, want most of 303 spans", dropped)
	}
	t0 := time.Now()
	if err := stop(); err != nil {
		t.Errorf("serve: %v", err)
	}
	if took := time.Since(t0); took > 12*time.Second {
		t.Errorf("stopping with a stalled collector took %s", took)
	}
}

func adminGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// Tracing is off unless -tracing or IDPGATE_TRACING turns it on; the flag wins.
func TestServeTracingFlag(t *testing.T) {
	t.Setenv(adminTokenEnv, "a-long-enough-admin-token")
	for _, tc := range []struct {
		env  string
		args []string
		want bool
	}{
		{"", nil, false},
		{"", []string{"-tracing"}, true},
		{"true", nil, true},
		{"1", []string{"-tracing=false"}, false},
	} {
		t.Setenv(tracingEnv, tc.env)
		cfg, err := parseServe(tc.args, io.Discard)
		if err != nil || cfg.tracing != tc.want {
			t.Errorf("%s=%q %v: tracing %v (%v), want %v", tracingEnv, tc.env, tc.args, cfg != nil && cfg.tracing, err, tc.want)
		}
	}
	t.Setenv(tracingEnv, "maybe")
	if _, err := parseServe(nil, io.Discard); err == nil || !strings.Contains(err.Error(), tracingEnv) {
		t.Errorf("%s=maybe: %v, want an error naming it", tracingEnv, err)
	}
	// A setting the exporter cannot honour stops serve at start, naming the variable.
	t.Setenv(tracingEnv, "")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
	cfg := &serveConfig{listen: "127.0.0.1:0", adminListen: "127.0.0.1:0", dataDir: t.TempDir(), accessLog: "off",
		adminToken: "a-long-enough-admin-token", tracing: true}
	if err := serve(context.Background(), cfg, slog.New(slog.DiscardHandler), nil); err == nil || !strings.Contains(err.Error(), "OTEL_EXPORTER_OTLP_PROTOCOL") {
		t.Errorf("serve with OTEL_EXPORTER_OTLP_PROTOCOL=http/json: %v", err)
	}
}
