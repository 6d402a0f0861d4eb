package dcr

import (
	"fmt"
	"net/url"
	"strings"
)

// okta is Okta's Dynamic Client Registration API ({org}/oauth2/v1/clients): every call,
// registration and management alike, is authorized by an API token sent as
// "Authorization: SSWS <token>"; there is no registration access token, so clients are
// managed by client_id at {endpoint}/{client_id}. Okta answers 401 invalid_client for an
// unknown client_id, and requires application_type "service" for a client that only uses
// client_credentials.
type okta struct{}

func (okta) registerAuth(apiToken string) string { return ssws(apiToken) }

func (okta) registerBody(body map[string]any, m Metadata) {
	if m.ClientCredentialsOnly() && m.ApplicationType == "" {
		body[fieldApplicationType] = "service"
	}
}

func (okta) manageURL(endpoint string, r Registration) (string, error) {
	if r.ClientID == "" {
		return "", fmt.Errorf("okta manages clients by client_id, and none is known")
	}
	if endpoint == "" {
		return "", fmt.Errorf("okta: no registration endpoint known")
	}
	return strings.TrimSuffix(endpoint, "/") + "/" + url.PathEscape(r.ClientID), nil
}

func (okta) manageAuth(apiToken string, _ Registration) string { return ssws(apiToken) }

func (o okta) updateBody(body map[string]any, m Metadata, _ Registration) {
	o.registerBody(body, m)
}

// gone: 404, or the 401 invalid_client Okta gives for an id it does not know. Any other 401
// means the API token is wrong, which must not read as "deleted".
func (okta) gone(e *Error) bool {
	return e.StatusCode == 404 || (e.StatusCode == 401 && e.Code == "invalid_client")
}

// secretRotation: Okta's client secrets API (okta_secrets.go).
func (okta) secretRotation() SecretRotation { return RotateWithSecretsAPI }

// defaultRegistrationEndpoint: Okta's discovery documents advertise the endpoint.
func (okta) defaultRegistrationEndpoint(string) string { return "" }

func ssws(token string) string { return authorization("SSWS", token) }
