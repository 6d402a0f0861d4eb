package dcr

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/idpgate/terraform-provider-idpgate/internal/mockidp"
)

// goneOnDelete is a transport that sends a DELETE of an Okta secret through, then answers
// 404 as if another actor had deleted the secret first.
type goneOnDelete struct{ deletes int }

func (g *goneOnDelete) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil || r.Method != http.MethodDelete || !strings.Contains(r.URL.Path, "/credentials/secrets/") {
		return resp, err
	}
	g.deletes++
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	body := `{"errorCode":"E0000007","errorSummary":"Not found: Resource not found"}`
	return &http.Response{StatusCode: http.StatusNotFound, Status: "404 Not Found", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)), Request: r}, nil
}

// TestRotateSecret_oktaSecretAlreadyGone: when the older secret the rotation removes is
// already gone (its DELETE answers 404), the rotation goes on and creates the new secret.
func TestRotateSecret_oktaSecretAlreadyGone(t *testing.T) {
	idp := mockidp.NewTestServer(t, mockidp.Options{Flavor: mockidp.FlavorOkta, InitialAccessToken: rotationAPIToken})
	gone := &goneOnDelete{}
	c := mockClientVia(t, idp, DriverOkta, gone)
	ctx := context.Background()
	first := registerService(t, c)
	r1, err := c.RotateSecret(ctx, first, "")
	if err != nil {
		t.Fatal(err)
	}
	r2, err := c.RotateSecret(ctx, r1.Registration, r1.SecretID)
	if err != nil {
		t.Fatalf("rotation whose delete of the older secret answered 404: %v, want success", err)
	}
	if gone.deletes != 1 || !r2.Rotated || r2.Registration.ClientSecret == r1.Registration.ClientSecret {
		t.Fatalf("rotation = %+v after %d deletes", r2, gone.deletes)
	}
	if !mintsAt(t, idp, first.ClientID, r2.Registration.ClientSecret) || !mintsAt(t, idp, first.ClientID, r1.Registration.ClientSecret) {
		t.Error("the new secret and the state's previous one must both mint")
	}
}

// secretsListed is a transport that removes client_secret from the answers listing an Okta
// app's secrets, as an Okta that leaves out the undisclosed values would answer.
type secretsListed struct{}

func (secretsListed) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil || r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/credentials/secrets") {
		return resp, err
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var list []map[string]any
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, err
	}
	for _, s := range list {
		delete(s, "client_secret")
	}
	raw, _ = json.Marshal(list)
	resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(raw)), int64(len(raw))
	resp.Header.Del("Content-Length")
	return resp, nil
}

// TestRotateSecret_oktaImportedWithTwoSecretsDeletesNothing: an imported client's state has
// neither a secret id nor a secret Okta would show; with two secrets at Okta the rotation
// cannot tell which one the applications use, so it deactivates and deletes nothing, also
// when Okta's list shows no value to compare with.
func TestRotateSecret_oktaImportedWithTwoSecretsDeletesNothing(t *testing.T) {
	for name, transport := range map[string]http.RoundTripper{"list with hashed values": http.DefaultTransport, "list without values": secretsListed{}} {
		t.Run(name, func(t *testing.T) { testOktaImportedWithTwoSecrets(t, transport) })
	}
}

func testOktaImportedWithTwoSecrets(t *testing.T, transport http.RoundTripper) {
	idp := mockidp.NewTestServer(t, mockidp.Options{Flavor: mockidp.FlavorOkta, InitialAccessToken: rotationAPIToken})
	c := mockClientVia(t, idp, DriverOkta, transport)
	ctx := context.Background()
	reg := registerService(t, c)
	if _, err := c.RotateSecret(ctx, reg, ""); err != nil { // now two secrets
		t.Fatal(err)
	}
	imported, err := c.Read(ctx, Registration{ClientID: reg.ClientID})
	if err != nil {
		t.Fatal(err)
	}
	for name, prev := range map[string]Registration{
		"as read":        imported,
		"with no secret": {ClientID: reg.ClientID},
	} {
		before := idp.ClientSecrets(reg.ClientID)
		_, err := c.RotateSecret(ctx, prev, "")
		if !errors.Is(err, ErrRotationIncomplete) || !strings.Contains(err.Error(), "Nothing was changed") {
			t.Errorf("%s: %v, want ErrRotationIncomplete saying nothing was changed", name, err)
		}
		after := idp.ClientSecrets(reg.ClientID)
		if len(after) != 2 || after[0] != before[0] || after[1] != before[1] {
			t.Errorf("%s: secrets %+v -> %+v, want untouched", name, before, after)
		}
	}
	for _, req := range idp.Requests() {
		if strings.Contains(req.Path, "/lifecycle/deactivate") || req.Method == http.MethodDelete {
			t.Errorf("%s %s: nothing may be deactivated or deleted", req.Method, req.Path)
		}
	}
}

// TestUpdateRotatingSecret_refusedUpdateChangesNothing: when the IdP refuses the update, the
// rotation returns no client to keep (the caller keeps its prior state) and registers none.
func TestUpdateRotatingSecret_refusedUpdateChangesNothing(t *testing.T) {
	idp := mockidp.NewTestServer(t, mockidp.Options{})
	c := mockClient(t, idp, DriverGeneric)
	ctx := context.Background()
	old := registerService(t, c)
	idp.SetFaults(mockidp.Faults{Status: http.StatusBadRequest, Next: 1, Method: http.MethodPut})
	r, err := c.UpdateRotatingSecret(ctx, old, serviceMetadata())
	if err == nil || r.Registration.ClientID != "" || r.Rotated {
		t.Fatalf("refused update: %+v, %v; want an error and nothing to keep", r, err)
	}
	if n := len(idp.Clients()); n != 1 {
		t.Errorf("the IdP holds %d clients, want the one it had", n)
	}
	if !mintsAt(t, idp, old.ClientID, old.ClientSecret) {
		t.Error("the client's secret no longer mints after a refused update")
	}
}
