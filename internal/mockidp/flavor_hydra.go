package mockidp

import (
	"net/http"
	"time"
)

// hydraRules reproduce Ory Hydra's OpenID Connect Dynamic Client Registration
// ({issuer}/oauth2/register), as in its client handler:
//   - registration is open; a POST may not choose client_secret (400);
//   - a PUT may not carry client_secret at all (403 "It is not allowed to choose your own
//     OAuth2 Client secret."), takes the client_id from the URL, issues a new registration
//     access token (the old one stops working) and does not answer the secret;
//   - a GET answers neither client_secret nor the registration access token (Hydra only
//     stores the token's signature).
//
// Its discovery document (oauth2/handler.go, discoverOidcConfiguration) is served at
// /.well-known/openid-configuration only, and by default advertises neither
// registration_endpoint (only when webfinger.oidc_discovery.client_registration_url is set)
// nor introspection_endpoint (introspection lives on the admin port), nor DPoP or the
// introspection/revocation auth methods: a client must know the paths. Its lists are those
// of Hydra v2.3.0's document (internal/hydratest runs one): every grant and response type of
// its OAuth 2.0 and OpenID Connect flows, secret, private_key_jwt and public clients, and the
// scopes it always offers.
func hydraRules() flavorRules {
	return flavorRules{
		advertised: &advertisedMetadata{
			grantTypes:           []string{"authorization_code", "implicit", "client_credentials", "refresh_token"},
			responseTypes:        []string{"code", "code id_token", "id_token", "token id_token", "token", "token id_token code"},
			authMethods:          []string{"client_secret_post", "client_secret_basic", "private_key_jwt", "none"},
			codeChallengeMethods: []string{"plain", "S256"},
			extra: map[string]any{
				"scopes_supported": []string{"offline_access", "offline", "openid"},
			},
		},
		discoveryOmits: []string{"registration_endpoint", "introspection_endpoint",
			"introspection_endpoint_auth_methods_supported", "revocation_endpoint_auth_methods_supported",
			"dpop_signing_alg_values_supported", "token_endpoint_auth_signing_alg_values_supported"},
		openIDDiscoveryOnly: true,
		registrationPath:    "/oauth2/register",
		paths: endpointPaths{
			token:         "/oauth2/token",
			jwks:          "/.well-known/jwks.json",
			introspection: "/admin/oauth2/introspect",
			revocation:    "/oauth2/revoke",
			authorization: "/oauth2/auth",
		},
		newClientID:          randomUUID,
		authorizeCreate:      func(*Server, *http.Request) *apiError { return nil },
		notFound:             answers404("not_found", "Unable to locate the resource"),
		rejectSecretOnCreate: true,
		rejectSecretOnUpdate: true,
		clientIDOnUpdate:     clientIDIgnored,
		rotateTokenOnUpdate:  true,
		applyDefaults: func(md map[string]any) {
			setDefault(md, "token_endpoint_auth_method", "client_secret_basic")
			setDefault(md, "subject_type", "public")
			setDefault(md, "skip_consent", false)
			setDefault(md, "skip_logout_consent", false)
		},
		redirectURIsRequired: func(map[string]any) bool { return false },
		decorate: func(out map[string]any, c *client) {
			out["client_secret_expires_at"] = 0
			out["created_at"] = c.issuedAt.UTC().Format(time.RFC3339)
			out["updated_at"] = c.updatedAt.UTC().Format(time.RFC3339)
		},
	}
}
