package dcr

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/mockidp"
)

const rotationAPIToken = "okta-api-token-rotation"

// mockClient is a Client of the driver matching idp's flavour.
func mockClient(t *testing.T, idp *mockidp.Server, driver string) *Client {
	t.Helper()
	return mockClientVia(t, idp, driver, nil)
}

// mockClientVia is mockClient sending through transport (nil: the default transport).
func mockClientVia(t *testing.T, idp *mockidp.Server, driver string, transport http.RoundTripper) *Client {
	t.Helper()
	c, err := New(Config{Driver: driver, Issuer: idp.URL(), InitialAccessToken: rotationAPIToken, MaxRetries: 1,
		RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond,
		HTTPClient: &http.Client{Timeout: 5 * time.Second, Transport: transport}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// mintsAt reports whether idp's token endpoint grants clientID a token with secret.
func mintsAt(t *testing.T, idp *mockidp.Server, clientID, secret string) bool {
	t.Helper()
	_, err := newTestTokenClient(0, nil).ClientCredentials(context.Background(), TokenRequest{
		Endpoint: idp.TokenEndpoint(), ClientID: clientID, ClientSecret: secret})
	return err == nil
}

func serviceMetadata() Metadata {
	return Metadata{ClientName: "svc", GrantTypes: []string{"client_credentials"}, Scope: "orders"}
}

// registerService registers serviceMetadata through c, failing t when that fails.
func registerService(t *testing.T, c *Client) Registration {
	t.Helper()
	reg, err := c.Register(t.Context(), serviceMetadata())
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// TestRotateSecret_okta runs Okta's rotation sequence from one secret (a new registration),
// then from two: the secret the state holds stays ACTIVE, the other is deactivated and
// deleted, and the new one is created; the client_id never changes.
func TestRotateSecret_okta(t *testing.T) {
	idp := mockidp.NewTestServer(t, mockidp.Options{Flavor: mockidp.FlavorOkta, InitialAccessToken: rotationAPIToken})
	c := mockClient(t, idp, DriverOkta)
	ctx := context.Background()
	first := registerService(t, c)

	// One secret: nothing to remove, a second one is created beside it.
	r1, err := c.RotateSecret(ctx, first, "")
	if err != nil {
		t.Fatal(err)
	}
	secrets := idp.ClientSecrets(first.ClientID)
	if !r1.Rotated || r1.Registration.ClientID != first.ClientID || r1.Registration.ClientSecret == first.ClientSecret ||
		len(secrets) != 2 || secrets[1].ID != r1.SecretID || secrets[1].Secret != r1.Registration.ClientSecret {
		t.Fatalf("first rotation = %+v; the IdP holds %+v", r1, secrets)
	}
	if !mintsAt(t, idp, first.ClientID, first.ClientSecret) || !mintsAt(t, idp, first.ClientID, r1.Registration.ClientSecret) {
		t.Fatal("after the first rotation both the old and the new secret must mint tokens")
	}

	// Two secrets: the one the state does not hold (the first) goes; the state's stays.
	r2, err := c.RotateSecret(ctx, r1.Registration, r1.SecretID)
	if err != nil {
		t.Fatal(err)
	}
	if !r2.Rotated || r2.Registration.ClientID != first.ClientID || r2.Registration.ClientSecret == r1.Registration.ClientSecret {
		t.Fatalf("second rotation = %+v", r2)
	}
	if mintsAt(t, idp, first.ClientID, first.ClientSecret) {
		t.Error("the first secret still mints after the second rotation")
	}
	if !mintsAt(t, idp, first.ClientID, r1.Registration.ClientSecret) || !mintsAt(t, idp, first.ClientID, r2.Registration.ClientSecret) {
		t.Error("the second and third secrets must mint tokens")
	}
	if got := idp.ClientSecrets(first.ClientID); len(got) != 2 || got[0].ID != r1.SecretID || got[1].ID != r2.SecretID {
		t.Errorf("the IdP holds %+v, want the second and third secrets", got)
	}

	// Two secrets and no way to tell which is the state's (an imported client): nothing moves.
	before := idp.ClientSecrets(first.ClientID)
	_, err = c.RotateSecret(ctx, r2.Registration, "")
	if !errors.Is(err, ErrRotationIncomplete) || !strings.Contains(err.Error(), "Nothing was changed") {
		t.Fatalf("rotation without a known secret id: %v", err)
	}
	if after := idp.ClientSecrets(first.ClientID); len(after) != 2 || after[0] != before[0] || after[1] != before[1] {
		t.Errorf("secrets changed: %+v -> %+v", before, after)
	}

	// Every call carried the API token, and the secret ids and values went nowhere else.
	for _, req := range idp.Requests() {
		if strings.Contains(req.Path, "/credentials/secrets") && req.Header.Get("Authorization") != "SSWS "+rotationAPIToken {
			t.Errorf("%s %s without the API token", req.Method, req.Path)
		}
	}
}

// TestRotateSecret_oktaNoSecret: a client without a secret (token_endpoint_auth_method none)
// gets its first one.
func TestRotateSecret_oktaNoSecret(t *testing.T) {
	idp := mockidp.NewTestServer(t, mockidp.Options{Flavor: mockidp.FlavorOkta, InitialAccessToken: rotationAPIToken})
	c := mockClient(t, idp, DriverOkta)
	ctx := context.Background()
	reg, err := c.Register(ctx, Metadata{ClientName: "spa", ApplicationType: "native", GrantTypes: []string{"authorization_code"},
		RedirectURIs: []string{"https://app.example.com/cb"}, TokenEndpointAuthMethod: "none"})
	if err != nil {
		t.Fatal(err)
	}
	if reg.ClientSecret != "" || len(idp.ClientSecrets(reg.ClientID)) != 0 {
		t.Fatalf("registration %+v holds secrets %+v; want none", reg, idp.ClientSecrets(reg.ClientID))
	}
	r, err := c.RotateSecret(ctx, reg, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := idp.ClientSecrets(reg.ClientID); !r.Rotated || len(got) != 1 || got[0].Secret != r.Registration.ClientSecret {
		t.Fatalf("rotation %+v; the IdP holds %+v", r, got)
	}
}

// TestRotateSecret_oktaRefusedCreateKeepsState: when Okta refuses the new secret, the state's
// secret is untouched and still works, and the error carries Okta's cause.
func TestRotateSecret_oktaRefusedCreateKeepsState(t *testing.T) {
	idp := mockidp.NewTestServer(t, mockidp.Options{Flavor: mockidp.FlavorOkta, InitialAccessToken: rotationAPIToken})
	c := mockClient(t, idp, DriverOkta)
	ctx := context.Background()
	reg := registerService(t, c)
	idp.SetFaults(mockidp.Faults{Status: http.StatusBadRequest, Next: 1, PathPrefix: "/api/v1/apps/", Method: http.MethodPost})
	r, err := c.RotateSecret(ctx, reg, "")
	if err == nil || r.Rotated || r.Registration.ClientSecret != reg.ClientSecret || r.SecretID == "" {
		t.Fatalf("refused rotation = %+v, %v", r, err)
	}
	if !mintsAt(t, idp, reg.ClientID, reg.ClientSecret) {
		t.Error("the state's secret no longer mints after a refused rotation")
	}
}

// TestUpdateRotatingSecret decides between the update's new secret and a replacement.
func TestUpdateRotatingSecret(t *testing.T) {
	for _, tc := range []struct {
		name              string
		rotateOnUpdate    bool
		wantNewClientID   bool
		wantOldClientGone bool
	}{
		{"the update answers a new secret", true, false, false},
		{"the update keeps the secret", false, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			idp := mockidp.NewTestServer(t, mockidp.Options{RotateSecretOnUpdate: tc.rotateOnUpdate})
			c := mockClient(t, idp, DriverGeneric)
			ctx := context.Background()
			old := registerService(t, c)
			md := serviceMetadata()
			md.ClientName = "svc-v2"
			r, err := c.UpdateRotatingSecret(ctx, old, md)
			if err != nil {
				t.Fatal(err)
			}
			got := r.Registration
			if !r.Rotated || got.ClientSecret == "" || got.ClientSecret == old.ClientSecret {
				t.Fatalf("rotation = %+v", r)
			}
			if newID := got.ClientID != old.ClientID; newID != tc.wantNewClientID || (r.Replaced == old.ClientID) != tc.wantNewClientID {
				t.Fatalf("client_id %s -> %s, Replaced %q", old.ClientID, got.ClientID, r.Replaced)
			}
			if _, exists := idp.Client(old.ClientID); exists == tc.wantOldClientGone {
				t.Fatalf("old client exists at the IdP: %v", exists)
			}
			if n := len(idp.Clients()); n != 1 {
				t.Fatalf("the IdP holds %d clients, want exactly 1 (nothing orphaned)", n)
			}
			if rec, _ := idp.Client(got.ClientID); rec.Metadata["client_name"] != "svc-v2" {
				t.Errorf("the client holds %v", rec.Metadata)
			}
			if mintsAt(t, idp, old.ClientID, old.ClientSecret) || !mintsAt(t, idp, got.ClientID, got.ClientSecret) {
				t.Error("the old credentials must be refused and the new ones mint")
			}
		})
	}
}

// TestUpdateRotatingSecret_failedDeleteKeepsNewClient: when the old client cannot be deleted,
// the new client is returned for the caller to save, and the error names the old one.
func TestUpdateRotatingSecret_failedDeleteKeepsNewClient(t *testing.T) {
	idp := mockidp.NewTestServer(t, mockidp.Options{})
	c := mockClient(t, idp, DriverGeneric)
	ctx := context.Background()
	old := registerService(t, c)
	idp.SetFaults(mockidp.Faults{Status: http.StatusBadRequest, Next: 1, Method: http.MethodDelete})
	r, err := c.UpdateRotatingSecret(ctx, old, serviceMetadata())
	if !errors.Is(err, ErrRotationIncomplete) || !strings.Contains(err.Error(), "Delete client "+old.ClientID) {
		t.Fatalf("error = %v", err)
	}
	if !r.Rotated || r.Registration.ClientID == old.ClientID || r.Replaced != "" {
		t.Fatalf("rotation = %+v", r)
	}
	if _, ok := idp.Client(r.Registration.ClientID); !ok {
		t.Fatal("the new client is not at the IdP")
	}
	if _, ok := idp.Client(old.ClientID); !ok {
		t.Fatal("the old client should still exist, as the error says")
	}
}
