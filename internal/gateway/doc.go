// Package gateway is idpgate's data plane and admin API, wired together: Options, New,
// Gateway, its ProxyHandler and AdminHandler, Close, and the validator factory's wiring. The
// request path (every check, refusal and answer of the proxy listener, the proxy itself and
// the decisions without traffic) lives in internal/gateway/request; the configuration it
// serves (the snapshot, route lookup, compiled policies and conditions, CORS, resource
// metadata, in-place changes and publishing) in internal/gateway/config. How a bearer token is
// checked (JWT, JWKS, introspection and their caches) lives in internal/gateway/token; the
// request path asks it for an identity or a typed refusal. The OpenTelemetry tracer provider
// and the W3C trace context rules live in internal/gateway/tracing;
// request/tracing_wiring.go says which spans a request has.
//
// Rooms below the root, each importing none of the rooms above it:
//
//	request    the request path: Checker runs the checks in order and forwards, refuses or
//	           answers (the decision endpoint, preflights, RFC 9728 metadata); Explain
//	           decides a described request without traffic
//	config     the configuration served (see above)
//	limits     rate limits and quotas (in memory or in Redis, with the fallback while Redis is
//	           away), the failed-auth limiter and the Redis DPoP replay store
//	accesslog  the access log's encoder and whole-line writer, and each request's server span
//	metrics    the Prometheus collectors, a request's outcome and one API's series
//	admin      the admin listener: the admin API's handlers over the store and config.Live, the
//	           admin token, /healthz, /readyz and /metrics; /v1/decisions asks an
//	           admin.Decider (request.Checker's Explain) for its answer
//
// What each room imports of the others (the root imports them all and none imports the root;
// adminapi, the contract, is below every room):
//
//	request    -> config, limits, metrics, accesslog, token, tracing
//	admin      -> config, store, token
//	config     -> limits, metrics, store, token
//	limits     -> store, token
//	metrics    -> store
//	accesslog  -> tracing
//	token      -> tracing
//	store, tracing: no other room
package gateway
