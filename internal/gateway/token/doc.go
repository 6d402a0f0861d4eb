// Package token is how idpgate checks a bearer token: it turns a token and a protected API's
// jwt or introspection settings into the caller's Identity, or into a typed refusal (*Error)
// whose Description is safe for the client and whose Reason is for logs only. It knows
// nothing of HTTP routing, policies, limits or storage; internal/gateway asks it for a
// Validator per API (Factory.ForAPI) and writes the answer.
//
// What is here, one concept per file:
//
//	factory.go        Factory: builds a Validator per API, owns the caches that outlive config snapshots
//	validator.go      the Validator interface and the token-length guard every validator applies first
//	bearer.go         Bearer: the token of an Authorization: Bearer header
//	identity.go       Identity: what a valid token says about its caller
//	claims.go         how claims (a JWT payload or an introspection answer) map to an Identity
//	error.go          Error and its codes (invalid_token, insufficient_scope, temporarily_unavailable)
//	jwt.go            JWT access tokens (RFC 7519, RFC 9068), checked against a JWKS
//	jwks.go           fetching, caching and refreshing one jwks_uri's keys
//	introspection.go  opaque tokens, asked of an RFC 7662 endpoint
//	cache.go          the verified-token cache shared by both kinds of validator
//	dpop.go           DPoP proofs (RFC 9449 §4.3) and their replay cache
//	remote.go         one GET or POST to the IdP: status, capped body, redacted URL in logs
//	metrics.go        the Prometheus counters the factory registers
//	defaults.go       the algorithm allow-list of internal/adminapi, as go-jose's type
//
// A JWT is checked in this order (jwt.go has the details): length and canonical compact
// shape; the verified-token cache; the signature, with the API's algorithm allow-list and a
// key found only by kid in the API's JWKS (never jku, x5u, jwk or x5c); the claims exp
// (required), iss, aud, nbf and iat with the API's leeway; the API's required scopes, on
// every request, cached or not.
//
// An opaque token is checked in this order (introspection.go has the details): length; the
// introspection cache; the RFC 6750 b64token syntax; one shared request to the endpoint;
// active, exp and nbf of the answer; the API's required scopes, on every request.
package token
