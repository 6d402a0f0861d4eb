package token

import (
	"errors"
	"strings"
	"time"
)

// DescribedCaller is a caller a decision without traffic describes instead of presenting a
// token (the admin API's POST /v1/decisions): its claims, and the client id, subject and
// scopes that, when set, take the place of what the API's claim names would read from them.
type DescribedCaller struct {
	ClientID string
	Subject  string
	// Scopes, when non-nil, are the caller's scopes; otherwise the scope (or scp) claim's.
	Scopes []string
	Claims map[string]any
}

// ErrCannotDescribe is returned by Describe for a validator that cannot map claims.
var ErrCannotDescribe = errors.New("token: this validator cannot map described claims")

// Describe returns the identity v's Validate would return for a valid token carrying the
// caller's claims: the same claim names (identity_claim, client_id_claim, policy_claim) and
// the same required scopes (insufficient_scope when one is missing). Nothing is verified or
// fetched. iat defaults to now (a token just issued) and exp to an hour later.
func Describe(v Validator, c DescribedCaller, now time.Time) (*Identity, error) {
	var names claimNames
	var required []string
	switch v := v.(type) {
	case *jwtValidator:
		names, required = v.names, v.requiredScopes
	case *introspectionValidator:
		names, required = v.names, v.requiredScopes
	default:
		return nil, ErrCannotDescribe
	}
	claims := make(map[string]any, len(c.Claims)+3)
	for k, val := range c.Claims {
		claims[k] = val
	}
	// The described fields are written under the claims this API reads them from, so
	// identityFromClaims (and forwarded claims) see them as a token would carry them.
	if c.Subject != "" {
		claims[names.identity] = c.Subject
	}
	if c.ClientID != "" {
		if names.clientID != "" {
			claims[names.clientID] = c.ClientID
		} else {
			claims["client_id"] = c.ClientID
		}
	}
	if c.Scopes != nil {
		claims["scope"] = strings.Join(c.Scopes, " ")
		delete(claims, "scp")
	}
	id := identityFromClaims(claims, names)
	id.IssuedAt, id.ExpiresAt = now, now.Add(time.Hour)
	if t, ok := numericDate(claims["iat"]); ok {
		id.IssuedAt = t
	}
	if t, ok := numericDate(claims["exp"]); ok {
		id.ExpiresAt = t
	}
	return checkScopes(id, required)
}
