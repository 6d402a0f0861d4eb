// Package adminapi holds the wire types of the idpgate gateway's admin API and a Go client
// for it. Both the gateway (server side) and the Terraform provider (client side) import it,
// so the two cannot drift apart.
//
// Routes (all JSON, all authenticated with "Authorization: Bearer <admin token>"):
//
//	GET    /v1/apis             -> APIList (?limit=&after=: one page, see below)
//	POST   /v1/apis             API (without id) -> 201 API
//	GET    /v1/apis/{id}        -> API
//	PUT    /v1/apis/{id}        API (full replacement) -> API
//	DELETE /v1/apis/{id}        -> 204
//	GET    /v1/policies         -> PolicyList (?limit=&after=)
//	POST   /v1/policies         Policy (without id) -> 201 Policy
//	GET    /v1/policies/{id}    -> Policy
//	PUT    /v1/policies/{id}    Policy (full replacement) -> Policy
//	DELETE /v1/policies/{id}    -> 204
//	POST   /v1/decisions        DecisionRequest -> Decision (what the proxy would do; internal/gateway/request/explain.go)
//
// Lists come in pages, in id order: ?limit=N (DefaultPageSize when absent, at most
// MaxPageSize) objects whose id sorts after ?after=; NextAfter is the after of the next page,
// empty on the last. Reading one object never needs a list: GET /v1/apis/{id}.
//
// Errors are an Error body with status 400 (a bad field, named in Error.Field), 401 (bad or
// missing admin token), 404 (no such object), 409 (a name, listen path or resource already
// taken, or a policy granting an API that does not exist) or 5xx.
package adminapi

import "time"

