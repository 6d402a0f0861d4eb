package token

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Tracing (FactoryOptions.Tracer): the span a Validate call runs under (the gateway's "token
// check") gets idpgate.token.cache = hit (a verified or introspected token reused), miss, or
// refused (an introspected token refused moments ago, from the cache of inactive answers). A
// JWKS fetch and an introspection call run on the factory's context, shared by every request
// waiting for them, so their spans ("jwks fetch", "introspection") are children of the
// request that started them, if any (a background refresh starts a trace of its own); the
// HTTP client span under each carries the context to the IdP. No span carries a token, a
// claim, or the IdP's answer.

var (
	attrsCacheHit     = []attribute.KeyValue{attribute.String("idpgate.token.cache", "hit")}
	attrsCacheMiss    = []attribute.KeyValue{attribute.String("idpgate.token.cache", "miss")}
	attrsCacheRefused = []attribute.KeyValue{attribute.String("idpgate.token.cache", "refused")}
)

// traceCache notes on ctx's span, when it records, how the token cache answered. It
// allocates nothing when the span does not record.
func traceCache(ctx context.Context, attrs []attribute.KeyValue) {
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.SetAttributes(attrs...)
	}
}

// endSpan ends a span of a call to the IdP, marking it failed with err's text (the errors of
// remote.go name neither a token nor a secret).
func endSpan(span trace.Span, err error) {
	if err != nil && span.IsRecording() {
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// tracedClient is client with its transport under the tracer's otelhttp transport.
func (f *Factory) tracedClient(client *http.Client) *http.Client {
	if !f.tracer.On() {
		return client
	}
	base := client.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c := *client
	c.Transport = f.tracer.HTTPTransport(base, "idp")
	return &c
}
