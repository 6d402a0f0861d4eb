package mockidp

import (
	"net/http"
	"time"
)

// endpointPaths are the protocol endpoints' paths relative to the issuer.
type endpointPaths struct {
	token, jwks, introspection, revocation, authorization string
}

// genericPaths are served by every flavour, beside the flavour's own paths.
var genericPaths = endpointPaths{
	token:         "/token",
	jwks:          "/jwks",
	introspection: "/introspect",
	revocation:    "/revoke",
	authorization: "/authorize",
}

// clientIDOnUpdate says what a PUT's client_id must be.
type clientIDOnUpdate int

const (
	// clientIDRequired: RFC 7592 §2.2, the body must carry the URL's client_id.
	clientIDRequired clientIDOnUpdate = iota
	// clientIDIfPresent: may be omitted; when present it must be the URL's.
	clientIDIfPresent
	// clientIDIgnored: the server overwrites it with the URL's (Hydra).
	clientIDIgnored
)

// flavorRules are the ways an IdP's registration endpoint differs from plain RFC 7591/7592.
// Each flavour's values live in its own file (flavor_*.go).
type flavorRules struct {
	// registrationPath is the collection URL's path; a client lives at registrationPath/{id}.
	registrationPath string
	paths            endpointPaths
	newClientID      func() string

	// authorizeCreate checks the credentials of a registration POST.
	authorizeCreate func(s *Server, r *http.Request) *apiError
	// apiTokenManaged: clients are read, updated and deleted with the IdP's API token (Okta),
	// not with an RFC 7592 registration access token.
	apiTokenManaged bool
	// unknownClient answers a management call for an id the IdP does not know
	// (apiTokenManaged only; the RFC 7592 flavours answer invalidRegistrationToken).
	unknownClient func() *apiError
	// notFound answers a read hidden by the "404 right after create" fault.
	notFound func() *apiError

	rejectClientIDOnCreate bool // Keycloak: POST must not choose the client_id
	rejectSecretOnCreate   bool // Hydra: POST must not choose the client_secret
	rejectSecretOnUpdate   bool // Hydra: PUT must not carry client_secret (403)
	clientIDOnUpdate       clientIDOnUpdate

	rotateTokenOnUpdate bool // Keycloak, Hydra: PUT answers a new token, the old one dies
	resignTokenOnRead   bool // Keycloak: GET answers a fresh token, the old one keeps working
	tokenOnRead         bool // the GET answer carries registration_access_token/_client_uri
	secretOnRead        bool // the GET answer carries client_secret
	secretOnUpdate      bool // the PUT answer carries client_secret

	// applyDefaults adds the server's defaults and extra fields to the metadata of a POST or PUT.
	applyDefaults func(md map[string]any)
	// redirectURIsRequired reports whether this metadata must carry redirect_uris.
	redirectURIsRequired func(md map[string]any) bool
	// validate checks the flavour's own rules, after the common ones.
	validate func(md map[string]any) *apiError
	// decorate adds server-computed fields to an answer (e.g. Hydra's timestamps).
	decorate func(out map[string]any, c *client)
	// applicationTypes, when set, lists the application_type values the IdP accepts.
	applicationTypes []string

	// secretsAPI: Okta's client secrets API (okta_secrets.go), up to two secrets per client.
	secretsAPI bool

	// rateLimitHeaders: every answer carries X-Rate-Limit-* (Okta).
	rateLimitHeaders bool

	// advertised is what the flavour's IdP lists in its discovery document, from that IdP's
	// documentation or source (cited in flavor_<name>.go); nil keeps the generic lists.
	advertised *advertisedMetadata
	// discoveryOmits are the discovery document's fields this IdP does not advertise.
	discoveryOmits []string
	// openIDDiscoveryOnly: no RFC 8414 /.well-known/oauth-authorization-server (404).
	openIDDiscoveryOnly bool
}

// advertisedMetadata are the *_supported lists of a discovery document, and fields only
// one IdP sends.
type advertisedMetadata struct {
	grantTypes, responseTypes, authMethods, codeChallengeMethods []string
	extra                                                        map[string]any
}

func rulesFor(f Flavor) flavorRules {
	switch f {
	case FlavorOkta:
		return oktaRules()
	case FlavorKeycloak:
		return keycloakRules()
	case FlavorHydra:
		return hydraRules()
	default:
		return genericRules()
	}
}

// setDefault sets md[key] when the client did not send it.
func setDefault(md map[string]any, key string, value any) {
	if _, ok := md[key]; !ok {
		md[key] = value
	}
}

func unixTime(t time.Time) int64 { return t.Unix() }

// initialAccessTokenIfSet is an authorizeCreate for the RFC 7591 §3 initial access token:
// when the server has one, a registration must present it as a bearer token or is refused
// 401 invalid_token with description; without one, registration is open.
func initialAccessTokenIfSet(description string) func(*Server, *http.Request) *apiError {
	return func(s *Server, r *http.Request) *apiError {
		if s.opts.InitialAccessToken == "" {
			return nil
		}
		if !secretEqual(bearerToken(r), s.opts.InitialAccessToken) {
			return &apiError{
				status:          http.StatusUnauthorized,
				code:            "invalid_token",
				description:     description,
				wwwAuthenticate: `Bearer error="invalid_token"`,
			}
		}
		return nil
	}
}

// answers404 is a notFound that answers 404 with the flavour's error code and description.
func answers404(code, description string) func() *apiError {
	return func() *apiError { return &apiError{status: http.StatusNotFound, code: code, description: description} }
}
