package mockidp

// keycloakRules reproduce Keycloak's OpenID Connect client registration provider
// ({realm}/clients-registrations/openid-connect), as in its
// AbstractClientRegistrationProvider:
//   - POST needs the realm's initial access token as Bearer, and may not choose client_id;
//   - update (PUT) issues a new registration access token and the old one stops working;
//   - read (GET) answers a re-signed token; the one presented keeps working too;
//   - the answer adds Keycloak's defaults (refresh_token-capable grants, "none" response type,
//     subject_type, ...), which a client must not mistake for drift.
//
// Discovery is a realm's, as OIDCWellKnownProvider builds it (its DEFAULT_*_SUPPORTED lists;
// newer releases add device_code and CIBA when those features are on): registration and
// introspection endpoints always advertised, client_credentials among the grant types, the
// installed client authenticators' methods, PKCE plain and S256, certificate-bound tokens.
func keycloakRules() flavorRules {
	return flavorRules{
		advertised: &advertisedMetadata{
			grantTypes: []string{"authorization_code", "implicit", "refresh_token", "password", "client_credentials"},
			responseTypes: []string{"code", "none", "id_token", "token", "id_token token", "code id_token", "code token",
				"code id_token token"},
			authMethods:          []string{"private_key_jwt", "client_secret_basic", "client_secret_post", "tls_client_auth", "client_secret_jwt"},
			codeChallengeMethods: []string{"plain", "S256"},
			extra: map[string]any{
				"subject_types_supported":                    []string{"public", "pairwise"},
				"response_modes_supported":                   []string{"query", "fragment", "form_post"},
				"claims_parameter_supported":                 false,
				"request_parameter_supported":                true,
				"request_uri_parameter_supported":            true,
				"tls_client_certificate_bound_access_tokens": true,
			},
		},
		registrationPath: "/clients-registrations/openid-connect",
		paths: endpointPaths{
			token:         "/protocol/openid-connect/token",
			jwks:          "/protocol/openid-connect/certs",
			introspection: "/protocol/openid-connect/token/introspect",
			revocation:    "/protocol/openid-connect/revoke",
			authorization: "/protocol/openid-connect/auth",
		},
		newClientID: randomUUID,
		// Without an initial access token the realm allows anonymous registration.
		authorizeCreate:        initialAccessTokenIfSet("Not authorized to create client"),
		notFound:               answers404("invalid_client", "Client not found"),
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
