package dcr

import "strings"

// hydra is Ory Hydra's dynamic registration ({issuer}/oauth2/register): open registration, a
// registration access token rotated on every update, and updates that carry client_secret
// are rejected ("it is not possible to set a client secret" through DCR).
type hydra struct{ rfc7592 }

// updateBody adds nothing: unlike RFC 7592 §2.2's rule (rfc7592.updateBody echoes the issued
// secret), Hydra refuses an update that carries client_secret.
func (hydra) updateBody(map[string]any, Metadata, Registration) {}

// hydraRegistrationPath is where Hydra serves registration on its public port. Its discovery
// document advertises registration_endpoint only when the operator sets
// webfinger.oidc_discovery.client_registration_url, which a default install does not.
const hydraRegistrationPath = "/oauth2/register"

func (hydra) defaultRegistrationEndpoint(issuer string) string {
	return strings.TrimSuffix(issuer, "/") + hydraRegistrationPath
}

// secretRotation: Hydra keeps the secret on a DCR update and refuses one the client chooses
// (client/handler.go, updateOidcDynamicClient), so a new secret means a new client.
func (hydra) secretRotation() SecretRotation { return RotateByReplacement }
