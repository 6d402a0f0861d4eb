package token

import "strings"

// Bearer reads the token of an "Authorization: Bearer <token>" header value (RFC 6750 §2.1;
// the scheme is case-insensitive). present is false when the value holds no Bearer
// credential at all; a lone "Bearer" is present with an empty token.
func Bearer(authorization string) (tok string, present bool) {
	const scheme = "bearer "
	h := authorization
	if len(h) < len(scheme) || !strings.EqualFold(h[:len(scheme)], scheme) {
		return "", strings.EqualFold(strings.TrimSpace(h), "bearer")
	}
	return strings.TrimSpace(h[len(scheme):]), true
}
