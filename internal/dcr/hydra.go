package dcr

import "strings"

// hydra is Ory Hydra's dynamic registration ({issuer}/oauth2/register): open registration, a
// registration access token rotated on every update, and updates that carry client_secret
// are rejected ("it is not possible to set a client secret" through DCR).
type hydra struct{ rfc7592 }

func (hydra) updateBody(body map[string]any, _ Metadata, _ Registration) {
	delete(body, fieldClientSecret)
}

// hydraRegistrationPath is where Hydra serves registration on its public port. Its discovery
// document advertises registration_endpoint only when the operator sets
// webfinger.oidc_discovery.client_registration_url, which a default install does not.
const hydraRegistrationPath = "/oauth2/register"

func (hydra) defaultRegistrationEndpoint(issuer string) string {
	return strings.TrimSuffix(issuer, "/") + hydraRegistrationPath
}
