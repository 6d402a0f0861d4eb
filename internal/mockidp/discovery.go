package mockidp

import (
	"maps"
	"net/http"

	"github.com/go-jose/go-jose/v4"
)

const (
	wellKnownOpenID = "/.well-known/openid-configuration"
	wellKnownOAuth  = "/.well-known/oauth-authorization-server"
)

// serveDiscovery answers both OpenID Connect Discovery and RFC 8414 with the same document.
func (s *Server) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	if s.flavor.openIDDiscoveryOnly && r.URL.Path == wellKnownOAuth {
		http.NotFound(w, r)
		return
	}
	iss := s.issuerFor(r)
	clientAuth := []string{"client_secret_basic", "client_secret_post"}
	doc := map[string]any{
		"issuer":                                           iss,
		"authorization_endpoint":                           iss + s.flavor.paths.authorization,
		"token_endpoint":                                   iss + s.flavor.paths.token,
		"jwks_uri":                                         iss + s.flavor.paths.jwks,
		"registration_endpoint":                            iss + s.flavor.registrationPath,
		"introspection_endpoint":                           iss + s.flavor.paths.introspection,
		"revocation_endpoint":                              iss + s.flavor.paths.revocation,
		"grant_types_supported":                            []string{"client_credentials"},
		"response_types_supported":                         []string{"code", "token"},
		"subject_types_supported":                          []string{"public"},
		"id_token_signing_alg_values_supported":            []string{"RS256"},
		"token_endpoint_auth_methods_supported":            clientAuth,
		"dpop_signing_alg_values_supported":                algNames(dpopAlgs),
		"token_endpoint_auth_signing_alg_values_supported": []string{"RS256"},
		"introspection_endpoint_auth_methods_supported":    clientAuth,
		"revocation_endpoint_auth_methods_supported":       clientAuth,
		"claims_supported":                                 []string{"iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope"},
		// RFC 8707 registers no metadata of its own; this name, used by some servers, says the
		// token endpoint honours resource (token.go) and puts it in aud.
		"resource_indicators_supported": true,
	}
	if a := s.flavor.advertised; a != nil {
		doc["grant_types_supported"] = a.grantTypes
		doc["response_types_supported"] = a.responseTypes
		doc["token_endpoint_auth_methods_supported"] = a.authMethods
		doc["introspection_endpoint_auth_methods_supported"] = a.authMethods
		doc["revocation_endpoint_auth_methods_supported"] = a.authMethods
		doc["code_challenge_methods_supported"] = a.codeChallengeMethods
		maps.Copy(doc, a.extra)
	}
	for _, field := range s.flavor.discoveryOmits {
		delete(doc, field)
	}
	w.Header().Set("Cache-Control", "max-age=60")
	writeJSON(w, http.StatusOK, doc)
}

func algNames(algs []jose.SignatureAlgorithm) []string {
	names := make([]string, len(algs))
	for i, a := range algs {
		names[i] = string(a)
	}
	return names
}
