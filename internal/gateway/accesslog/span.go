package accesslog

import (
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// A request's server span (internal/gateway/request's tracing_wiring.go lists its attributes and
// children) is started with its record, named after the API once routed ("idpgate" before),
// and ended when the answer is complete, with its status.

const serverSpanName = "idpgate"

var attrDecision = attribute.Bool("idpgate.decision", true)

// startServerSpan starts the request's server span with the request's own attributes, set
// only when it records (a request that is not sampled costs no attribute).
func (l *Log) startServerSpan(r *http.Request) (*http.Request, trace.Span) {
	ctx, span := l.tracer.StartServer(r, serverSpanName)
	if span.IsRecording() {
		span.SetAttributes(attribute.String("http.request.method", r.Method), attribute.String("url.path", r.URL.EscapedPath()))
	}
	return r.WithContext(ctx), span
}

// traceDecided names the server span after the API and records what the checks decided.
func (rec *Record) traceDecided(c *Checked) {
	span := rec.span
	if span == nil || !span.IsRecording() {
		return
	}
	attrs := make([]attribute.KeyValue, 0, 8)
	attrs = append(attrs, attribute.String("idpgate.outcome", c.Outcome))
	if c.APIID != "" {
		span.SetName(c.API)
		attrs = append(attrs, attribute.String("idpgate.api.id", c.APIID))
	}
	if c.Policy != "" {
		attrs = append(attrs, attribute.String("idpgate.policy.id", c.Policy))
	}
	if c.ClientID != "" {
		attrs = append(attrs, attribute.String("idpgate.client_id", c.ClientID))
	}
	if rec.Decision {
		attrs = append(attrs, attrDecision,
			attribute.String("idpgate.forwarded.method", rec.Method),
			attribute.String("idpgate.forwarded.path", rec.Path))
	}
	span.SetAttributes(attrs...)
}

// endServerSpan records the answer's status and ends the span.
func endServerSpan(span trace.Span, status int) {
	if span.IsRecording() {
		if status == 0 {
			status = http.StatusOK // what net/http answers for a handler that wrote nothing
		}
		span.SetAttributes(attribute.Int("http.response.status_code", status))
		if status >= 500 {
			span.SetStatus(codes.Error, http.StatusText(status))
		}
	}
	span.End()
}
