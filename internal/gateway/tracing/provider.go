// Package tracing is the gateway's OpenTelemetry tracing: the tracer provider built from the
// standard OTEL_* environment (provider.go), the spans a request's walk starts and the W3C
// trace context it carries to the upstream (tracer.go, traceparent.go). It knows nothing of
// routes, tokens or policies; the gateway names its spans and sets their attributes.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// What the environment configures, all read by the OpenTelemetry SDK itself except the
// protocol (the OTLP exporters are two modules; autoexport would choose between them but also
// brings the metric and log exporters into the binary):
//
//	OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT   where spans go (default
//	    http://localhost:4318, or localhost:4317 with grpc), and the exporters' other
//	    OTEL_EXPORTER_OTLP_* settings (headers, timeout, TLS, compression)
//	OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL   http/protobuf (default) or grpc
//	OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG   default parentbased_always_on; e.g.
//	    parentbased_traceidratio with 0.01 samples 1% of the traces the gateway starts
//	OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES    service.name defaults to "idpgate"
//	OTEL_BSP_MAX_QUEUE_SIZE (default 2048), OTEL_BSP_SCHEDULE_DELAY, OTEL_BSP_EXPORT_TIMEOUT,
//	OTEL_BSP_MAX_EXPORT_BATCH_SIZE   the batch span processor
//
// Spans are exported in the background: a request never waits for the collector. At most
// OTEL_BSP_MAX_QUEUE_SIZE finished spans wait for export; a span that finds the queue full is
// dropped, and so is a batch the exporter could not deliver (after its own retries), both
// counted in idpgate_trace_spans_dropped_total{reason="queue_full"|"export_failed"}.

const (
	envProtocol       = "OTEL_EXPORTER_OTLP_PROTOCOL"
	envTracesProtocol = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	envQueueSize      = "OTEL_BSP_MAX_QUEUE_SIZE"
	defaultQueueSize  = 2048 // the SDK's default
	// shutdownTimeout bounds the last export on Shutdown when the caller's context does not.
	shutdownTimeout = 5 * time.Second
	// errorLogEvery is how often an export failure is logged at most.
	errorLogEvery = time.Minute
)

// Options configure New. Every field is optional.
type Options struct {
	// ServiceVersion is the service.version resource attribute ("" for none).
	ServiceVersion string
	// Logger receives export failures, at most one a minute; nil means slog.Default().
	Logger *slog.Logger
	// Exporter replaces the OTLP exporter the environment names (tests).
	Exporter sdktrace.SpanExporter
	// QueueSize bounds the spans waiting for export; zero means OTEL_BSP_MAX_QUEUE_SIZE, or 2048.
	QueueSize int
	// Sampler replaces the one OTEL_TRACES_SAMPLER names (tests and benchmarks).
	Sampler sdktrace.Sampler
}

// Provider is the gateway's tracer provider and what it counts. Shutdown flushes it.
type Provider struct {
	tp        *sdktrace.TracerProvider
	log       *slog.Logger
	queueSize int64
	queued    atomic.Int64 // sampled spans handed to the batch processor and not yet exported
	lastLog   atomic.Int64 // unix nanoseconds of the last export failure logged

	dropped  *prometheus.CounterVec
	exported prometheus.Counter
}

