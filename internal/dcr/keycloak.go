package dcr

// keycloak is Keycloak's OIDC client registration service
// ({issuer}/clients-registrations/openid-connect): registration authorized by an initial
// access token, management by a registration access token that is rotated on every update
// (the caller keeps the new one, see carriedFrom), and a client_id in a registration is
// rejected because Keycloak assigns it.
type keycloak struct{ rfc7592 }

func (keycloak) registerBody(body map[string]any, _ Metadata) {
	delete(body, fieldClientID)
}
