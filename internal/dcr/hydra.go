package dcr

// hydra is Ory Hydra's dynamic registration ({issuer}/oauth2/register): open registration, a
// registration access token rotated on every update, and updates that carry client_secret
// are rejected ("it is not possible to set a client secret" through DCR).
type hydra struct{ rfc7592 }

func (hydra) updateBody(body map[string]any, _ Metadata, _ Registration) {
	delete(body, fieldClientSecret)
}
