package adminapi

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// This file is the gateway's contract in one place: what the gateway assumes when a field is
// omitted, and the identity headers it sets on every proxied request. The gateway applies
// these values and the provider declares them in its schema, so a plan never differs from
// what the gateway answers. The bounds the gateway enforces are in validate.go.

// Defaults the gateway applies when a field of a protected API is omitted.
const (
	// DefaultAlgorithm is the one JWS algorithm accepted when JWTValidation.AllowedAlgorithms
	// is empty.
	DefaultAlgorithm = "RS256"
	// DefaultLeeway is the clock skew tolerated on exp, nbf and iat when JWTValidation.Leeway
	// is nil.
	DefaultLeeway = 30 * time.Second
	// DefaultIdentityClaim is the claim that identifies the caller (forwarded as
	// HeaderSubject) when IdentityClaim is empty.
	DefaultIdentityClaim = "sub"
	// DefaultPolicyClaim is the claim that names access policies when PolicyClaim is empty,
	// as Tyk's "pol".
	DefaultPolicyClaim = "pol"
	// DefaultIntrospectionCacheTTL is how long an "active" introspection answer is reused
	// (never past the token's exp) when Introspection.CacheTTL is nil.
	DefaultIntrospectionCacheTTL = 60 * time.Second
)

// Request targets the gateway refuses before any other work (no routing, no token check), on
// the proxy listener and in the URI an edge proxy forwards to the decision endpoint.
const (
	// MaxRequestTargetBytes bounds a request target (path and query, as sent): a longer one is
	// answered 414. nginx refuses a request line past its 8 KiB large_client_header_buffers
	// with 414, Apache past LimitRequestLine (8190 bytes), and IIS a URL past 4096 bytes, so no
	// client that works behind them needs more.
	MaxRequestTargetBytes = 8 << 10
	// MaxPathSegments bounds the "/"-separated segments of a request path: more are answered
	// 400. It is IIS's (http.sys) UrlSegmentMaxCount default; listen paths and path patterns
	// are far shorter.
	MaxPathSegments = 255
)

// ReservedPathPrefix is the gateway's own part of the proxy listener's paths: the decision
// endpoint (DefaultDecisionPath) lives under it, and no listen path may.
const ReservedPathPrefix = "/_idpgate"

// DefaultDecisionPath is where the gateway answers forward-auth requests unless told
// otherwise (idpgate serve -decision-path).
const DefaultDecisionPath = ReservedPathPrefix + "/decide"

// DefaultAllowedAlgorithms is JWTValidation.AllowedAlgorithms when it is empty. It returns a
// new slice, so a caller may keep or change it.
func DefaultAllowedAlgorithms() []string { return []string{DefaultAlgorithm} }

// Identity headers the gateway sets on every request it forwards, after dropping every
// incoming header whose name starts with HeaderPrefix or is a forward_claims header, compared
// in any case and with "_" taken as "-", so an upstream can trust them. A forward_claims
// header may not start with HeaderPrefix nor contain "_".
const (
	// HeaderPrefix starts every header the gateway owns.
	HeaderPrefix = "X-Idpgate-"
	// HeaderSubject carries the value of the identity claim.
	HeaderSubject = HeaderPrefix + "Subject"
	// HeaderClientID carries the client id the token was issued to.
	HeaderClientID = HeaderPrefix + "Client-Id"
	// HeaderScope carries the token's scopes, space-separated.
	HeaderScope = HeaderPrefix + "Scope"
	// HeaderPolicy carries the id of the access policy that granted the request.
	HeaderPolicy = HeaderPrefix + "Policy"
)

// IdentityHeaders lists the headers the gateway always sets, in the order documentation
// names them.
func IdentityHeaders() []string {
	return []string{HeaderSubject, HeaderClientID, HeaderScope, HeaderPolicy}
}

// CheckHTTPURL checks that raw is what every URL of the contract must be (an upstream, an
// issuer, a JWKS URI, an introspection endpoint, the admin API's base URL): an absolute http
// or https URL with a host, without credentials (they would end up in logs) and without a
// fragment (never sent to a server). The error says what is wrong and quotes raw.
func CheckHTTPURL(raw string) error {
	if raw == "" {
		return fmt.Errorf("must be set to an absolute http or https URL, such as https://idp.example.com")
	}
	if strings.HasPrefix(raw, "/") {
		return fmt.Errorf("%q must be an absolute http or https URL: it is a path; write the scheme and host before it, such as %q", raw, "https://idp.example.com"+raw)
	}
	if !strings.Contains(raw, "://") {
		// "127.0.0.1:9000", "api.example.com": Go's parser would say something about a colon
		// or nothing at all; what is missing is the scheme.
		return fmt.Errorf("%q must be an absolute http or https URL: the scheme is missing; write http:// or https:// before the host, such as %q", raw, "https://"+raw)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q is not a URL: %w", raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q must be an absolute http or https URL, such as https://idp.example.com", raw)
	}
	if u.User != nil {
		return fmt.Errorf("%q must not carry credentials in the URL", u.Redacted())
	}
	if u.Fragment != "" {
		return fmt.Errorf("%q must not have a fragment", raw)
	}
	return nil
}

// Sender constraints a protected API may require (API.SenderConstraint).
const (
	SenderConstraintNone = "none"
	// SenderConstraintDPoP: DPoP-bound tokens only (RFC 9449).
	SenderConstraintDPoP = "dpop"
	// SenderConstraintMTLS: certificate-bound tokens only (RFC 8705), over TLS with the
	// client certificate they are bound to.
	SenderConstraintMTLS = "mtls"
	// SenderConstraintDPoPOrMTLS: tokens bound either way.
	SenderConstraintDPoPOrMTLS = "dpop_or_mtls"
)

// SenderConstraints lists the values API.SenderConstraint accepts besides "".
var SenderConstraints = []string{SenderConstraintNone, SenderConstraintDPoP, SenderConstraintMTLS, SenderConstraintDPoPOrMTLS}

// Path normalizations a protected API may choose (API.PathNormalization), after Envoy's
// path_with_escaped_slashes_action (REJECT_REQUEST, UNESCAPE_AND_FORWARD, KEEP_UNCHANGED),
// applied to every spelling that an upstream may read as another path, escaped slashes being
// only one. Whatever the choice, the gateway refuses "." and ".." segments, an encoded slash
// or backslash, backslashes, control characters, invalid UTF-8 and double encoding.
const (
	// PathNormalizationReject refuses (400) a path with an empty segment ("//", also at the
	// start), a ";" (raw or %3B) or a segment ending in "." or a space (raw, %2E, %20), or one
	// that Unicode NFKC turns into such a path (%EF%BC%8F, the fullwidth solidus, is "/").
	PathNormalizationReject = "reject_request"
	// PathNormalizationNormalize decides on, and forwards, the path such an upstream reads:
	// NFKC applied, slashes merged, ";" parameters and trailing dots and spaces cut from
	// each segment (Envoy's merge_slashes and normalize_path, Tomcat's and IIS's readings).
	PathNormalizationNormalize = "normalize_and_forward"
	// PathNormalizationKeep decides on and forwards the path as sent: for an upstream that
	// gives ";", "//" and trailing dots no meaning of their own.
	PathNormalizationKeep = "keep_unchanged"
)

// PathNormalizations lists the values API.PathNormalization accepts besides "".
var PathNormalizations = []string{PathNormalizationReject, PathNormalizationNormalize, PathNormalizationKeep}
