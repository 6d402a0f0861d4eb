package request

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/limits"
)

// Tracing (Options.Tracing; off by default). Each request on the proxy listener has a server
// span, started with its access record (internal/gateway/accesslog) as a child of the client's W3C trace
// context, or as a new trace's root when the client sent none or a malformed one. It is
// named after the API once routed ("idpgate" before) and carries:
//
//	idpgate.outcome, http.response.status_code, idpgate.api.id, idpgate.policy.id,
//	idpgate.client_id, http.request.method, url.path (no query)
//	and for a decision: idpgate.decision=true, idpgate.forwarded.method, idpgate.forwarded.path
//
// never a token, a header or a claim value besides the client id. Its children: "token
// check" (idpgate.token.cache=hit|miss|refused, set by the token package) with "jwks fetch"
// and "introspection" below it when the check calls the IdP (their HTTP client spans carry
// the context to the IdP), "dpop check", "rate limit" (the call to Redis, when limits are
// counted there; idpgate.limits.store=redis), and "upstream METHOD", whose context the upstream
// receives in traceparent (otelhttp). A request that is not sampled has no child spans, but
// the upstream still receives its context (tracing.Tracer.Outbound). Tracing off, no span is
// started and the client's traceparent reaches the upstream as it came, unless it is
// malformed: then it and tracestate are removed.

var attrStoreRedis = []attribute.KeyValue{attribute.String("idpgate.limits.store", "redis")}

// endCheckSpan ends a child span of the checks, marking it failed when the check refused.
func endCheckSpan(span trace.Span, ref *refusal) {
	if ref != nil && span.IsRecording() {
		span.SetStatus(codes.Error, ref.code)
	}
	span.End()
}

// endTokenSpan ends the "token check" span, marking it failed when the token was refused
// (with the refusal's code only: a token error's reason may quote the token's claims).
func endTokenSpan(span trace.Span, err error) {
	if err != nil && span.IsRecording() {
		span.SetStatus(codes.Error, refusalOfToken(err).code)
	}
	span.End()
}

// startLimitSpan starts the "rate limit" span when limits are counted in Redis: the call to
// Redis. Counted in memory, a limit takes well under a microsecond and has no span.
func (c *Checker) startLimitSpan(ctx context.Context) trace.Span {
	if !c.tracer.On() || !trace.SpanFromContext(ctx).IsRecording() {
		return noSpan // before building the options, which allocate
	}
	if _, redis := c.limits.(*limits.Redis); !redis {
		return noSpan
	}
	_, span := c.tracer.Start(ctx, "rate limit", trace.WithAttributes(attrStoreRedis...))
	return span
}

func endLimitSpan(span trace.Span, l *limits.Result) {
	if !l.Allowed && span.IsRecording() {
		span.SetAttributes(attribute.Bool("idpgate.limits.exceeded", true))
	}
	span.End()
}

// noSpan is a span that records nothing, for a step that starts none.
var noSpan trace.Span = noop.Span{}