// New builds the provider from the OTEL_* environment (see the comment above). It fails on a
// setting it cannot honour, naming the variable; it does not wait for the collector.
func New(ctx context.Context, opts Options) (*Provider, error) {
	p := &Provider{log: opts.Logger}
	if p.log == nil {
		p.log = slog.Default()
	}
	p.queueSize = int64(opts.QueueSize)
	if p.queueSize <= 0 {
		n, err := envInt(envQueueSize, defaultQueueSize)
		if err != nil {
			return nil, err
		}
		p.queueSize = int64(n)
	}
	p.dropped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "idpgate_trace_spans_dropped_total",
		Help: "Sampled spans not delivered to the trace collector, by reason: queue_full (the export queue was full) or export_failed (the exporter gave up on the batch).",
	}, []string{"reason"})
	p.dropped.WithLabelValues("queue_full")
	p.dropped.WithLabelValues("export_failed")
	p.exported = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "idpgate_trace_spans_exported_total", Help: "Spans delivered to the trace collector.",
	})

	exp := opts.Exporter
	if exp == nil {
		var err error
		if exp, err = exporterFromEnv(ctx); err != nil {
			return nil, err
		}
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", "idpgate")),
		resource.WithAttributes(serviceVersion(opts.ServiceVersion)...),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(), // OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME: last, so they win
	)
	if err != nil {
		return nil, fmt.Errorf("the trace resource (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES): %w", err)
	}
	bsp := sdktrace.NewBatchSpanProcessor(&countingExporter{SpanExporter: exp, p: p},
		sdktrace.WithMaxQueueSize(int(p.queueSize)))
	tpOpts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res), sdktrace.WithSpanProcessor(&boundedProcessor{SpanProcessor: bsp, p: p})}
	if opts.Sampler != nil {
		tpOpts = append(tpOpts, sdktrace.WithSampler(opts.Sampler))
	} else if err := checkSamplerEnv(); err != nil {
		return nil, err
	}
	p.tp = sdktrace.NewTracerProvider(tpOpts...) // reads OTEL_TRACES_SAMPLER(_ARG) itself
	// The SDK reports errors (each failed export among them) to the global handler, which
	// would print every one to stderr; the counting exporter logs failed exports at most once
	// a minute, the rest goes to the debug log.
	log := p.log
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { log.Debug("opentelemetry", "error", err) }))
	return p, nil
}

func serviceVersion(v string) []attribute.KeyValue {
	if v == "" {
		return nil
	}
	return []attribute.KeyValue{attribute.String("service.version", v)}
}

// exporterFromEnv is the OTLP exporter of the protocol the environment names; the exporter
// reads its endpoint and other settings from the environment itself.
func exporterFromEnv(ctx context.Context) (sdktrace.SpanExporter, error) {
	name, proto := envTracesProtocol, os.Getenv(envTracesProtocol)
	if proto == "" {
		name, proto = envProtocol, os.Getenv(envProtocol)
	}
	switch strings.TrimSpace(proto) {
	case "", "http/protobuf":
		return otlptracehttp.New(ctx)
	case "grpc":
		return otlptracegrpc.New(ctx)
	default:
		return nil, fmt.Errorf("%s=%q: the gateway exports traces with http/protobuf or grpc", name, proto)
	}
}

// checkSamplerEnv refuses a sampler the SDK would silently replace by its default (it reports
// an unknown OTEL_TRACES_SAMPLER to the error handler and samples everything).
func checkSamplerEnv() error {
	s := strings.TrimSpace(os.Getenv("OTEL_TRACES_SAMPLER"))
	switch s {
	case "", "always_on", "always_off", "parentbased_always_on", "parentbased_always_off":
		return nil
	case "traceidratio", "parentbased_traceidratio":
		arg := strings.TrimSpace(os.Getenv("OTEL_TRACES_SAMPLER_ARG"))
		if arg == "" {
			return nil // the SDK's default ratio, 1
		}
		if r, err := strconv.ParseFloat(arg, 64); err != nil || r < 0 || r > 1 {
			return fmt.Errorf("OTEL_TRACES_SAMPLER_ARG=%q: a ratio from 0 to 1 is required by %s", arg, s)
		}
		return nil
	default:
		return fmt.Errorf("OTEL_TRACES_SAMPLER=%q: use always_on, always_off, traceidratio or their parentbased_ forms", s)
	}
}

func envInt(name string, def int) (int, error) {
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s=%q: a positive whole number is required", name, v)
	}
	return n, nil
}

