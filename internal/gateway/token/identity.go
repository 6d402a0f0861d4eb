package token

import "time"

// Identity is what a valid token tells about its caller. It is produced by a Validator and
// read by the gateway's policy engine and header forwarding. An Identity may be shared by
// cache hits: treat it as read-only.
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
