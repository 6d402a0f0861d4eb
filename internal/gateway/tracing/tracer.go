package tracing

import (
	"context"
	"net/http"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Tracer starts the spans of a request's walk through the gateway. A nil *Tracer is tracing
// off: its methods start nothing and allocate nothing, and the request's W3C trace context
// passes to the upstream as it came, unless its traceparent is malformed (Outbound).
type Tracer struct {
	tp     trace.TracerProvider
	tracer trace.Tracer
	prop   propagation.TraceContext
}

// ScopeName names the gateway's instrumentation scope.
const ScopeName = "github.com/idpgate/terraform-provider-idpgate/internal/gateway"

// NewTracer returns the tracer of tp; nil (tracing off) when tp is nil.
func NewTracer(tp trace.TracerProvider) *Tracer {
	if tp == nil {
		return nil
	}
	return &Tracer{tp: tp, tracer: tp.Tracer(ScopeName)}
}

// On reports whether tracing is on.
func (t *Tracer) On() bool { return t != nil }

var serverKind = trace.WithSpanKind(trace.SpanKindServer)

// noSpan is what the Start methods return when they start nothing; ending it does nothing.
var noSpan trace.Span = noop.Span{}

// StartServer starts the server span of a request on the proxy listener: a child of the
// client's W3C trace context when its traceparent is well formed, else the root of a new
// trace (W3C Trace Context §4.3: a vendor that cannot parse traceparent restarts the trace,
// and then ignores tracestate).
func (t *Tracer) StartServer(r *http.Request, name string) (context.Context, trace.Span) {
	if t == nil {
		return r.Context(), noSpan
	}
	ctx := r.Context()
	if _, present := r.Header["Traceparent"]; present && !MalformedTraceparent(r.Header) {
		ctx = t.prop.Extract(ctx, propagation.HeaderCarrier(r.Header))
	}
	return t.tracer.Start(ctx, name, serverKind)
}

// Start starts a child of the span in ctx; nothing when tracing is off or that span is not
// recording (not sampled: its children would not be either).
func (t *Tracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if t == nil || !trace.SpanFromContext(ctx).IsRecording() {
		return ctx, noSpan
	}
	return t.tracer.Start(ctx, name, opts...)
}

// Outbound sets the W3C trace context on the headers of the request to the upstream, which
// start as a copy of the client's. Tracing off: the client's traceparent and tracestate pass
// unchanged, unless the traceparent is malformed; then both are removed (the gateway does not
// take part in the trace, so it cannot restart it). Tracing on: the client's are replaced by
// the gateway's context, injected here for a request that is not sampled, and by Transport,
// with the upstream call's own span, for one that is.
func (t *Tracer) Outbound(ctx context.Context, h http.Header) {
	if t == nil {
		if MalformedTraceparent(h) {
			delete(h, "Traceparent")
			delete(h, "Tracestate")
		}
		return
	}
	delete(h, "Traceparent")
	delete(h, "Tracestate")
	if !trace.SpanFromContext(ctx).IsRecording() {
		t.prop.Inject(ctx, propagation.HeaderCarrier(h))
	}
}

// Transport wraps the transport to the upstream: a request whose span is recording goes
// through otelhttp, which starts the client span "upstream METHOD" and injects its context;
// any other request goes straight to base. Tracing off: base itself.
func (t *Tracer) Transport(base http.RoundTripper) http.RoundTripper {
	if t == nil {
		return base
	}
	return &upstreamTransport{base: base, traced: t.HTTPTransport(base, "upstream")}
}

// HTTPTransport is base under otelhttp: a client span named "<prefix> METHOD" for every
// request, whose context the request carries to the server. For the gateway's calls to the
// IdP (JWKS, introspection); nil Tracer: base.
func (t *Tracer) HTTPTransport(base http.RoundTripper, prefix string) http.RoundTripper {
	if t == nil {
		return base
	}
	return otelhttp.NewTransport(base,
		otelhttp.WithTracerProvider(t.tp),
		otelhttp.WithPropagators(t.prop),
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()), // Prometheus has the gateway's metrics
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return prefix + " " + r.Method }),
	)
}

type upstreamTransport struct {
	base, traced http.RoundTripper
}

func (u *upstreamTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if trace.SpanFromContext(r.Context()).IsRecording() {
		return u.traced.RoundTrip(r)
	}
	return u.base.RoundTrip(r)
}

// StartDetached starts a span under ctx (its deadline and values) whose parent is parent
// rather than ctx's span: for work a request triggers but that runs on the gateway's own
// context, shared with other requests (a JWKS fetch, an introspection call). An invalid
// parent makes it the root of a trace of its own; a parent that is not sampled, nothing.
func (t *Tracer) StartDetached(ctx context.Context, parent trace.SpanContext, name string) (context.Context, trace.Span) {
	if t == nil || (parent.IsValid() && !parent.IsSampled()) {
		return ctx, noSpan
	}
	return t.tracer.Start(trace.ContextWithSpanContext(ctx, parent), name, trace.WithSpanKind(trace.SpanKindClient))
}
