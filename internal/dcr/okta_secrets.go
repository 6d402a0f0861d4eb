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

// Okta rotates secrets through its Application Client Secrets API,
// {org}/api/v1/apps/{clientId}/credentials/secrets, with the same SSWS API token: an app
// holds at most two secrets, every ACTIVE one authenticates, only an INACTIVE one can be
// deleted, and a secret is shown in clear only in the answer that creates it.

// oktaClientsPath is the suffix of Okta's client API, under the org's URL.
const oktaClientsPath = "/oauth2/v1/clients"

// oktaSecret is one element of Okta's secrets API answers.
type oktaSecret struct {
	ID           string `json:"id"`
	Status       string `json:"status"`
	ClientSecret string `json:"client_secret"`
	Created      string `json:"created"`
}

// RotateSecret gives an okta client a new secret and keeps its client_id. currentSecretID is
// the id of the secret prev holds, as the last rotation returned it ("" when unknown). When
// the app already has two secrets, the one prev does not hold is deactivated and deleted;
// then a new one is created. prev's secret stays ACTIVE until the next rotation, so whatever
// still uses it keeps working. On error, Rotation.SecretID still names prev's secret when it
// was found, for the caller to keep.
func (c *Client) RotateSecret(ctx context.Context, prev Registration, currentSecretID string) (Rotation, error) {
	if c.drv.secretRotation() != RotateWithSecretsAPI {
		return Rotation{}, fmt.Errorf("the %s driver has no secrets API", c.Driver())
	}
	base, err := c.oktaSecretsURL(ctx, prev.ClientID)
	if err != nil {
		return Rotation{}, err
	}
	auth := c.drv.manageAuth(c.cfg.InitialAccessToken, prev)
	answer, err := c.do(ctx, "list secrets", http.MethodGet, base, auth, nil, true)
	if err != nil {
		return Rotation{}, err
	}
	var secrets []oktaSecret
	if err := json.Unmarshal(answer, &secrets); err != nil {
		return Rotation{}, fmt.Errorf("list secrets: the answer is not a JSON array of secrets: %w", err)
	}
	current, other, err := pickOktaSecrets(prev, currentSecretID, secrets)
	if err != nil {
		return Rotation{}, err
	}
	kept := Rotation{Registration: prev, SecretID: current}
	if other != nil {
		if err := c.removeOktaSecret(ctx, base, auth, *other); err != nil {
			return kept, fmt.Errorf("%w: removing the older secret %s of client %s: %w. The secret in the state still "+
				"works; apply again to retry", ErrRotationIncomplete, other.ID, prev.ClientID, err)
		}
	}
	answer, err = c.do(ctx, "create secret", http.MethodPost, base, auth, map[string]any{}, false)
	if err != nil {
		if errors.Is(err, ErrOutcomeUnknown) {
			return kept, fmt.Errorf("%w: Okta may have created a new secret for client %s, but its answer, and so the "+
				"secret, was lost. The secret in the state still works. Apply again: the rotation then deactivates "+
				"and deletes the secret whose value was lost and creates another: %w", ErrRotationIncomplete, prev.ClientID, err)
		}
		return kept, err
	}
	var created oktaSecret
	if err := json.Unmarshal(answer, &created); err != nil || created.ClientSecret == "" || created.ID == "" {
		return kept, fmt.Errorf("%w: Okta created a new secret for client %s, but its answer carries no usable "+
			"secret (%v). The secret in the state still works. Apply again: the rotation then deletes the unusable "+
			"secret and creates another", ErrRotationIncomplete, prev.ClientID, err)
	}
	reg := prev
	reg.ClientSecret = created.ClientSecret
	c.cfg.Logger.debug(ctx, "created a new client secret", map[string]any{"client_id": prev.ClientID, "secret_id": created.ID})
	return Rotation{Registration: reg, Rotated: true, SecretID: created.ID}, nil
}

// pickOktaSecrets finds the secret prev holds (by its clear value, should Okta show it, or
// by the id the last rotation recorded) and the other one, which the rotation removes. With
// one secret, that one is prev's. With two and no way to tell, nothing is touched: deleting
// the secret the applications use would cut them off.
func pickOktaSecrets(prev Registration, currentID string, secrets []oktaSecret) (string, *oktaSecret, error) {
	switch len(secrets) {
	case 0:
		return "", nil, nil
	case 1:
		return secrets[0].ID, nil, nil
	case 2:
		for i, s := range secrets {
			if (currentID != "" && s.ID == currentID) || (prev.ClientSecret != "" && s.ClientSecret == prev.ClientSecret) {
				return s.ID, &secrets[1-i], nil
			}
		}
	}
	ids := make([]string, len(secrets))
	for i, s := range secrets {
		ids[i] = s.ID + " (" + s.Status + ", created " + s.Created + ")"
	}
	return "", nil, fmt.Errorf("%w: client %s has the secrets %s at Okta, and none is known to be the one in the "+
		"state (Okta shows a secret only when it creates it, and this state records no secret id: the client was "+
		"imported, or its secrets were changed outside Terraform). Nothing was changed. In Okta's Admin Console, "+
		"deactivate and delete the secret your applications no longer use, then apply again",
		ErrRotationIncomplete, prev.ClientID, strings.Join(ids, ", "))
}

// removeOktaSecret deactivates (Okta deletes only INACTIVE secrets) and deletes a secret.
func (c *Client) removeOktaSecret(ctx context.Context, base, auth string, s oktaSecret) error {
	target := base + "/" + url.PathEscape(s.ID)
	if s.Status != "INACTIVE" {
		if _, err := c.do(ctx, "deactivate secret", http.MethodPost, target+"/lifecycle/deactivate", auth, nil, true); err != nil {
			return err
		}
	}
	_, err := c.do(ctx, "delete secret", http.MethodDelete, target, auth, nil, true)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// oktaSecretsURL is {org}/api/v1/apps/{clientId}/credentials/secrets; the org's URL is the
// registration endpoint without /oauth2/v1/clients (Okta's discovery names the org-level
// endpoint even for a custom authorization server).
func (c *Client) oktaSecretsURL(ctx context.Context, clientID string) (string, error) {
	if clientID == "" {
		return "", fmt.Errorf("okta manages clients by client_id, and none is known")
	}
	endpoint, err := c.RegistrationEndpoint(ctx)
	if err != nil {
		return "", err
	}
	org, ok := strings.CutSuffix(strings.TrimSuffix(endpoint, "/"), oktaClientsPath)
	if !ok {
		return "", fmt.Errorf("okta: the registration endpoint %s does not end in %s, so the org's secrets API "+
			"cannot be found from it", endpoint, oktaClientsPath)
	}
	return org + "/api/v1/apps/" + url.PathEscape(clientID) + "/credentials/secrets", nil
}
