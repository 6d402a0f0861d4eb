// Package gateway is idpgate's data plane: the config snapshot, token validation, policy
// enforcement, rate limits and quotas, the reverse proxy, the admin API handlers and the store.
package gateway

import (
	"context"
	"time"
)

// Identity is what a valid token tells about its caller. It is produced by a TokenValidator
// and read by the policy engine and the header forwarding.
type Identity struct {
	// Subject is the value of the API's identity claim (sub by default).
	Subject string
	// ClientID is the value of the client id claim (client_id, then cid, then azp, unless
	// the API names another).
	ClientID string
	// Scopes from the scope (space separated) or scp (array) claim.
	Scopes []string
	// Policies are the values of the API's policy claim (pol by default).
	Policies []string
	IssuedAt time.Time
	// ExpiresAt is always set: a token without exp is invalid.
	ExpiresAt time.Time
	// Claims holds every claim, for forwarding configured claims as headers.
	Claims map[string]any
	// Confirmation is the token's cnf claim (RFC 7800): non-nil when the IdP bound the token
	// to a key (DPoP, RFC 9449) or a certificate (RFC 8705), even when cnf is malformed.
	Confirmation map[string]any
}

// HasScope reports whether the identity carries scope s.
func (id *Identity) HasScope(s string) bool {
	for _, have := range id.Scopes {
		if have == s {
			return true
		}
	}
	return false
}

// TokenValidator checks one bearer token for one protected API.
// Implementations are safe for concurrent use.
type TokenValidator interface {
	// Validate returns the token's identity, or a *TokenError.
	Validate(ctx context.Context, token string) (*Identity, error)
}

// TokenError is a refused token. Description is safe to send to the client (RFC 6750
// error_description); Reason is for logs and metrics only and must never reach a response
// body (it may say why a signature failed).
type TokenError struct {
	// Code is the RFC 6750 error code: "invalid_token" or, for an IdP or JWKS that cannot be
	// reached, "temporarily_unavailable" (answered with 503).
	Code        string
	Description string
	Reason      string
}

func (e *TokenError) Error() string { return e.Code + ": " + e.Reason }
