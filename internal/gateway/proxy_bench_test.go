package gateway

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/accesslog"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/request"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/tracing"
)

// fixedUpstream answers every round trip from memory, so the benchmark measures the proxy
// code and not the network.
type fixedUpstream struct{ body []byte }

func (f fixedUpstream) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(f.body)), ContentLength: int64(len(f.body)), Request: r}, nil
}

// BenchmarkProxyOverhead runs the same request through a bare httputil.ReverseProxy and
// through the gateway (routing, token check with a fake validator, policy, rate limit and
// quota, identity headers) with an in-memory upstream, and reports the gateway's extra cost.
// The token layer has its own benchmarks; `make bench` measures everything over loopback.
func BenchmarkProxyOverhead(b *testing.B) {
	up := fixedUpstream{body: []byte(`{"id":1,"name":"widget"}`)}
	target, _ := url.Parse("http://upstream.internal")

	rewrite := func(pr *httputil.ProxyRequest) { pr.SetURL(target); pr.SetXForwarded() }
	bare := &httputil.ReverseProxy{Rewrite: rewrite, Transport: up}
	// bare-pooled has the gateway's buffer pool, so gateway vs bare-pooled is the cost of the checks.
	barePooled := &httputil.ReverseProxy{Rewrite: rewrite, Transport: up, BufferPool: request.NewBufferPool()}

	h := newHarness(b)
	h.gw.upstreams.Transport = up
	setupBench(b, h, target)
	tok := h.fake.token("tok", token.Identity{Subject: "u", ClientID: "app", Scopes: []string{"items:read"}, Claims: map[string]any{"tenant": "acme"}})

	run := func(b *testing.B, handler http.Handler, path string) {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				r := req.Clone(req.Context())
				w := httptest.NewRecorder()
				handler.ServeHTTP(w, r)
				if w.Code != 200 {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
		})
	}
	b.Run("bare", func(b *testing.B) { run(b, bare, "/items/1") })
	b.Run("bare-pooled", func(b *testing.B) { run(b, barePooled, "/items/1") })
	b.Run("gateway", func(b *testing.B) { run(b, h.gw.ProxyHandler(), "/bench/items/1") })
	// The same gateway with its access log on (formatted, written to io.Discard): the
	// difference to "gateway" is what a line costs.
	access := accesslog.New(io.Discard, nil)
	defer access.Close()
	logged := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { access.Serve(w, r, h.gw.requests.Serve) })
	b.Run("gateway-accesslog", func(b *testing.B) { run(b, logged, "/bench/items/1") })
	// With tracing on, spans exported to a discarding exporter: every request sampled, and 1%.
	for _, tc := range []struct {
		name    string
		sampler sdktrace.Sampler
	}{{"gateway-traced", sdktrace.AlwaysSample()}, {"gateway-traced-1pct", sdktrace.TraceIDRatioBased(0.01)}} {
		tp, err := tracing.New(b.Context(), tracing.Options{Exporter: discardExporter{}, Sampler: tc.sampler})
		if err != nil {
			b.Fatal(err)
		}
		th := newHarnessIn(b, b.TempDir(), h.fake, func(o *Options) { o.Tracing = tp })
		th.gw.upstreams.Transport = th.gw.tracer.Transport(up)
		setupBench(b, th, target)
		b.Run(tc.name, func(b *testing.B) { run(b, th.gw.ProxyHandler(), "/bench/items/1") })
		_ = tp.Shutdown(context.Background())
	}
}

type discardExporter struct{}

func (discardExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardExporter) Shutdown(context.Context) error                             { return nil }

func setupBench(b *testing.B, h *harness, target *url.URL) {
	api := h.createAPI(adminapi.API{Name: "bench", ListenPath: "/bench", UpstreamURL: target.String(), StripListenPath: true,
		ForwardClaims: map[string]string{"X-Tenant": "tenant"}})
	_, err := h.admin.CreatePolicy(b.Context(), adminapi.Policy{Name: "p", ClientIDs: []string{"app"},
		AccessRights: []adminapi.AccessRight{{APIID: api.ID, Methods: []string{"GET"}, Paths: []string{"/items/*"}}},
		RateLimit:    &adminapi.Limit{Requests: 1 << 40, Per: adminapi.Duration(time.Second)},
		Quota:        &adminapi.Limit{Requests: 1 << 40, Per: adminapi.Duration(time.Hour)}})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkConditions runs the same request through the same policy, once on an API whose
// grant has no conditions and once on one whose grant has two (the tenant claim against a
// header, the client address in a CIDR): the difference is what evaluating them costs.
func BenchmarkConditions(b *testing.B) {
	up := fixedUpstream{body: []byte(`{"id":1,"name":"widget"}`)}
	h := newHarness(b)
	h.gw.upstreams.Transport = up
	plain := h.createAPI(adminapi.API{Name: "plain", ListenPath: "/plain", UpstreamURL: "http://upstream.internal", StripListenPath: true})
	cel := h.createAPI(adminapi.API{Name: "cel", ListenPath: "/cel", UpstreamURL: "http://upstream.internal", StripListenPath: true})
	grant := adminapi.AccessRight{Methods: []string{"GET"}, Paths: []string{"/items/*"}}
	withConditions := grant
	withConditions.APIID = cel.ID
	withConditions.Conditions = []string{`claims.tenant == request.headers["x-tenant"]`, `cidr("192.0.2.0/24").containsIP(request.remote_ip)`}
	grant.APIID = plain.ID
	h.createPolicy(adminapi.Policy{Name: "p", ClientIDs: []string{"app"}, AccessRights: []adminapi.AccessRight{grant, withConditions}})
	h.createAPI(adminapi.API{Name: "spa", ListenPath: "/spa", UpstreamURL: "http://upstream.internal",
		CORS: &adminapi.CORS{AllowedOrigins: []string{"https://app.example.com"}, AllowedHeaders: []string{"Content-Type"}}})
	tok := h.fake.token("tok", token.Identity{Subject: "u", ClientID: "app", Scopes: []string{"items:read"}, Claims: map[string]any{"tenant": "acme"}})
	handler := h.gw.ProxyHandler()
	// preflight: a CORS preflight the gateway answers itself, against plain, a proxied request.
	for _, path := range []string{"/plain/items/1", "/cel/items/1", "/spa/items/1"} {
		name, status := path[1:strings.IndexByte(path[1:], '/')+1], 200
		if name == "spa" {
			name, status = "preflight", http.StatusNoContent
		}
		b.Run(name, func(b *testing.B) {
			req := httptest.NewRequest("GET", path, nil) // from 192.0.2.1
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("X-Tenant", "acme")
			if status == http.StatusNoContent {
				req = httptest.NewRequest("OPTIONS", path, nil)
				req.Header.Set("Origin", "https://app.example.com")
				req.Header.Set("Access-Control-Request-Method", "PUT")
				req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					w := httptest.NewRecorder()
					handler.ServeHTTP(w, req.Clone(req.Context()))
					if w.Code != status {
						b.Fatalf("status %d: %s", w.Code, w.Body)
					}
				}
			})
		})
	}
}
