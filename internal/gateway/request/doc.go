// Package request is the gateway's request path: what happens to one request on the proxy
// listener, from its request line to the upstream's answer or a refusal, and the same checks
// run without traffic for the admin API's decisions. One type, Checker, holds what the checks
// read (the configuration served, the limits and the failed-auth limiter, the DPoP checker,
// the tracer, the metrics, the clock, the trusted proxies, the client certificate header and
// the decision path); the gateway builds it with New and hands it the proxy listener's
// requests (Checker.Serve).
//
// The files, in the order a request meets them:
//
//	check.go             Checker, New, Serve (which of the next three answers), and check: the
//	                     checks in order, shared by the proxy, the decision endpoint and Explain
//	path_rules.go        request targets and paths refused before routing
//	decision.go          the decision endpoint (forward-auth): the request a trusted proxy
//	                     names, the client address, trusted proxies
//	resource.go          RFC 9728 metadata answered under /.well-known/oauth-protected-resource,
//	                     and resource_metadata in challenges
//	header_rules.go      headers refused on the way in, and dropped and set on the way out
//	cors.go              preflights answered without a token
//	sender_constraint.go the token's scheme and its binding: DPoP proofs, client certificates
//	refusal.go           every answer that is not the upstream's: built, counted, logged and
//	                     written in one place (Checker.refuse)
//	proxy.go             forwarding: identity headers, the upstreams' reverse proxies, their
//	                     transport and buffers
//	targets.go           the dialer that never connects to a link-local address, and the
//	                     admin API's placement check (CheckPlacement)
//	tracing_wiring.go    which child spans a request has
//	explain.go           decisions without traffic (Explain): the described request, run
//	                     through check as a simulation, and the sentence that says why
//
// Check order (check.go): path and headers, route (with path settling), the method override
// query, a CORS preflight, the token's presence, the client address's refused tokens, the
// token, its binding, the API's conditions, the policies, the limits.
//
// It imports the contract (internal/adminapi) and the rooms below it: config (the snapshot
// and the compiled routes and policies it reads), limits, metrics, accesslog (the record it
// notes its decision on), tracing and token. It imports neither the admin API's handlers nor
// the gateway that wires it: the admin API reaches Explain and CheckPlacement through the
// gateway.
package request
