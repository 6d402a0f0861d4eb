package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/tracing"
	"github.com/idpgate/terraform-provider-idpgate/internal/redistest"
)

const (
	clientTraceID     = "4bf92f3577b34da6a3ce929d0e0e4736"
	clientParentID    = "00f067aa0ba902b7"
	clientTraceparent = "00-" + clientTraceID + "-" + clientParentID + "-01"
)

// tracedGateway is a gateway with tracing on, its spans kept in memory, an API "shop" on an
// upstream that records the trace headers it receives, and a token for client "app".
type tracedGateway struct {
	*harness
	provider *tracing.Provider
	spans    *tracetest.InMemoryExporter
	apiID    string
	policyID string
	tok      string
	access   *bytes.Buffer

	mu       sync.Mutex
	upstream []http.Header // trace headers the upstream received, in order
}

func newTracedGateway(t *testing.T, sampler sdktrace.Sampler, on bool) *tracedGateway {
	t.Helper()
	tg := &tracedGateway{spans: tracetest.NewInMemoryExporter(), access: new(bytes.Buffer)}
	if on {
		p, err := tracing.New(context.Background(), tracing.Options{Exporter: tg.spans, Sampler: sampler})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
		tg.provider = p
	}
	tg.harness = newHarnessIn(t, t.TempDir(), newFakeValidators(), func(o *Options) {
		o.Tracing, o.AccessLog = tg.provider, tg.access
	})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tg.mu.Lock()
		tg.upstream = append(tg.upstream, http.Header{"Traceparent": r.Header.Values("Traceparent"), "Tracestate": r.Header.Values("Tracestate")})
		tg.mu.Unlock()
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(up.Close)
	api := tg.createAPI(adminapi.API{Name: "shop", ListenPath: "/shop", UpstreamURL: up.URL,
		ForwardClaims: map[string]string{"X-Tenant": "tenant"}})
	pol := tg.createPolicy(adminapi.Policy{Name: "gold", ClientIDs: []string{"app"},
		AccessRights: []adminapi.AccessRight{{APIID: api.ID, Methods: []string{"GET"}}},
		RateLimit:    &adminapi.Limit{Requests: 1000, Per: adminapi.Duration(time.Minute)}})
	tg.apiID, tg.policyID = api.ID, pol.ID
	tg.tok = tg.fake.token("secret-token-value-7f3a", token.Identity{Subject: "alice-subject", ClientID: "app",
		Scopes: []string{"shop"}, Claims: map[string]any{"tenant": "acme-tenant-claim"}})
	return tg
}

// lastUpstream is the trace headers of the upstream's latest request.
func (tg *tracedGateway) lastUpstream(t *testing.T) http.Header {
	t.Helper()
	tg.mu.Lock()
	defer tg.mu.Unlock()
	if len(tg.upstream) == 0 {
		t.Fatal("the upstream received no request")
	}
	return tg.upstream[len(tg.upstream)-1]
}

// flushed returns the spans exported so far, after the access log and the exporter flush.
func (tg *tracedGateway) flushed(t *testing.T) tracetest.SpanStubs {
	t.Helper()
	if err := tg.provider.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	return tg.spans.GetSpans()
}

func spanNamed(t *testing.T, spans tracetest.SpanStubs, name string) tracetest.SpanStub {
	t.Helper()
	for _, s := range spans {
		if s.Name == name {
			return s
		}
	}
	var names []string
	for _, s := range spans {
		names = append(names, s.Name)
	}
	t.Fatalf("no span %q among %q", name, names)
	return tracetest.SpanStub{}
}

func attrs(s tracetest.SpanStub) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes {
		m[kv.Key] = kv.Value
	}
	return m
}

// parseTraceparent splits a version-00 traceparent, failing the test when it is not one.
func parseTraceparent(t *testing.T, v string) (traceID, parentID, flags string) {
	t.Helper()
	h := http.Header{"Traceparent": {v}}
	if v == "" || tracing.MalformedTraceparent(h) {
		t.Fatalf("traceparent %q is not well formed", v)
	}
	parts := strings.Split(v, "-")
	return parts[1], parts[2], parts[3]
}

