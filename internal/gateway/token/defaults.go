package token

import (
	"strings"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

// The defaults and bounds of a protected API's token settings are internal/adminapi's (the
// contract the provider reads too); this file only gives the algorithms go-jose's type.

// allowedAlgs are the JWS algorithms an API may allow (adminapi.AllowedAlgorithms): asymmetric
// only, so that a public key can never double as an HMAC secret, and never "none".
var allowedAlgs = joseAlgorithms(adminapi.AllowedAlgorithms)

// defaultAlgs is what an API without allowed_algorithms accepts.
var defaultAlgs = joseAlgorithms(adminapi.DefaultAllowedAlgorithms())

func joseAlgorithms(names []string) []jose.SignatureAlgorithm {
	algs := make([]jose.SignatureAlgorithm, len(names))
	for i, n := range names {
		algs[i] = jose.SignatureAlgorithm(n)
	}
	return algs
}

// allowedAlgNames lists allowedAlgs for error messages.
func allowedAlgNames() string { return strings.Join(adminapi.AllowedAlgorithms, ", ") }
