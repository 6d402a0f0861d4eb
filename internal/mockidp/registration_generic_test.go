package mockidp_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/idpgate/terraform-provider-idpgate/internal/mockidp"
)

func TestGenericLifecycle(t *testing.T) {
	idp := mockidp.NewTestServer(t, mockidp.Options{InitialAccessToken: "iat-123"})
	if got, want := idp.RegistrationEndpoint(), idp.URL()+"/register"; got != want {
		t.Fatalf("RegistrationEndpoint = %q, want %q", got, want)
	}

	created := call(t, http.MethodPost, idp.RegistrationEndpoint(), bearer("iat-123"), map[string]any{
		"client_name":   "web app",
		"redirect_uris": []string{"https://app.example/cb"},
		"scope":         "read",
		"x_vendor":      "kept",
	})
	created.expect(t, http.StatusCreated, "")
	id, secret, rat := created.str("client_id"), created.str("client_secret"), created.str("registration_access_token")
	if id == "" || secret == "" || rat == "" {
		t.Fatalf("create answer lacks credentials: %s", created.raw)
	}
	uri := created.str("registration_client_uri")
	if uri != idp.URL()+"/register/"+id {
		t.Fatalf("registration_client_uri = %q", uri)
	}
	if created.body["client_secret_expires_at"] != float64(0) || created.body["client_id_issued_at"] == nil {
		t.Fatalf("missing client_secret_expires_at/client_id_issued_at: %s", created.raw)
	}
	// Server defaults are added to what the client sent.
	if !slices.Equal(created.strings("grant_types"), []string{"authorization_code"}) ||
		!slices.Equal(created.strings("response_types"), []string{"code"}) ||
		created.str("token_endpoint_auth_method") != "client_secret_basic" || created.str("x_vendor") != "kept" {
		t.Fatalf("defaults/echo wrong: %s", created.raw)
	}
	if created.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("Cache-Control = %q, want no-store", created.header.Get("Cache-Control"))
	}

	rec, ok := idp.Client(id)
	if !ok || rec.ClientSecret != secret || rec.RegistrationAccessToken != rat || rec.Metadata["client_name"] != "web app" {
		t.Fatalf("Client(%q) = %+v, %v", id, rec, ok)
	}

	read := call(t, http.MethodGet, uri, bearer(rat), nil)
	read.expect(t, http.StatusOK, "")
	if read.str("client_secret") != secret || read.str("registration_access_token") != rat || read.str("client_name") != "web app" {
		t.Fatalf("read answer: %s", read.raw)
	}

	updated := call(t, http.MethodPut, uri, bearer(rat), map[string]any{
		"client_id":      id,
		"client_secret":  secret,
		"client_name":    "renamed",
		"grant_types":    []string{"client_credentials"},
		"response_types": []string{},
	})
	updated.expect(t, http.StatusOK, "")
	if updated.str("client_name") != "renamed" || updated.str("registration_access_token") != rat {
		t.Fatalf("update answer: %s", updated.raw)
	}
	// Full replacement: what the PUT left out is gone.
	rec, _ = idp.Client(id)
	if _, kept := rec.Metadata["x_vendor"]; kept || rec.Metadata["scope"] != nil {
		t.Fatalf("PUT did not replace metadata: %v", rec.Metadata)
	}

	call(t, http.MethodDelete, uri, bearer(rat), nil).expect(t, http.StatusNoContent, "")
	if _, ok := idp.Client(id); ok {
		t.Fatal("client still exists after DELETE")
	}
	// RFC 7592: a deleted client is answered 401.
	gone := call(t, http.MethodGet, uri, bearer(rat), nil)
	gone.expect(t, http.StatusUnauthorized, "invalid_token")
	if !strings.HasPrefix(gone.header.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("WWW-Authenticate = %q", gone.header.Get("WWW-Authenticate"))
	}
}

