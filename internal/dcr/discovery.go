package dcr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// ProviderMetadata is an issuer's discovery document (OpenID Connect Discovery 1.0,
// RFC 8414). Raw holds the whole document as served.
type ProviderMetadata struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	RegistrationEndpoint              string   `json:"registration_endpoint"`
	IntrospectionEndpoint             string   `json:"introspection_endpoint"`
	RevocationEndpoint                string   `json:"revocation_endpoint"`
	UserinfoEndpoint                  string   `json:"userinfo_endpoint"`
	EndSessionEndpoint                string   `json:"end_session_endpoint"`
	ScopesSupported                   []string `json:"scopes_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported"`

	// DocumentURL is where the document was found.
	DocumentURL string `json:"-"`
	// Raw is the document as served.
	Raw json.RawMessage `json:"-"`
}

// Discover fetches the configured issuer's discovery document: OpenID Connect's
// {issuer}/.well-known/openid-configuration first, then RFC 8414's
// /.well-known/oauth-authorization-server (inserted before the issuer's path, and appended
// as some IdPs serve it). The document's issuer must be the configured one (OpenID Connect
// Discovery §4.3, RFC 8414 §3.3), or an attacker-controlled document could redirect
// registrations.
func (c *Client) Discover(ctx context.Context) (*ProviderMetadata, error) {
	if c.cfg.Issuer == "" {
		return nil, errors.New("discovery needs an issuer")
	}
	var tried []string
	for _, docURL := range discoveryURLs(c.cfg.Issuer) {
		answer, err := c.do(ctx, "discover", http.MethodGet, docURL, "", nil, true)
		var e *Error
		if errors.As(err, &e) && e.StatusCode >= 400 && e.StatusCode < 500 && e.StatusCode != http.StatusTooManyRequests {
			tried = append(tried, fmt.Sprintf("%s (HTTP %d)", docURL, e.StatusCode))
			continue
		}
		if err != nil {
			return nil, err
		}
		doc := &ProviderMetadata{DocumentURL: docURL, Raw: answer}
		if err := json.Unmarshal(answer, doc); err != nil {
			return nil, fmt.Errorf("discover: %w: %s is not a discovery document: %w", ErrDiscovery, docURL, err)
		}
		if strings.TrimSuffix(doc.Issuer, "/") != strings.TrimSuffix(c.cfg.Issuer, "/") {
			return nil, fmt.Errorf("discover: %w: the document at %s names issuer %q, not the configured %q: "+
				"set the issuer exactly as the identity provider publishes it", ErrDiscovery, docURL, doc.Issuer, c.cfg.Issuer)
		}
		return doc, nil
	}
	return nil, fmt.Errorf("discover: %w: no discovery document found for issuer %s; tried %s",
		ErrDiscovery, c.cfg.Issuer, strings.Join(tried, ", "))
}

func discoveryURLs(issuer string) []string {
	trimmed := strings.TrimSuffix(issuer, "/")
	urls := []string{trimmed + "/.well-known/openid-configuration"}
	u, err := url.Parse(trimmed)
	if err != nil {
		return urls
	}
	if u.Path == "" || u.Path == "/" {
		return append(urls, trimmed+"/.well-known/oauth-authorization-server")
	}
	inserted := *u
	inserted.Path = "/.well-known/oauth-authorization-server" + u.Path
	inserted.RawPath = ""
	return append(urls, inserted.String(), trimmed+"/.well-known/oauth-authorization-server")
}

// checkIssuer rejects what cannot be an issuer: RFC 8414 §2 wants an https URL (http is
// accepted for loopback tests) without query or fragment. It is not adminapi.CheckHTTPURL,
// the gateway contract's URL check, on purpose: an issuer must also have no query, and this
// package speaks RFC 7591/8414 to an IdP and knows nothing of the gateway.
func checkIssuer(issuer string) error {
	u, err := url.Parse(issuer)
	if err != nil {
		return fmt.Errorf("issuer %q is not a URL: %w", issuer, err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("issuer %q must be an absolute http or https URL, such as https://idp.example.com", issuer)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("issuer %q must not have a query or fragment", issuer)
	}
	return nil
}
