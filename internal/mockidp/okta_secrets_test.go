package mockidp_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/idpgate/terraform-provider-idpgate/internal/mockidp"
)

// mints reports whether the token endpoint grants a token to clientID with secret.
func mints(t *testing.T, idp *mockidp.Server, clientID, secret string) bool {
	t.Helper()
	r := postForm(t, idp.TokenEndpoint(), url.Values{"grant_type": {"client_credentials"}}, clientID, secret)
	return r.status == http.StatusOK
}

// listSecrets decodes the JSON array the list answers.
func listSecrets(t *testing.T, target, auth string) []map[string]any {
	t.Helper()
	r := call(t, http.MethodGet, target, auth, nil)
	r.expect(t, http.StatusOK, "")
	var list []map[string]any
	if err := json.Unmarshal(r.raw, &list); err != nil {
		t.Fatalf("list answer %s: %v", r.raw, err)
	}
	return list
}

// TestOktaClientSecrets walks Okta's client secrets API: at most two secrets, both ACTIVE
// ones authenticate, the clear value only in the creation answer, the last ACTIVE secret
// cannot be deactivated, only an INACTIVE one deleted, and a deleted or INACTIVE secret
// mints nothing.
func TestOktaClientSecrets(t *testing.T) {
	idp := mockidp.NewTestServer(t, mockidp.Options{Flavor: mockidp.FlavorOkta, InitialAccessToken: "okta-api"})
	api := "SSWS okta-api"
	md := ccClient("svc", "")
	md["application_type"] = "service"
	created := call(t, http.MethodPost, idp.RegistrationEndpoint(), api, md)
	created.expect(t, http.StatusCreated, "")
	id, first := created.str("client_id"), created.str("client_secret")
	secrets := idp.URL() + "/api/v1/apps/" + id + "/credentials/secrets"

	call(t, http.MethodGet, secrets, "SSWS wrong", nil).expect(t, http.StatusUnauthorized, "")
	call(t, http.MethodGet, idp.URL()+"/api/v1/apps/0oaunknown/credentials/secrets", api, nil).expect(t, http.StatusNotFound, "")

	list := listSecrets(t, secrets, api)
	if len(list) != 1 || list[0]["status"] != "ACTIVE" || list[0]["client_secret"] == first || list[0]["secret_hash"] == "" {
		t.Fatalf("list after registration = %v; want the one ACTIVE secret, undisclosed", list)
	}
	firstID, _ := list[0]["id"].(string)

	second := call(t, http.MethodPost, secrets, api, map[string]any{})
	second.expect(t, http.StatusCreated, "")
	secondValue, secondID := second.str("client_secret"), second.str("id")
	if secondValue == "" || secondValue == first || second.str("status") != "ACTIVE" {
		t.Fatalf("create answer: %s", second.raw)
	}
	if !mints(t, idp, id, first) || !mints(t, idp, id, secondValue) {
		t.Fatal("both ACTIVE secrets must mint tokens")
	}
	// The client API shows no secret while two exist (see okta_secrets.go).
	read := call(t, http.MethodGet, idp.RegistrationEndpoint()+"/"+id, api, nil)
	read.expect(t, http.StatusOK, "")
	if _, has := read.body["client_secret"]; has {
		t.Fatalf("client GET shows a secret while two exist: %s", read.raw)
	}

	third := call(t, http.MethodPost, secrets, api, map[string]any{})
	third.expect(t, http.StatusBadRequest, "")
	if third.str("errorCode") != "E0000001" || len(third.body["errorCauses"].([]any)) != 1 {
		t.Fatalf("a third secret: %s", third.raw)
	}

	call(t, http.MethodDelete, secrets+"/"+firstID, api, nil).expect(t, http.StatusBadRequest, "")
	call(t, http.MethodPost, secrets+"/"+firstID+"/lifecycle/deactivate", api, nil).expect(t, http.StatusOK, "")
	if mints(t, idp, id, first) {
		t.Fatal("an INACTIVE secret minted a token")
	}
	call(t, http.MethodPost, secrets+"/"+secondID+"/lifecycle/deactivate", api, nil).expect(t, http.StatusBadRequest, "")
	call(t, http.MethodPost, secrets+"/"+firstID+"/lifecycle/activate", api, nil).expect(t, http.StatusOK, "")
	if !mints(t, idp, id, first) {
		t.Fatal("a re-activated secret must mint tokens")
	}
	call(t, http.MethodPost, secrets+"/"+firstID+"/lifecycle/deactivate", api, nil).expect(t, http.StatusOK, "")
	call(t, http.MethodDelete, secrets+"/"+firstID, api, nil).expect(t, http.StatusNoContent, "")
	// A deleted secret is Okta's 404 for every route that names it.
	for _, gone := range []struct{ method, path string }{{http.MethodGet, ""}, {http.MethodDelete, ""},
		{http.MethodPost, "/lifecycle/activate"}, {http.MethodPost, "/lifecycle/deactivate"}} {
		r := call(t, gone.method, secrets+"/"+firstID+gone.path, api, nil)
		r.expect(t, http.StatusNotFound, "")
		if r.str("errorCode") != "E0000007" {
			t.Fatalf("%s %s of a deleted secret: %s", gone.method, gone.path, r.raw)
		}
	}
	if mints(t, idp, id, first) || !mints(t, idp, id, secondValue) {
		t.Fatal("after deleting the first secret only the second may mint")
	}
	if recs := idp.ClientSecrets(id); len(recs) != 1 || recs[0].ID != secondID || recs[0].Secret != secondValue {
		t.Fatalf("ClientSecrets = %+v", recs)
	}
	// With one secret left the client API shows it again.
	if got := call(t, http.MethodGet, idp.RegistrationEndpoint()+"/"+id, api, nil).str("client_secret"); got != secondValue {
		t.Fatalf("client GET shows %q, want the remaining secret", got)
	}
}

// TestGenericRotateSecretOnUpdate: with the option on, every RFC 7592 update answers a new
// secret and the old one stops working; off (the default), the secret stays.
func TestGenericRotateSecretOnUpdate(t *testing.T) {
	for _, rotate := range []bool{false, true} {
		idp := mockidp.NewTestServer(t, mockidp.Options{RotateSecretOnUpdate: rotate})
		created := call(t, http.MethodPost, idp.RegistrationEndpoint(), "", ccClient("svc", "read"))
		created.expect(t, http.StatusCreated, "")
		id, old := created.str("client_id"), created.str("client_secret")
		put := ccClient("svc", "read")
		put["client_id"] = id
		updated := call(t, http.MethodPut, created.str("registration_client_uri"), bearer(created.str("registration_access_token")), put)
		updated.expect(t, http.StatusOK, "")
		got := updated.str("client_secret")
		if rotated := got != old; rotated != rotate {
			t.Fatalf("RotateSecretOnUpdate=%v: update answered a new secret: %v", rotate, rotated)
		}
		if mints(t, idp, id, old) == rotate || !mints(t, idp, id, got) {
			t.Fatalf("RotateSecretOnUpdate=%v: the old secret mints %v, the answered one %v", rotate,
				mints(t, idp, id, old), mints(t, idp, id, got))
		}
	}
}
