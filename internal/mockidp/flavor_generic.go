package mockidp

// genericRules is plain RFC 7591/7592 at {issuer}/register, optionally protected by an
// initial access token.
func genericRules() flavorRules {
	return flavorRules{
		registrationPath: "/register",
		paths:            genericPaths,
		newClientID:      func() string { return randomHex(16) },
		authorizeCreate:  initialAccessTokenIfSet("a valid initial access token is required to register a client"),
		notFound:         answers404("not_found", "no such client"),
		clientIDOnUpdate: clientIDRequired,
		tokenOnRead:      true,
		secretOnRead:     true,
		secretOnUpdate:   true,
		applyDefaults: func(md map[string]any) {
			setDefault(md, "grant_types", []any{"authorization_code"})
			setDefault(md, "response_types", []any{"code"})
			setDefault(md, "token_endpoint_auth_method", "client_secret_basic")
		},
		redirectURIsRequired: rfcRedirectURIsRequired,
		applicationTypes:     []string{"web", "native"},
	}
}

// rfcRedirectURIsRequired is the RFC 7591 §2.1 reading: redirection-based grants, or any
// response type, need somewhere to redirect to.
func rfcRedirectURIsRequired(md map[string]any) bool {
	for _, g := range stringList(md["grant_types"]) {
		if g == "authorization_code" || g == "implicit" {
			return true
		}
	}
	for _, rt := range stringList(md["response_types"]) {
		if rt != "none" {
			return true
		}
	}
	return false
}
