package dcr

// keycloak is Keycloak's OIDC client registration service
// ({issuer}/clients-registrations/openid-connect): registration authorized by an initial
// access token, management by a registration access token that is rotated on every update
// (the caller keeps the new one, see carriedFrom). Keycloak rejects a client_id in a
// registration because it assigns it; no body can carry one (Metadata has no field for it and
// Validate keeps it out of Extra, see TestBodiesNeverCarryIssuedFields).
type keycloak struct{ rfc7592 }

// secretRotation: Keycloak documents regenerating a secret only in its admin API
// (POST /admin/realms/{realm}/clients/{id}/client-secret), outside what an initial access
// token may do, and not as an effect of a registration update; so a rotation replaces the
// client. (Keycloak's source was not checked for an undocumented way.)
func (keycloak) secretRotation() SecretRotation { return RotateByReplacement }
