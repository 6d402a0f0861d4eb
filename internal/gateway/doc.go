// Package gateway is idpgate's data plane: routing, policy enforcement, rate limits and
// quotas, the reverse proxy, the admin API handlers and the store. The configuration it serves
// (the snapshot, route lookup, compiled policies and conditions, CORS, resource metadata,
// in-place changes and publishing) lives in internal/gateway/config. How a bearer token is
// checked (JWT, JWKS, introspection and their caches) lives in internal/gateway/token; the
// gateway asks it for an identity or a typed refusal. The
// OpenTelemetry tracer provider and the W3C trace context rules live in
// internal/gateway/tracing; tracing_wiring.go says which spans a request has.
//
// Rooms below the root, each importing none of the rooms above it:
//
//	limits     rate limits and quotas (in memory or in Redis, with the fallback while Redis is
//	           away), the failed-auth limiter and the Redis DPoP replay store
//	accesslog  the access log's encoder and whole-line writer, and each request's server span
//	metrics    the Prometheus collectors, a request's outcome and one API's series
//	admin      the admin listener: the admin API's handlers over the store and config.Live, the
//	           admin token, /healthz, /readyz and /metrics; /v1/decisions asks an
//	           admin.Decider (the request path's simulation, admin_wiring.go) for its answer
//
// What each room imports of the others (the root imports them all and none imports the root;
// adminapi, the contract, is below every room):
//
//	admin      -> config, store, token
//	config     -> limits, metrics, store, token
//	limits     -> store, token
//	metrics    -> store
//	accesslog  -> tracing
//	token      -> tracing
//	store, tracing: no other room
package gateway
