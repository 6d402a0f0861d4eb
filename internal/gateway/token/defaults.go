package token

import (
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// The defaults and bounds of a protected API's token settings. internal/adminapi states the
// same contract (AllowedAlgorithms, MaxLeeway, MaxCacheTTL, and the defaults in its field
// comments); these copies are kept together here so that they can be switched to adminapi's
// in one place.

// allowedAlgs are the JWS algorithms an API may allow: asymmetric only, so that a public key
// can never double as an HMAC secret, and never "none" (adminapi.AllowedAlgorithms).
var allowedAlgs = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA,
}

const (
	// defaultAlg is what an API without allowed_algorithms accepts.
	defaultAlg = jose.RS256
	// defaultLeeway applies to exp, nbf and iat when an API sets no leeway.
	defaultLeeway = 30 * time.Second
	// maxLeeway is the largest leeway an API may set (adminapi.MaxLeeway).
	maxLeeway = 5 * time.Minute

	// defaultIdentityClaim and defaultPolicyClaim name the claims of Identity.Subject and
	// Identity.Policies when an API names none.
	defaultIdentityClaim = "sub"
	defaultPolicyClaim   = "pol"

	// defaultIntrospectionCacheTTL applies when an API sets no cache_ttl.
	defaultIntrospectionCacheTTL = 60 * time.Second
	// maxIntrospectionCacheTTL is the largest cache_ttl an API may set (adminapi.MaxCacheTTL).
	maxIntrospectionCacheTTL = 24 * time.Hour
)

// allowedAlgNames lists allowedAlgs for error messages.
func allowedAlgNames() string {
	names := make([]string, len(allowedAlgs))
	for i, a := range allowedAlgs {
		names[i] = string(a)
	}
	return strings.Join(names, ", ")
}