func TestGenericRegistrationAuthorization(t *testing.T) {
	idp := mockidp.NewTestServer(t, mockidp.Options{InitialAccessToken: "iat-123"})
	md := ccClient("svc", "")
	call(t, http.MethodPost, idp.RegistrationEndpoint(), "", md).expect(t, http.StatusUnauthorized, "invalid_token")
	call(t, http.MethodPost, idp.RegistrationEndpoint(), bearer("wrong"), md).expect(t, http.StatusUnauthorized, "invalid_token")

	created := call(t, http.MethodPost, idp.RegistrationEndpoint(), bearer("iat-123"), md)
	created.expect(t, http.StatusCreated, "")
	uri := created.str("registration_client_uri")
	call(t, http.MethodGet, uri, "", nil).expect(t, http.StatusUnauthorized, "invalid_token")
	call(t, http.MethodGet, uri, bearer("iat-123"), nil).expect(t, http.StatusUnauthorized, "invalid_token")
	call(t, http.MethodGet, idp.RegistrationEndpoint()+"/unknown", bearer(created.str("registration_access_token")), nil).
		expect(t, http.StatusUnauthorized, "invalid_token")

	open := mockidp.NewTestServer(t, mockidp.Options{})
	call(t, http.MethodPost, open.RegistrationEndpoint(), "", md).expect(t, http.StatusCreated, "")
}

func TestGenericRegistrationValidation(t *testing.T) {
	idp := mockidp.NewTestServer(t, mockidp.Options{})
	cases := []struct {
		name     string
		metadata map[string]any
		code     string
	}{
		{"default response type code needs redirect_uris", map[string]any{"grant_types": []string{"client_credentials"}}, "invalid_redirect_uri"},
		{"authorization_code needs redirect_uris", map[string]any{"response_types": []string{}}, "invalid_redirect_uri"},
		{"relative redirect URI", map[string]any{"redirect_uris": []string{"/cb"}}, "invalid_redirect_uri"},
		{"redirect URI with fragment", map[string]any{"redirect_uris": []string{"https://a.example/cb#x"}}, "invalid_redirect_uri"},
		{"jwks and jwks_uri", map[string]any{
			"grant_types": []string{"client_credentials"}, "response_types": []string{},
			"jwks": map[string]any{"keys": []any{}}, "jwks_uri": "https://a.example/jwks",
		}, "invalid_client_metadata"},
		{"unknown auth method", map[string]any{
			"grant_types": []string{"client_credentials"}, "response_types": []string{}, "token_endpoint_auth_method": "magic",
		}, "invalid_client_metadata"},
		{"grant_types not an array", map[string]any{"grant_types": "client_credentials", "response_types": []string{}}, "invalid_client_metadata"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, http.MethodPost, idp.RegistrationEndpoint(), "", tc.metadata)
			r.expect(t, http.StatusBadRequest, tc.code)
			if r.str("error_description") == "" {
				t.Fatalf("no error_description: %s", r.raw)
			}
		})
	}
	if n := len(idp.Clients()); n != 0 {
		t.Fatalf("%d clients registered by rejected requests", n)
	}

	// A public client gets no secret; client_credentials-only with response_types [] needs no redirect URI.
	pub := call(t, http.MethodPost, idp.RegistrationEndpoint(), "", map[string]any{
		"redirect_uris": []string{"https://a.example/cb"}, "token_endpoint_auth_method": "none",
	})
	pub.expect(t, http.StatusCreated, "")
	if _, has := pub.body["client_secret"]; has {
		t.Fatalf("public client got a secret: %s", pub.raw)
	}
	call(t, http.MethodPost, idp.RegistrationEndpoint(), "", ccClient("svc", "a")).expect(t, http.StatusCreated, "")
}

