package mockidp

import "net/http"

// keycloakRules reproduce Keycloak's OpenID Connect client registration provider
// ({realm}/clients-registrations/openid-connect), as in its
// AbstractClientRegistrationProvider:
//   - POST needs the realm's initial access token as Bearer, and may not choose client_id;
//   - update (PUT) issues a new registration access token and the old one stops working;
//   - read (GET) answers a re-signed token; the one presented keeps working too;
//   - the answer adds Keycloak's defaults (refresh_token-capable grants, "none" response type,
//     subject_type, ...), which a client must not mistake for drift.
func keycloakRules() flavorRules {
	return flavorRules{
		registrationPath: "/clients-registrations/openid-connect",
		paths: endpointPaths{
			token:         "/protocol/openid-connect/token",
			jwks:          "/protocol/openid-connect/certs",
			introspection: "/protocol/openid-connect/token/introspect",
			revocation:    "/protocol/openid-connect/revoke",
			authorization: "/protocol/openid-connect/auth",
		},
		newClientID: randomUUID,
		authorizeCreate: func(s *Server, r *http.Request) *apiError {
			if s.opts.InitialAccessToken == "" {
				return nil // the realm allows anonymous registration
			}
			if !secretEqual(bearerToken(r), s.opts.InitialAccessToken) {
				return &apiError{
					status:          http.StatusUnauthorized,
					code:            "invalid_token",
					description:     "Not authorized to create client",
					wwwAuthenticate: `Bearer error="invalid_token"`,
				}
			}
			return nil
		},
		notFound: func() *apiError {
			return &apiError{status: http.StatusNotFound, code: "invalid_client", description: "Client not found"}
		},
		rejectClientIDOnCreate: true,
		clientIDOnUpdate:       clientIDRequired,
		rotateTokenOnUpdate:    true,
		resignTokenOnRead:      true,
		tokenOnRead:            true,
		secretOnRead:           true,
		secretOnUpdate:         true,
		applyDefaults: func(md map[string]any) {
			setDefault(md, "grant_types", []any{"authorization_code", "refresh_token"})
			setDefault(md, "response_types", []any{"code", "none"})
			setDefault(md, "token_endpoint_auth_method", "client_secret_basic")
			setDefault(md, "subject_type", "public")
			setDefault(md, "tls_client_certificate_bound_access_tokens", false)
			setDefault(md, "backchannel_logout_session_required", false)
			setDefault(md, "require_pushed_authorization_requests", false)
		},
		// Keycloak accepts a client without redirect URIs; it only checks the ones given.
		redirectURIsRequired: func(map[string]any) bool { return false },
	}
}
