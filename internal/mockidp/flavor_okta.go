package mockidp

import (
	"net/http"
	"slices"
	"strings"
)

// oktaRules reproduce Okta's Dynamic Client Registration API (/oauth2/v1/clients), managed
// with the org's API token rather than RFC 7592 registration access tokens:
//   - every call needs "Authorization: SSWS <api token>" (401 E0000011 otherwise);
//   - answers carry neither registration_access_token nor registration_client_uri;
//   - an unknown client id is answered 401 invalid_client;
//   - client_name is required; application_type defaults to "web", and a
//     client_credentials-only client must be a "service" application (and a service
//     application may only use client_credentials);
//   - GET answers the client_secret; every answer carries X-Rate-Limit-* headers;
//   - discovery is the org authorization server's, as Okta's API reference shows it
//     (developer.okta.com, OAuth 2.0 > Org AS > "Retrieve the OpenID configuration"): no
//     client_credentials among its grant types (see doc.go for why /token grants it anyway).
func oktaRules() flavorRules {
	return flavorRules{
		advertised: &advertisedMetadata{
			grantTypes: []string{"authorization_code", "implicit", "refresh_token", "password",
				"urn:ietf:params:oauth:grant-type:device_code"},
			responseTypes:        []string{"code", "id_token", "code id_token", "code token", "id_token token", "code id_token token"},
			authMethods:          []string{"client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt", "none"},
			codeChallengeMethods: []string{"S256"},
			extra: map[string]any{
				"response_modes_supported": []string{"query", "fragment", "form_post", "okta_post_message"},
				"scopes_supported":         []string{"openid", "email", "profile", "address", "phone", "offline_access", "groups"},
			},
		},
		registrationPath: "/oauth2/v1/clients",
		paths: endpointPaths{
			token:         "/oauth2/v1/token",
			jwks:          "/oauth2/v1/keys",
			introspection: "/oauth2/v1/introspect",
			revocation:    "/oauth2/v1/revoke",
			authorization: "/oauth2/v1/authorize",
		},
		newClientID:     func() string { return "0oa" + randomAlnum(17) },
		authorizeCreate: authorizeOktaAPIToken,
		apiTokenManaged: true,
		unknownClient: func() *apiError {
			return &apiError{status: http.StatusUnauthorized, code: "invalid_client", description: "Invalid value for 'client_id' parameter."}
		},
		notFound: func() *apiError {
			return oktaError(http.StatusNotFound, "E0000007", "Not found: Resource not found (AppInstance)")
		},
		clientIDOnUpdate: clientIDIfPresent,
		secretOnRead:     true,
		secretOnUpdate:   true,
		applyDefaults: func(md map[string]any) {
			setDefault(md, "application_type", "web")
			service := md["application_type"] == "service"
			if service {
				setDefault(md, "grant_types", []any{"client_credentials"})
				setDefault(md, "response_types", []any{"token"})
			} else {
				setDefault(md, "grant_types", []any{"authorization_code"})
				setDefault(md, "response_types", []any{"code"})
			}
			setDefault(md, "token_endpoint_auth_method", "client_secret_basic")
		},
		redirectURIsRequired: func(md map[string]any) bool {
			grants := stringList(md["grant_types"])
			return slices.Contains(grants, "authorization_code") || slices.Contains(grants, "implicit")
		},
		validate:         validateOktaMetadata,
		applicationTypes: []string{"web", "native", "browser", "service"},
		rateLimitHeaders: true,
		secretsAPI:       true,
	}
}

func validateOktaMetadata(md map[string]any) *apiError {
	if name, _ := md["client_name"].(string); strings.TrimSpace(name) == "" {
		return badMetadata("client_name: The field cannot be left blank")
	}
	grants := stringList(md["grant_types"])
	ccOnly := len(grants) > 0 && !slices.ContainsFunc(grants, func(g string) bool { return g != "client_credentials" })
	service := md["application_type"] == "service"
	switch {
	case ccOnly && !service:
		return badMetadata("application_type: The 'client_credentials' grant type can only be used alone by a 'service' application.")
	case service && !ccOnly:
		return badMetadata("grant_types: A 'service' application may only use the 'client_credentials' grant type.")
	}
	return nil
}

// authorizeOktaAPIToken checks "Authorization: SSWS <token>". With no token configured any
// SSWS token is accepted, but the header is still required.
func authorizeOktaAPIToken(s *Server, r *http.Request) *apiError {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	ok := scheme == "SSWS" && token != "" &&
		(s.opts.InitialAccessToken == "" || secretEqual(token, s.opts.InitialAccessToken))
	if !ok {
		return oktaError(http.StatusUnauthorized, "E0000011", "Invalid token provided")
	}
	return nil
}

// oktaError is the error shape of Okta's management APIs.
func oktaError(status int, code, summary string) *apiError {
	return &apiError{status: status, body: map[string]any{
		"errorCode":    code,
		"errorSummary": summary,
		"errorLink":    code,
		"errorId":      "oae" + randomAlnum(19),
		"errorCauses":  []any{},
	}}
}