func TestGenericUpdateRules(t *testing.T) {
	idp := mockidp.NewTestServer(t, mockidp.Options{})
	created := call(t, http.MethodPost, idp.RegistrationEndpoint(), "", ccClient("svc", "a"))
	created.expect(t, http.StatusCreated, "")
	id, uri, rat := created.str("client_id"), created.str("registration_client_uri"), created.str("registration_access_token")

	with := func(k string, v any) map[string]any {
		md := ccClient("svc", "a")
		md["client_id"] = id
		md[k] = v
		return md
	}
	cases := []struct {
		name string
		body map[string]any
	}{
		{"no client_id", ccClient("svc", "a")},
		{"other client_id", with("client_id", "someone-else")},
		{"registration_access_token", with("registration_access_token", rat)},
		{"registration_client_uri", with("registration_client_uri", uri)},
		{"client_secret_expires_at", with("client_secret_expires_at", 0)},
		{"client_id_issued_at", with("client_id_issued_at", 1)},
		{"wrong client_secret", with("client_secret", "guess")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			call(t, http.MethodPut, uri, bearer(rat), tc.body).expect(t, http.StatusBadRequest, "invalid_client_metadata")
		})
	}
	call(t, http.MethodPut, uri, bearer("wrong"), with("client_name", "x")).expect(t, http.StatusUnauthorized, "invalid_token")
	call(t, http.MethodPut, uri, bearer(rat), with("client_name", "x")).expect(t, http.StatusOK, "")
}

func TestOutOfBandChanges(t *testing.T) {
	idp := mockidp.NewTestServer(t, mockidp.Options{})
	created := call(t, http.MethodPost, idp.RegistrationEndpoint(), "", ccClient("svc", "a"))
	id, uri, rat := created.str("client_id"), created.str("registration_client_uri"), created.str("registration_access_token")

	idp.UpdateClientMetadata(id, map[string]any{"client_name": "drifted", "scope": nil})
	read := call(t, http.MethodGet, uri, bearer(rat), nil)
	read.expect(t, http.StatusOK, "")
	if read.str("client_name") != "drifted" {
		t.Fatalf("drift not visible: %s", read.raw)
	}
	if _, has := read.body["scope"]; has {
		t.Fatalf("nil patch value did not remove scope: %s", read.raw)
	}

	if !idp.DeleteClient(id) || idp.DeleteClient(id) {
		t.Fatal("DeleteClient should report true once, then false")
	}
	call(t, http.MethodGet, uri, bearer(rat), nil).expect(t, http.StatusUnauthorized, "invalid_token")
}

func TestRequestsAreRecorded(t *testing.T) {
	idp := mockidp.NewTestServer(t, mockidp.Options{})
	created := call(t, http.MethodPost, idp.RegistrationEndpoint(), "", ccClient("svc", "a"))
	call(t, http.MethodGet, created.str("registration_client_uri"), bearer(created.str("registration_access_token")), nil)

	reqs := idp.Requests()
	if len(reqs) != 2 {
		t.Fatalf("recorded %d requests, want 2", len(reqs))
	}
	if reqs[0].Method != http.MethodPost || reqs[0].Path != "/register" || reqs[0].Status != http.StatusCreated ||
		!strings.Contains(string(reqs[0].Body), `"client_name":"svc"`) {
		t.Fatalf("first request recorded as %+v", reqs[0])
	}
	if reqs[1].Method != http.MethodGet || reqs[1].Status != http.StatusOK ||
		reqs[1].Header.Get("Authorization") != bearer(created.str("registration_access_token")) {
		t.Fatalf("second request recorded as %+v", reqs[1])
	}
	// Copies: changing them does not change the log.
	reqs[0].Body[0] = 'X'
	if idp.Requests()[0].Body[0] == 'X' {
		t.Fatal("Requests returned the server's own buffer")
	}
	idp.ResetRequests()
	if n := len(idp.Requests()); n != 0 {
		t.Fatalf("%d requests after ResetRequests", n)
	}
}

func TestOversizedBodyIsRefused(t *testing.T) {
	idp := mockidp.NewTestServer(t, mockidp.Options{})
	big := map[string]any{"client_name": strings.Repeat("x", 1<<20+1)}
	call(t, http.MethodPost, idp.RegistrationEndpoint(), "", big).expect(t, http.StatusRequestEntityTooLarge, "invalid_request")
	if n := len(idp.Clients()); n != 0 {
		t.Fatalf("%d clients registered from an oversized body", n)
	}
}