// TracerProvider is what the gateway and its token checks start spans with.
func (p *Provider) TracerProvider() trace.TracerProvider { return p.tp }

// Collectors are the provider's Prometheus metrics, for the gateway's registry.
func (p *Provider) Collectors() []prometheus.Collector {
	return []prometheus.Collector{p.dropped, p.exported}
}

// ForceFlush exports what is queued now (tests).
func (p *Provider) ForceFlush(ctx context.Context) error { return p.tp.ForceFlush(ctx) }

// Shutdown exports what is queued, within ctx's deadline or shutdownTimeout, and stops.
func (p *Provider) Shutdown(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, shutdownTimeout)
		defer cancel()
	}
	return p.tp.Shutdown(ctx)
}

// boundedProcessor keeps the batch processor's queue from overflowing on its own (where it
// drops spans without telling anyone): it lets at most queueSize sampled spans wait for
// export and counts the ones it turns away.
type boundedProcessor struct {
	sdktrace.SpanProcessor
	p *Provider
}

func (b *boundedProcessor) OnEnd(s sdktrace.ReadOnlySpan) {
	if !s.SpanContext().IsSampled() {
		return // the batch processor exports sampled spans only
	}
	if b.p.queued.Add(1) > b.p.queueSize {
		b.p.queued.Add(-1)
		b.p.dropped.WithLabelValues("queue_full").Inc()
		return
	}
	b.SpanProcessor.OnEnd(s)
}

// countingExporter counts what its exporter delivered or lost, and frees the queue places
// of each batch it was given.
type countingExporter struct {
	sdktrace.SpanExporter
	p *Provider
}

func (e *countingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	for i, s := range spans {
		spans[i] = withoutQuery(s)
	}
	err := e.SpanExporter.ExportSpans(ctx, spans)
	e.p.queued.Add(-int64(len(spans)))
	if err != nil {
		e.p.dropped.WithLabelValues("export_failed").Add(float64(len(spans)))
		e.p.logFailure(err, len(spans))
		return err
	}
	e.p.exported.Add(float64(len(spans)))
	return nil
}

func (p *Provider) logFailure(err error, spans int) {
	now, last := time.Now().UnixNano(), p.lastLog.Load()
	if now-last < int64(errorLogEvery) || !p.lastLog.CompareAndSwap(last, now) {
		return
	}
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("the collector did not answer in time: %w", err)
	}
	p.log.Warn("trace export failed; spans dropped (counted in idpgate_trace_spans_dropped_total; logged at most once a minute)",
		"spans", spans, "error", err)
}

// withoutQuery is s without the query (and any user info) of the URLs its attributes carry:
// otelhttp records url.full with the query, and a query may carry anything (the access log
// leaves it out too). Other attributes are left as they are.
func withoutQuery(s sdktrace.ReadOnlySpan) sdktrace.ReadOnlySpan {
	attrs := s.Attributes()
	var out []attribute.KeyValue
	for i, kv := range attrs {
		redacted, ok := kv, false
		switch kv.Key {
		case "url.full", "http.url":
			if v := kv.Value.AsString(); strings.ContainsAny(v, "?#@") {
				redacted, ok = attribute.String(string(kv.Key), bareURL(v)), true
			}
		case "url.query":
			redacted, ok = attribute.String("url.query", "REDACTED"), true
		}
		if ok && out == nil {
			out = append(make([]attribute.KeyValue, 0, len(attrs)), attrs[:i]...)
		}
		if out != nil {
			out = append(out, redacted)
		}
	}
	if out == nil {
		return s
	}
	return redactedSpan{ReadOnlySpan: s, attrs: out}
}

type redactedSpan struct {
	sdktrace.ReadOnlySpan
	attrs []attribute.KeyValue
}

func (r redactedSpan) Attributes() []attribute.KeyValue { return r.attrs }

// bareURL is raw without user info, query and fragment ("" when it does not parse).
func bareURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	return u.String()
}
