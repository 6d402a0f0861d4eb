// Package gateway is idpgate's data plane: routing, policy enforcement, rate limits and
// quotas, the reverse proxy, the admin API handlers and the store. The configuration it serves
// (the snapshot, route lookup, compiled policies and conditions, CORS, resource metadata,
// in-place changes and publishing) lives in internal/gateway/config. How a bearer token is
// checked (JWT, JWKS, introspection and their caches) lives in internal/gateway/token; the
// gateway asks it for an identity or a typed refusal. The
// OpenTelemetry tracer provider and the W3C trace context rules live in
// internal/gateway/tracing; tracing_wiring.go says which spans a request has.
package gateway
