package dcr

import (
	"fmt"
	"net/url"
	"strings"
)

// driver is what differs between identity providers. Each non-generic driver lives in its own
// file (okta.go, keycloak.go, hydra.go) and says there why it differs.
type driver interface {
	// registerAuth is the Authorization header of a registration ("" for none).
	registerAuth(initialAccessToken string) string
	// registerBody adjusts a registration's JSON body.
	registerBody(body map[string]any, m Metadata)
	// manageURL is the URL a client is read, updated and deleted at.
	manageURL(endpoint string, r Registration) (string, error)
	// manageAuth is the Authorization header of a read, update or delete.
	manageAuth(initialAccessToken string, r Registration) string
	// updateBody adjusts an update's JSON body (already the full desired metadata + client_id).
	updateBody(body map[string]any, m Metadata, r Registration)
	// gone reports whether an error answer means the client no longer exists.
	gone(e *Error) bool
	// secretRotation is how the IdP lets a client get a new secret (rotation.go).
	secretRotation() SecretRotation
	// defaultRegistrationEndpoint is the IdP's documented registration endpoint for an issuer
	// whose discovery document advertises none ("" when there is no such default).
	defaultRegistrationEndpoint(issuer string) string
}

// Driver names.
const (
	DriverGeneric  = "generic"
	DriverOkta     = "okta"
	DriverKeycloak = "keycloak"
	DriverHydra    = "hydra"
)

// Drivers lists the supported driver names.
var Drivers = []string{DriverGeneric, DriverOkta, DriverKeycloak, DriverHydra}

func driverFor(name string) (driver, error) {
	switch name {
	case "", DriverGeneric:
		return rfc7592{}, nil
	case DriverOkta:
		return okta{}, nil
	case DriverKeycloak:
		return keycloak{}, nil
	case DriverHydra:
		return hydra{}, nil
	}
	return nil, fmt.Errorf("%w %q; use one of %s", ErrUnknownDriver, name, strings.Join(Drivers, ", "))
}

// rfc7592 is plain RFC 7591 registration and RFC 7592 management, the generic driver and the
// base of the others.
type rfc7592 struct{}

func (rfc7592) registerAuth(iat string) string { return bearer(iat) }

func (rfc7592) registerBody(map[string]any, Metadata) {}

// manageURL prefers the registration_client_uri the IdP gave (RFC 7592 §3); without one it
// falls back to the common {registration_endpoint}/{client_id} layout.
func (rfc7592) manageURL(endpoint string, r Registration) (string, error) {
	if r.RegistrationClientURI != "" {
		return r.RegistrationClientURI, nil
	}
	if r.ClientID != "" && endpoint != "" {
		return strings.TrimSuffix(endpoint, "/") + "/" + url.PathEscape(r.ClientID), nil
	}
	return "", fmt.Errorf("no registration_client_uri known for the client: the identity provider did not return one")
}

// manageAuth uses the registration access token; an IdP that issued none may accept the
// initial access token instead.
func (rfc7592) manageAuth(iat string, r Registration) string {
	if r.RegistrationAccessToken != "" {
		return bearer(r.RegistrationAccessToken)
	}
	return bearer(iat)
}

// updateBody: RFC 7592 §2.2 lets the client include its current secret, which must match.
func (rfc7592) updateBody(body map[string]any, _ Metadata, r Registration) {
	if r.ClientSecret != "" {
		body[fieldClientSecret] = r.ClientSecret
	}
}

// gone: RFC 7592 §2.1 answers 401 for a client that does not exist (and revokes its token);
// many servers answer 404.
func (rfc7592) gone(e *Error) bool {
	return e.StatusCode == 404 || e.StatusCode == 401
}

// secretRotation: RFC 7592 §2.2 lets the server answer an update with a new secret.
func (rfc7592) secretRotation() SecretRotation { return RotateByUpdate }

// defaultRegistrationEndpoint: RFC 7591 fixes no path, so nothing is guessed.
func (rfc7592) defaultRegistrationEndpoint(string) string { return "" }

func bearer(token string) string { return authorization("Bearer", token) }

// authorization is an Authorization header's value for token under scheme, or none without
// a token.
func authorization(scheme, token string) string {
	if token == "" {
		return ""
	}
	return scheme + " " + token
}
