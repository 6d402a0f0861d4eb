package mockidp

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// serverManagedFields are set by the server; RFC 7592 §2.2 forbids them in an update.
var serverManagedFields = []string{
	"registration_access_token", "registration_client_uri", "client_secret_expires_at", "client_id_issued_at",
}

var (
	stringFields = []string{
		"client_name", "token_endpoint_auth_method", "scope", "application_type", "client_uri",
		"logo_uri", "policy_uri", "tos_uri", "jwks_uri", "software_id", "software_version",
		"software_statement",
	}
	stringListFields = []string{"redirect_uris", "grant_types", "response_types", "contacts"}

	tokenEndpointAuthMethods = []string{
		"none", "client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt",
		"tls_client_auth", "self_signed_tls_client_auth",
	}
	grantTypes = []string{
		"authorization_code", "implicit", "password", "client_credentials", "refresh_token",
		"urn:ietf:params:oauth:grant-type:jwt-bearer", "urn:ietf:params:oauth:grant-type:saml2-bearer",
		"urn:ietf:params:oauth:grant-type:device_code", "urn:ietf:params:oauth:grant-type:token-exchange",
	}
	responseTypeWords = []string{"code", "token", "id_token", "none"}
)

// decodeMetadata reads a JSON object request body.
func decodeMetadata(r *http.Request) (map[string]any, *apiError) {
	var md map[string]any
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(&md); err != nil || md == nil {
		return nil, badMetadata("the request body must be a JSON object of client metadata")
	}
	if dec.More() {
		return nil, badMetadata("the request body must hold a single JSON object")
	}
	for k, v := range md {
		if v == nil { // a JSON null means "not set"
			delete(md, k)
		}
	}
	return md, nil
}

// validateMetadata applies RFC 7591 §2 and the flavour's rules to metadata that already
// carries the server's defaults.
func (s *Server) validateMetadata(md map[string]any) *apiError {
	for _, f := range stringFields {
		if v, ok := md[f]; ok {
			if _, isString := v.(string); !isString {
				return badMetadata(f + " must be a string")
			}
		}
	}
	for _, f := range stringListFields {
		if v, ok := md[f]; ok && !isStringList(v) {
			if f == "redirect_uris" {
				return badRedirectURI("redirect_uris must be an array of strings")
			}
			return badMetadata(f + " must be an array of strings")
		}
	}
	if m, ok := md["token_endpoint_auth_method"].(string); ok && !slices.Contains(tokenEndpointAuthMethods, m) {
		return badMetadata(fmt.Sprintf("token_endpoint_auth_method %q is not supported", m))
	}
	for _, g := range stringList(md["grant_types"]) {
		if !slices.Contains(grantTypes, g) {
			return badMetadata(fmt.Sprintf("grant type %q is not supported", g))
		}
	}
	for _, rt := range stringList(md["response_types"]) {
		for _, word := range strings.Fields(rt) {
			if !slices.Contains(responseTypeWords, word) {
				return badMetadata(fmt.Sprintf("response type %q is not supported", rt))
			}
		}
	}
	if at, ok := md["application_type"].(string); ok && s.flavor.applicationTypes != nil &&
		!slices.Contains(s.flavor.applicationTypes, at) {
		return badMetadata(fmt.Sprintf("application_type %q is not supported", at))
	}
	if err := validateRedirectURIs(md, s.flavor.redirectURIsRequired(md)); err != nil {
		return err
	}
	if _, hasJWKS := md["jwks"]; hasJWKS {
		if _, hasURI := md["jwks_uri"]; hasURI {
			return badMetadata("jwks and jwks_uri must not both be present")
		}
		if err := validateJWKS(md["jwks"]); err != nil {
			return err
		}
	}
	if s.flavor.validate != nil {
		return s.flavor.validate(md)
	}
	return nil
}

// validateRedirectURIs: RFC 7591 §2 (required for redirection-based flows) and RFC 6749
// §3.1.2 (absolute, no fragment). Any scheme is allowed (a native app's com.example.app:/cb),
// so this is not adminapi.CheckHTTPURL's http(s)-only check.
func validateRedirectURIs(md map[string]any, required bool) *apiError {
	uris := stringList(md["redirect_uris"])
	if required && len(uris) == 0 {
		return badRedirectURI("redirect_uris is required for the authorization_code and implicit grants and for the " +
			"response types requested (the default response type is code); send \"response_types\": [] " +
			"for a client_credentials-only client")
	}
	for _, raw := range uris {
		u, err := url.Parse(raw)
		switch {
		case err != nil || !u.IsAbs() || u.Host == "" && u.Opaque == "":
			return badRedirectURI(fmt.Sprintf("redirect URI %q is not an absolute URI", raw))
		case u.Fragment != "" || strings.Contains(raw, "#"):
			return badRedirectURI(fmt.Sprintf("redirect URI %q must not contain a fragment", raw))
		}
	}
	return nil
}

// validateJWKS checks the shape of an inline JWK Set; the keys are not used by the mock.
func validateJWKS(v any) *apiError {
	set, ok := v.(map[string]any)
	if !ok {
		return badMetadata("jwks must be a JWK Set object")
	}
	if _, ok := set["keys"].([]any); !ok {
		return badMetadata("jwks must have a keys array")
	}
	return nil
}

func isStringList(v any) bool {
	list, ok := v.([]any)
	if !ok {
		return false
	}
	for _, e := range list {
		if _, ok := e.(string); !ok {
			return false
		}
	}
	return true
}

// stringList returns the strings of a JSON array (decoded or set by a test as []string).
func stringList(v any) []string {
	switch list := v.(type) {
	case []string:
		return list
	case []any:
		out := make([]string, 0, len(list))
		for _, e := range list {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// needsSecret: the client authenticates with a shared secret.
func needsSecret(md map[string]any) bool {
	switch md["token_endpoint_auth_method"] {
	case "none", "private_key_jwt", "tls_client_auth", "self_signed_tls_client_auth":
		return false
	}
	return true
}