// API is a protected API: requests under ListenPath are checked and proxied to UpstreamURL.
// Exactly one of JWT and Introspection is set.
type API struct {
	// ID is assigned by the gateway on create; it is ignored in POST and PUT bodies.
	ID         string `json:"id,omitempty"`
	Name       string `json:"name"`
	ListenPath string `json:"listen_path"`
	// Hosts, when set, restrict the API to requests whose Host (or, for a decision from a
	// trusted proxy, X-Forwarded-Host) is one of them, compared without case, port or a
	// trailing dot. A request is matched first among the APIs naming its host, then among
	// those naming none; within each, the longest listen path wins.
	Hosts           []string `json:"hosts,omitempty"`
	UpstreamURL     string   `json:"upstream_url"`
	StripListenPath bool     `json:"strip_listen_path"`

	JWT           *JWTValidation `json:"jwt,omitempty"`
	Introspection *Introspection `json:"introspection,omitempty"`

	// ForwardClaims maps an upstream request header to the token claim whose value it
	// carries, in addition to the identity headers the gateway always sets (HeaderSubject,
	// HeaderClientID, HeaderScope and HeaderPolicy: X-Idpgate-Subject, X-Idpgate-Client-Id,
	// X-Idpgate-Scope, X-Idpgate-Policy). A header may not start with HeaderPrefix.
	ForwardClaims map[string]string `json:"forward_claims,omitempty"`
	// ForwardOverrideHeaders lets X-HTTP-Method-Override, X-HTTP-Method, X-Method-Override,
	// X-Original-URL and X-Rewrite-URL reach the upstream, and requests with a _method query
	// parameter (Laravel, Symfony, Rails) through. By default the gateway drops those headers
	// and refuses the parameter (400): the policy decided on the request's own method and path,
	// and an upstream that obeys them would act on others.
	ForwardOverrideHeaders bool `json:"forward_override_headers,omitempty"`
	// SenderConstraint is SenderConstraintNone (the default, also ""), or requires tokens
	// bound to their holder: SenderConstraintDPoP (RFC 9449), SenderConstraintMTLS (RFC
	// 8705), SenderConstraintDPoPOrMTLS. Bound tokens are checked against their binding
	// whatever this says.
	SenderConstraint string `json:"sender_constraint,omitempty"`
	// PathNormalization is what the gateway does with a request path that some upstream
	// reads as another path (merged slashes, ";" parameters, trailing dots or spaces in a
	// segment, their percent-encoded forms, Unicode forms NFKC folds to those):
	// PathNormalizationReject (the default, also ""), PathNormalizationNormalize or
	// PathNormalizationKeep. Named after Envoy's path_with_escaped_slashes_action.
	PathNormalization string `json:"path_normalization,omitempty"`
	// CaseInsensitivePaths says the upstream reads paths without regard to ASCII case (IIS,
	// ASP.NET): the listen path (which must then be lower case) and the access rights' path
	// patterns are matched against the lower-cased request path, and a request that another
	// API would serve once lower-cased goes to that API or is refused.
	CaseInsensitivePaths bool `json:"case_insensitive_paths,omitempty"`

	// Resource is the API's canonical URI, as OAuth clients name it (RFC 9728, RFC 8707), such
	// as https://mcp.example.com/mcp: its path is ListenPath or below it, its host one of Hosts
	// when they are set. resource.go says what it turns on. The other fields here apply only
	// with a Resource.
	Resource string `json:"resource,omitempty"`
	// ResourceName and ResourceDocumentation (an URL) go into the metadata as they are.
	ResourceName          string `json:"resource_name,omitempty"`
	ResourceDocumentation string `json:"resource_documentation,omitempty"`
	// ScopesSupported replaces the metadata's scopes_supported, which is otherwise the
	// required scopes of the API and of every policy's access right to it.
	ScopesSupported []string `json:"scopes_supported,omitempty"`
	// AuthorizationServers are the metadata's authorization_servers (issuer URLs); empty
	// means jwt.issuer. Required with introspection.
	AuthorizationServers []string `json:"authorization_servers,omitempty"`
	// RequireResourceAudience false accepts tokens without Resource in aud, for identity
	// providers that cannot put it there; nil means true.
	RequireResourceAudience *bool `json:"require_resource_audience,omitempty"`
	// Conditions are CEL expressions every request to the API must meet, after its token is
	// checked and before any policy is consulted (conditions.go says what they can use).
	Conditions []string `json:"conditions,omitempty"`
	// CORS, when set, lets browser applications on the allowed origins call the API
	// (cors.go).
	CORS *CORS `json:"cors,omitempty"`

	CreatedAt time.Time `json:"created_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// JWTValidation checks JWT access tokens locally against the issuer's JWKS.
type JWTValidation struct {
	Issuer  string `json:"issuer"`
	JWKSURI string `json:"jwks_uri"`
	// Audiences: the token's aud must contain at least one of these. Empty means aud is not checked.
	Audiences []string `json:"audiences,omitempty"`
	// AllowedAlgorithms defaults to DefaultAllowedAlgorithms (["RS256"]). Only the asymmetric
	// JWS algorithms of AllowedAlgorithms are accepted.
	AllowedAlgorithms []string `json:"allowed_algorithms,omitempty"`
	// Leeway for exp/nbf/iat; nil means DefaultLeeway (30s), 0s means none; at most MaxLeeway
	// (5m). A pointer, so that the wire tells "unset" from zero.
	Leeway *Duration `json:"leeway,omitempty"`
	// IdentityClaim defaults to DefaultIdentityClaim ("sub").
	IdentityClaim string `json:"identity_claim,omitempty"`
	// ClientIDClaim: when empty, client_id, then cid, then azp is used.
	ClientIDClaim string `json:"client_id_claim,omitempty"`
	// PolicyClaim defaults to DefaultPolicyClaim ("pol"); its value (a string or an array of strings) names
	// policies by ID or name, as Tyk's "pol" claim does.
	PolicyClaim string `json:"policy_claim,omitempty"`
	// RequiredScopes must all be present in the token's scope (or scp) claim.
	RequiredScopes []string `json:"required_scopes,omitempty"`
}

// Introspection checks opaque or JWT tokens with an RFC 7662 introspection endpoint.
type Introspection struct {
	Endpoint string `json:"endpoint"`
	ClientID string `json:"client_id"`
	// ClientSecret is write-only: the gateway never returns it; GET answers carry
	// ClientSecretSet instead.
	ClientSecret    string `json:"client_secret,omitempty"`
	ClientSecretSet bool   `json:"client_secret_set,omitempty"`
	// CacheTTL bounds how long an "active" answer is reused (never past the token's exp);
	// nil means DefaultIntrospectionCacheTTL (60s); 0s disables the cache; at most MaxCacheTTL.
	CacheTTL *Duration `json:"cache_ttl,omitempty"`
	// Same meaning as in JWTValidation.
	IdentityClaim  string   `json:"identity_claim,omitempty"`
	ClientIDClaim  string   `json:"client_id_claim,omitempty"`
	PolicyClaim    string   `json:"policy_claim,omitempty"`
	RequiredScopes []string `json:"required_scopes,omitempty"`
}

// Page sizes of the list routes.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// APIList is the answer to GET /v1/apis: one page.
type APIList struct {
	APIs []API `json:"apis"`
	// NextAfter is the ?after= of the next page; empty on the last page.
	NextAfter string `json:"next_after,omitempty"`
}

// Policy grants the clients bound to it access to APIs, under limits. A request is allowed
// when some policy bound to its token (by client id, or named by the API's policy claim)
// grants the API, the method and the path.
type Policy struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name"`
	// ClientIDs binds tokens whose client id is one of these.
	ClientIDs    []string      `json:"client_ids,omitempty"`
	AccessRights []AccessRight `json:"access_rights"`
	// RateLimit: Requests per Per on average, per client and policy, as a token bucket:
	// a burst of up to Requests, refilled at Requests/Per.
	RateLimit *Limit `json:"rate_limit,omitempty"`
	// Quota: at most Requests per Per, per client and policy (a fixed window that renews).
	Quota *Limit `json:"quota,omitempty"`
	// MaxTokenAge refuses tokens whose iat is older than this; zero means no limit.
	MaxTokenAge Duration `json:"max_token_age,omitempty"`

	CreatedAt time.Time `json:"created_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// AccessRight grants one API.
type AccessRight struct {
	APIID string `json:"api_id"`
	// Methods: upper-case HTTP methods; empty means every method.
	Methods []string `json:"methods,omitempty"`
	// Paths: patterns matched against the request path below the API's listen path
	// ("/items", "/items/*" for one segment, "/items/**" for any depth); empty means every path.
	Paths []string `json:"paths,omitempty"`
	// RequiredScopes must all be in the token's scopes for this grant to apply.
	RequiredScopes []string `json:"required_scopes,omitempty"`
	// Conditions are CEL expressions that must all be true for this grant to apply
	// (conditions.go says what they can use).
	Conditions []string `json:"conditions,omitempty"`
}

// Limit is a count over a period.
type Limit struct {
	Requests int64    `json:"requests"`
	Per      Duration `json:"per"`
}

// PolicyList is the answer to GET /v1/policies: one page.
type PolicyList struct {
	Policies []Policy `json:"policies"`
	// NextAfter is the ?after= of the next page; empty on the last page.
	NextAfter string `json:"next_after,omitempty"`
}