func TestTracingSpanTreeOfAProxiedRequest(t *testing.T) {
	tg := newTracedGateway(t, sdktrace.ParentBased(sdktrace.AlwaysSample()), true)
	resp := tg.do("GET", "/shop/items/1?q=secret-query", tg.tok, "Traceparent", clientTraceparent, "Tracestate", "vendor=abc")
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	spans := tg.flushed(t)

	server := spanNamed(t, spans, "shop")
	if server.SpanKind != trace.SpanKindServer {
		t.Errorf("server span kind %v", server.SpanKind)
	}
	if got := server.SpanContext.TraceID().String(); got != clientTraceID {
		t.Errorf("server span in trace %s, want the client's %s", got, clientTraceID)
	}
	if got := server.Parent.SpanID().String(); got != clientParentID || !server.Parent.IsRemote() {
		t.Errorf("server span's parent %s (remote %v), want the client's span %s", got, server.Parent.IsRemote(), clientParentID)
	}
	a := attrs(server)
	for k, want := range map[attribute.Key]any{
		"idpgate.outcome": "forwarded", "http.response.status_code": int64(200), "idpgate.api.id": tg.apiID,
		"idpgate.policy.id": tg.policyID, "idpgate.client_id": "app", "http.request.method": "GET", "url.path": "/shop/items/1",
	} {
		if got := a[k].AsInterface(); got != want {
			t.Errorf("server span %s = %v, want %v", k, got, want)
		}
	}
	for _, name := range []string{"token check", "upstream GET"} {
		child := spanNamed(t, spans, name)
		if child.Parent.SpanID() != server.SpanContext.SpanID() || child.SpanContext.TraceID() != server.SpanContext.TraceID() {
			t.Errorf("span %q is not a child of the server span", name)
		}
	}
	for _, s := range spans {
		if s.Name == "rate limit" {
			t.Error("a rate limit span for limits counted in memory")
		}
	}
	upstreamSpan := spanNamed(t, spans, "upstream GET")
	if upstreamSpan.SpanKind != trace.SpanKindClient {
		t.Errorf("upstream span kind %v", upstreamSpan.SpanKind)
	}

	// The upstream continues the same trace, under the upstream call's span; the client's
	// tracestate travels with the trace context.
	got := tg.lastUpstream(t)
	tid, pid, flags := parseTraceparent(t, got.Get("Traceparent"))
	if tid != clientTraceID || pid != upstreamSpan.SpanContext.SpanID().String() || flags != "01" {
		t.Errorf("upstream traceparent %s, want trace %s under span %s, sampled", got.Get("Traceparent"), clientTraceID, upstreamSpan.SpanContext.SpanID())
	}
	if got.Get("Tracestate") != "vendor=abc" {
		t.Errorf("upstream tracestate %q, want the client's", got.Get("Tracestate"))
	}

	// No token, claim value, subject or query anywhere in the spans.
	dump, _ := json.Marshal(spans)
	for _, secret := range []string{tg.tok, "acme-tenant-claim", "alice-subject", "secret-query"} {
		if bytes.Contains(dump, []byte(secret)) {
			t.Errorf("the spans contain %q", secret)
		}
	}

	// The access log line leads to the trace.
	tg.gw.accessLog.Flush()
	var line struct {
		TraceID, SpanID string
		Sampled         bool `json:"trace_sampled"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(tg.access.Bytes()), &struct {
		TraceID *string `json:"trace_id"`
		SpanID  *string `json:"span_id"`
		Sampled *bool   `json:"trace_sampled"`
	}{&line.TraceID, &line.SpanID, &line.Sampled}); err != nil {
		t.Fatalf("access log %q: %v", tg.access, err)
	}
	if line.TraceID != clientTraceID || line.SpanID != server.SpanContext.SpanID().String() || !line.Sampled {
		t.Errorf("access log trace_id %s span_id %s sampled %v; want %s, %s, true", line.TraceID, line.SpanID, line.Sampled,
			clientTraceID, server.SpanContext.SpanID())
	}
}

func TestTracingRefusedRequest(t *testing.T) {
	tg := newTracedGateway(t, sdktrace.AlwaysSample(), true)
	resp := tg.do("GET", "/shop/items/1", "forged-token-value")
	resp.Body.Close()
	spans := tg.flushed(t)
	server := spanNamed(t, spans, "shop")
	a := attrs(server)
	if a["idpgate.outcome"].AsString() != "unauthorized" || a["http.response.status_code"].AsInt64() != 401 {
		t.Errorf("refused request: outcome %v status %v", a["idpgate.outcome"], a["http.response.status_code"])
	}
	if server.Parent.IsValid() {
		t.Error("a request without traceparent should start a trace")
	}
	check := spanNamed(t, spans, "token check")
	if check.Status.Description != "invalid_token" {
		t.Errorf("token check span status %+v, want the refusal code", check.Status)
	}
	if dump, _ := json.Marshal(spans); bytes.Contains(dump, []byte("forged-token-value")) || bytes.Contains(dump, []byte("verification error")) {
		t.Error("the spans contain the token or the log-only reason")
	}
	for _, s := range spans {
		if s.Name == "upstream GET" {
			t.Error("a refused request has an upstream span")
		}
	}
}

// A traceparent the W3C spec calls invalid is never forwarded: with tracing on the gateway
// starts a new trace and the upstream receives that; the client's tracestate goes with it.
func TestTracingReplacesAMalformedTraceparent(t *testing.T) {
	tg := newTracedGateway(t, sdktrace.AlwaysSample(), true)
	for _, bad := range []string{
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01",
		"00-" + strings.ToUpper(clientTraceID) + "-" + clientParentID + "-01",
		"ff-" + clientTraceID + "-" + clientParentID + "-01",
		clientTraceparent + "-extra",
		"garbage",
	} {
		resp := tg.do("GET", "/shop/x", tg.tok, "Traceparent", bad, "Tracestate", "evil=1")
		resp.Body.Close()
		got := tg.lastUpstream(t)
		tid, _, _ := parseTraceparent(t, got.Get("Traceparent"))
		if strings.EqualFold(tid, clientTraceID) || strings.Contains(got.Get("Traceparent"), bad) {
			t.Errorf("client traceparent %q: upstream received %q, want a new trace", bad, got.Get("Traceparent"))
		}
		if len(got["Traceparent"]) != 1 || len(got["Tracestate"]) != 0 {
			t.Errorf("client traceparent %q: upstream received traceparent %q tracestate %q", bad, got["Traceparent"], got["Tracestate"])
		}
	}
	// Two traceparent headers are one malformed one.
	resp := tg.do("GET", "/shop/x", tg.tok, "Traceparent", clientTraceparent, "Traceparent", clientTraceparent)
	resp.Body.Close()
	if tid, _, _ := parseTraceparent(t, tg.lastUpstream(t).Get("Traceparent")); tid == clientTraceID {
		t.Error("two traceparent headers were continued")
	}
}

// With 1% sampling, a request that is not sampled has no spans but the upstream still
// receives the trace context, not sampled, in the client's trace.
func TestTracingUnsampledRequestStillPropagates(t *testing.T) {
	tg := newTracedGateway(t, sdktrace.ParentBased(sdktrace.NeverSample()), true)
	resp := tg.do("GET", "/shop/x", tg.tok, "Traceparent", "00-"+clientTraceID+"-"+clientParentID+"-00")
	resp.Body.Close()
	if spans := tg.flushed(t); len(spans) != 0 {
		t.Errorf("%d spans exported for an unsampled request", len(spans))
	}
	tid, pid, flags := parseTraceparent(t, tg.lastUpstream(t).Get("Traceparent"))
	if tid != clientTraceID || pid == clientParentID || flags != "00" {
		t.Errorf("upstream traceparent %s-%s-%s: want the client's trace, the gateway's span, not sampled", tid, pid, flags)
	}
	tg.gw.accessLog.Flush()
	if !strings.Contains(tg.access.String(), `"trace_id":"`+clientTraceID+`"`) || !strings.Contains(tg.access.String(), `"trace_sampled":false`) {
		t.Errorf("access log of an unsampled request: %s", tg.access)
	}
}

// Tracing off (the default): the client's traceparent reaches the upstream as it came, as
// before tracing existed, unless it is malformed; then neither it nor tracestate is sent.
func TestTracingOffPassesTraceContextThroughUnlessMalformed(t *testing.T) {
	tg := newTracedGateway(t, nil, false)
	resp := tg.do("GET", "/shop/x", tg.tok, "Traceparent", clientTraceparent, "Tracestate", "vendor=abc")
	resp.Body.Close()
	got := tg.lastUpstream(t)
	if got.Get("Traceparent") != clientTraceparent || got.Get("Tracestate") != "vendor=abc" {
		t.Errorf("tracing off: upstream received %q %q, want the client's headers unchanged", got["Traceparent"], got["Tracestate"])
	}
	resp = tg.do("GET", "/shop/x", tg.tok, "Traceparent", "00-zz-bad-01", "Tracestate", "vendor=abc")
	resp.Body.Close()
	got = tg.lastUpstream(t)
	if len(got["Traceparent"]) != 0 || len(got["Tracestate"]) != 0 {
		t.Errorf("tracing off, malformed traceparent: upstream received %q %q", got["Traceparent"], got["Tracestate"])
	}
	tg.gw.accessLog.Flush()
	if strings.Contains(tg.access.String(), "trace_id") {
		t.Errorf("tracing off: the access log carries a trace id: %s", tg.access)
	}
}

func TestTracingDecisionSpan(t *testing.T) {
	tg := newTracedGateway(t, sdktrace.AlwaysSample(), true)
	resp, _ := tg.decide("/_idpgate/decide", tg.tok, "X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/shop/orders/7?x=1")
	if resp.StatusCode != 200 {
		t.Fatalf("decision: %d", resp.StatusCode)
	}
	server := spanNamed(t, tg.flushed(t), "shop")
	a := attrs(server)
	for k, want := range map[attribute.Key]any{"idpgate.decision": true, "idpgate.forwarded.method": "GET",
		"idpgate.forwarded.path": "/shop/orders/7", "idpgate.outcome": "forwarded", "idpgate.client_id": "app"} {
		if got := a[k].AsInterface(); got != want {
			t.Errorf("decision span %s = %v, want %v", k, got, want)
		}
	}
}

func TestTracingDPoPCheckSpan(t *testing.T) {
	tg := newTracedGateway(t, sdktrace.AlwaysSample(), true)
	client := newDPoPClient(t)
	bound := tg.fake.token("bound-token-value", token.Identity{ClientID: "app", Scopes: []string{"shop"},
		Confirmation: map[string]any{"jkt": client.jkt()}})
	proof := client.proof("GET", tg.proxy.URL+"/shop/orders/1", bound, time.Now(), nextJTI())
	for i, want := range []int{200, 401} { // the second sends the same proof again: replayed
		resp := sendDPoP(t, tg.harness, "/shop/orders/1", "DPoP", bound, []string{proof})
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("request %d: %d, want %d", i, resp.StatusCode, want)
		}
	}
	var checks []tracetest.SpanStub
	for _, s := range tg.flushed(t) {
		if s.Name == "dpop check" {
			checks = append(checks, s)
		}
	}
	if len(checks) != 2 {
		t.Fatalf("%d dpop check spans, want 2", len(checks))
	}
	if checks[0].Status.Code == codes.Error || checks[1].Status.Code != codes.Error || checks[1].Status.Description != "invalid_dpop_proof" {
		t.Errorf("dpop check statuses %+v, %+v: want ok, then invalid_dpop_proof", checks[0].Status, checks[1].Status)
	}
}

// With limits in Redis, the call to Redis has its span in the request's trace.
func TestTracingRedisLimitSpan(t *testing.T) {
	srv := redistest.Start(t)
	spans := tracetest.NewInMemoryExporter()
	p, err := tracing.New(context.Background(), tracing.Options{Exporter: spans, Sampler: sdktrace.AlwaysSample()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	h := newRedisHarness(t, srv.URL, "trace:", newFakeValidators(), func(o *Options) { o.Tracing = p })
	up := newEchoUpstream(t)
	api := h.createAPI(adminapi.API{Name: "shop", ListenPath: "/shop", UpstreamURL: up.URL})
	h.createPolicy(adminapi.Policy{Name: "p", ClientIDs: []string{"app"}, AccessRights: grantAll(api),
		RateLimit: &adminapi.Limit{Requests: 100, Per: adminapi.Duration(time.Minute)}})
	tok := h.fake.token("tok", token.Identity{ClientID: "app"})
	resp := h.do("GET", "/shop/x", tok)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if err := p.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := spans.GetSpans()
	server, limit := spanNamed(t, got, "shop"), spanNamed(t, got, "rate limit")
	if limit.Parent.SpanID() != server.SpanContext.SpanID() || attrs(limit)["idpgate.limits.store"].AsString() != "redis" {
		t.Errorf("rate limit span %+v: want a child of the server span, store redis", limit)
	}
}
