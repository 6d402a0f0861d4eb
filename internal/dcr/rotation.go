package dcr

import (
	"context"
	"errors"
	"fmt"
)

// SecretRotation is how a driver gives a client a new secret.
type SecretRotation int

const (
	// RotateWithSecretsAPI adds a new secret beside the current one through the IdP's own
	// secrets API (okta): the client_id is kept, and the previous secret keeps working until
	// the next rotation removes it. See RotateSecret.
	RotateWithSecretsAPI SecretRotation = iota + 1
	// RotateByUpdate sends an RFC 7592 update, which §2.2 lets the server answer with a new
	// secret (generic); when it keeps the secret, the client is replaced within the same call.
	// See UpdateRotatingSecret.
	RotateByUpdate
	// RotateByReplacement: the IdP offers no way to issue a new secret to an existing client
	// (hydra, keycloak), so the caller registers a new client and deletes the old one.
	RotateByReplacement
)

// SecretRotation says how this client's driver rotates secrets.
func (c *Client) SecretRotation() SecretRotation { return c.drv.secretRotation() }

// ErrRotationIncomplete means a rotation stopped part way. The error says what exists at the
// identity provider and what to do; Rotation.Registration, when it has a client_id, is what
// the caller must keep, since it is the client as the IdP now holds it.
var ErrRotationIncomplete = errors.New("the secret rotation did not complete")

// Rotation is the outcome of a secret rotation, complete or not.
type Rotation struct {
	// Registration is the client to keep: with its new secret when Rotated, else the client
	// as it was (after the update, for UpdateRotatingSecret). Empty ClientID: nothing to keep.
	Registration Registration
	// Rotated reports whether Registration carries a new secret.
	Rotated bool
	// SecretID is the IdP's id of the secret Registration holds (RotateWithSecretsAPI), which
	// the caller keeps to know, at the next rotation, which secret to leave alone.
	SecretID string
	// Replaced is the client_id of a client that a replacement deleted; "" when the
	// client_id was kept.
	Replaced string
}

// UpdateRotatingSecret updates the client with desired (as Update) and makes sure it ends up
// with a new secret: when the IdP's answer carries a secret other than prev's, that is the
// rotation and the client_id is kept. Otherwise a new client is registered with the same
// metadata first, and the old one deleted after, so that a failure never leaves the caller
// without a working client; an error after the registration returns the new client for the
// caller to keep and names the old one, which still exists.
func (c *Client) UpdateRotatingSecret(ctx context.Context, prev Registration, desired Metadata) (Rotation, error) {
	updated, err := c.Update(ctx, prev, desired)
	if err != nil {
		return Rotation{}, err
	}
	if updated.ClientSecret != "" && updated.ClientSecret != prev.ClientSecret {
		c.cfg.Logger.debug(ctx, "the update answered a new client secret", map[string]any{"client_id": updated.ClientID})
		return Rotation{Registration: updated, Rotated: true}, nil
	}
	c.cfg.Logger.debug(ctx, "the update kept the client secret; replacing the client", map[string]any{"client_id": updated.ClientID})
	fresh, err := c.Register(ctx, desired)
	if err != nil {
		what := "No new client was registered"
		if errors.Is(err, ErrOutcomeUnknown) {
			what = "The registration's answer was lost, so a new client with the same client_name may exist at the " +
				"identity provider without Terraform knowing it; delete it there"
		}
		return Rotation{Registration: updated}, fmt.Errorf("%w: the identity provider kept the secret of client %s on "+
			"update, and registering a replacement failed. %s. Client %s and its secret are unchanged and still work; "+
			"apply again to retry the rotation: %w", ErrRotationIncomplete, prev.ClientID, what, updated.ClientID, err)
	}
	if err := c.Delete(ctx, updated); err != nil {
		return Rotation{Registration: fresh, Rotated: true}, fmt.Errorf("%w: client %s replaces client %s and is saved "+
			"in the state, but deleting the old client failed, so its secret still works. Delete client %s at the "+
			"identity provider (registration_client_uri %s): %w", ErrRotationIncomplete, fresh.ClientID, updated.ClientID,
			updated.ClientID, updated.RegistrationClientURI, err)
	}
	return Rotation{Registration: fresh, Rotated: true, Replaced: updated.ClientID}, nil
}
