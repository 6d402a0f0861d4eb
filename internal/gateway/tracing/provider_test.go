package tracing

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// blockingExporter holds every export until release is closed, as a collector that accepts
// the connection and never answers would; or fails every export when fail is set.
type blockingExporter struct {
	release chan struct{}
	fail    error
	mu      sync.Mutex
	got     int
}

func (e *blockingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if e.fail != nil {
		return e.fail
	}
	select {
	case <-e.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	e.mu.Lock()
	e.got += len(spans)
	e.mu.Unlock()
	return nil
}

func (e *blockingExporter) Shutdown(context.Context) error { return nil }

func newTestProvider(t *testing.T, exp sdktrace.SpanExporter, queue int) *Provider {
	t.Helper()
	p, err := New(context.Background(), Options{Exporter: exp, QueueSize: queue, Sampler: sdktrace.AlwaysSample(),
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A collector that does not answer never makes a span's End wait: past the bounded queue,
// spans are dropped and counted.
func TestStalledExporterDropsAndCountsWithoutBlocking(t *testing.T) {
	exp := &blockingExporter{release: make(chan struct{})}
	p := newTestProvider(t, exp, 4)
	tr := NewTracer(p.TracerProvider())
	start := time.Now()
	for range 50 {
		_, span := tr.tracer.Start(context.Background(), "s")
		span.End()
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("50 spans took %s to end with a stalled exporter", took)
	}
	if got := testutil.ToFloat64(p.dropped.WithLabelValues("queue_full")); got != 46 {
		t.Errorf("queue_full drops = %v, want 46 (50 spans, 4 queue places)", got)
	}
	close(exp.release)
	if err := p.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(p.exported); got != 4 || exp.got != 4 {
		t.Errorf("exported = %v (exporter got %d), want 4", got, exp.got)
	}
	// The places are free again.
	_, span := tr.tracer.Start(context.Background(), "after")
	span.End()
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(p.exported); got != 5 {
		t.Errorf("exported after shutdown = %v, want 5", got)
	}
}

func TestFailedExportIsCounted(t *testing.T) {
	p := newTestProvider(t, &blockingExporter{fail: errors.New("connection refused")}, 16)
	tr := NewTracer(p.TracerProvider())
	for range 3 {
		_, span := tr.tracer.Start(context.Background(), "s")
		span.End()
	}
	_ = p.ForceFlush(context.Background())
	if got := testutil.ToFloat64(p.dropped.WithLabelValues("export_failed")); got != 3 {
		t.Errorf("export_failed drops = %v, want 3", got)
	}
	if got := p.queued.Load(); got != 0 {
		t.Errorf("%d queue places still taken after the failed export", got)
	}
}

// Spans of requests that are not sampled are neither queued nor counted.
func TestUnsampledSpansAreNotQueued(t *testing.T) {
	p, err := New(context.Background(), Options{Exporter: tracetest.NewInMemoryExporter(), QueueSize: 1,
		Sampler: sdktrace.NeverSample()})
	if err != nil {
		t.Fatal(err)
	}
	tr := NewTracer(p.TracerProvider())
	for range 10 {
		_, span := tr.tracer.Start(context.Background(), "s")
		span.End()
	}
	if got := testutil.ToFloat64(p.dropped.WithLabelValues("queue_full")); got != 0 || p.queued.Load() != 0 {
		t.Errorf("unsampled spans: %v dropped, %d queued", got, p.queued.Load())
	}
}

func TestNewRefusesSettingsItCannotHonour(t *testing.T) {
	for _, tc := range []struct{ env, value, want string }{
		{"OTEL_EXPORTER_OTLP_PROTOCOL", "http/json", "OTEL_EXPORTER_OTLP_PROTOCOL"},
		{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "thrift", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"},
		{"OTEL_TRACES_SAMPLER", "sometimes", "OTEL_TRACES_SAMPLER"},
		{"OTEL_BSP_MAX_QUEUE_SIZE", "-1", "OTEL_BSP_MAX_QUEUE_SIZE"},
		{"OTEL_RESOURCE_ATTRIBUTES", "no-equals-sign", "OTEL_RESOURCE_ATTRIBUTES"},
	} {
		t.Run(tc.env, func(t *testing.T) {
			t.Setenv(tc.env, tc.value)
			_, err := New(context.Background(), Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s=%s: error %v, want one naming %s", tc.env, tc.value, err, tc.want)
			}
		})
	}
	t.Run("ratio out of range", func(t *testing.T) {
		t.Setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
		t.Setenv("OTEL_TRACES_SAMPLER_ARG", "5")
		if _, err := New(context.Background(), Options{}); err == nil || !strings.Contains(err.Error(), "OTEL_TRACES_SAMPLER_ARG") {
			t.Errorf("ratio 5: error %v", err)
		}
	})
}

// The grpc exporter and the sampler come from the environment.
func TestNewReadsTheEnvironment(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
	t.Setenv("OTEL_TRACES_SAMPLER", "always_off")
	t.Setenv("OTEL_SERVICE_NAME", "edge-gateway")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=test")
	p, err := New(context.Background(), Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = p.Shutdown(context.Background()) }()
	_, span := p.TracerProvider().Tracer("t").Start(context.Background(), "s")
	if span.IsRecording() {
		t.Error("OTEL_TRACES_SAMPLER=always_off: the span records")
	}
	span.End()
	// service.name and OTEL_RESOURCE_ATTRIBUTES reach a real collector in
	// cmd/idpgate's TestServeExportsTracesToACollector.
}

// Tracing off, the tracer does nothing and allocates nothing on the request path.
func TestNilTracerAllocatesNothing(t *testing.T) {
	var tr *Tracer
	r := httptest.NewRequest("GET", "/x", nil)
	r.Header.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	h := http.Header{"Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}
	n := testing.AllocsPerRun(100, func() {
		ctx, span := tr.StartServer(r, "s")
		_, child := tr.Start(ctx, "c")
		child.End()
		tr.Outbound(ctx, h)
		span.End()
	})
	if n != 0 {
		t.Errorf("%v allocations per request with tracing off, want 0", n)
	}
}

func TestBareURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://idp.example/jwks?key=secret#frag":    "http://idp.example/jwks",
		"https://user:pass@idp.example/introspect":   "https://idp.example/introspect",
		"https://REDACTED:REDACTED@idp.example/x?y=": "https://idp.example/x",
		"http://%zz": "",
	} {
		if got := bareURL(in); got != want {
			t.Errorf("bareURL(%q) = %q, want %q", in, got, want)
		}
	}
}
