package mockidp_test

import (
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/mockidp"
)

func TestKeycloakRegistration(t *testing.T) {
	idp := mockidp.NewTestServer(t, mockidp.Options{Flavor: mockidp.FlavorKeycloak, InitialAccessToken: "kc-iat"})
	if got, want := idp.RegistrationEndpoint(), idp.URL()+"/clients-registrations/openid-connect"; got != want {
		t.Fatalf("RegistrationEndpoint = %q, want %q", got, want)
	}
	md := ccClient("svc", "read")
	call(t, http.MethodPost, idp.RegistrationEndpoint(), "", md).expect(t, http.StatusUnauthorized, "invalid_token")
	withID := ccClient("svc", "read")
	withID["client_id"] = "chosen"
	call(t, http.MethodPost, idp.RegistrationEndpoint(), bearer("kc-iat"), withID).expect(t, http.StatusBadRequest, "invalid_client_metadata")

	created := call(t, http.MethodPost, idp.RegistrationEndpoint(), bearer("kc-iat"), md)
	created.expect(t, http.StatusCreated, "")
	id, uri, rat0 := created.str("client_id"), created.str("registration_client_uri"), created.str("registration_access_token")
	if uri != idp.RegistrationEndpoint()+"/"+id || rat0 == "" {
		t.Fatalf("create answer: %s", created.raw)
	}
	if created.str("subject_type") != "public" || created.body["tls_client_certificate_bound_access_tokens"] != false {
		t.Fatalf("keycloak server-added fields missing: %s", created.raw)
	}

	// A read answers a re-signed token; the presented one keeps working.
	read := call(t, http.MethodGet, uri, bearer(rat0), nil)
	read.expect(t, http.StatusOK, "")
	rat1 := read.str("registration_access_token")
	if rat1 == "" || rat1 == rat0 || read.str("client_secret") == "" {
		t.Fatalf("read answer: %s", read.raw)
	}
	call(t, http.MethodGet, uri, bearer(rat0), nil).expect(t, http.StatusOK, "")

	// An update rotates: the answer's token works, every older one is dead.
	put := ccClient("renamed", "read")
	put["client_id"] = id
	updated := call(t, http.MethodPut, uri, bearer(rat1), put)
	updated.expect(t, http.StatusOK, "")
	rat2 := updated.str("registration_access_token")
	if rat2 == "" || rat2 == rat1 || rat2 == rat0 || updated.str("client_name") != "renamed" {
		t.Fatalf("update answer: %s", updated.raw)
	}
	call(t, http.MethodGet, uri, bearer(rat1), nil).expect(t, http.StatusUnauthorized, "invalid_token")
	call(t, http.MethodGet, uri, bearer(rat0), nil).expect(t, http.StatusUnauthorized, "invalid_token")
	if rec, _ := idp.Client(id); rec.RegistrationAccessToken != rat2 {
		t.Fatalf("ClientRecord token = %q, want the rotated one", rec.RegistrationAccessToken)
	}

	call(t, http.MethodDelete, uri, bearer(rat2), nil).expect(t, http.StatusNoContent, "")
	call(t, http.MethodGet, uri, bearer(rat2), nil).expect(t, http.StatusUnauthorized, "invalid_token")
}

func TestHydraRegistration(t *testing.T) {
	idp := mockidp.NewTestServer(t, mockidp.Options{Flavor: mockidp.FlavorHydra, InitialAccessToken: "ignored"})
	if got, want := idp.RegistrationEndpoint(), idp.URL()+"/oauth2/register"; got != want {
		t.Fatalf("RegistrationEndpoint = %q, want %q", got, want)
	}
	withSecret := ccClient("svc", "read")
	withSecret["client_secret"] = "chosen"
	call(t, http.MethodPost, idp.RegistrationEndpoint(), "", withSecret).expect(t, http.StatusBadRequest, "invalid_request")

	// Open registration: no token needed.
	created := call(t, http.MethodPost, idp.RegistrationEndpoint(), "", ccClient("svc", "read"))
	created.expect(t, http.StatusCreated, "")
	id, uri, rat0, secret := created.str("client_id"), created.str("registration_client_uri"),
		created.str("registration_access_token"), created.str("client_secret")
	if secret == "" || rat0 == "" || created.str("created_at") == "" {
		t.Fatalf("create answer: %s", created.raw)
	}

	read := call(t, http.MethodGet, uri, bearer(rat0), nil)
	read.expect(t, http.StatusOK, "")
	for _, absent := range []string{"client_secret", "registration_access_token"} {
		if _, has := read.body[absent]; has {
			t.Fatalf("GET answered %s: %s", absent, read.raw)
		}
	}

	// A PUT may not carry client_secret, even the right one.
	bad := ccClient("svc", "read")
	bad["client_id"] = id
	bad["client_secret"] = secret
	call(t, http.MethodPut, uri, bearer(rat0), bad).expect(t, http.StatusForbidden, "request_forbidden")

	// client_id is taken from the URL; the token rotates; the secret is not answered but kept.
	updated := call(t, http.MethodPut, uri, bearer(rat0), ccClient("renamed", "read"))
	updated.expect(t, http.StatusOK, "")
	rat1 := updated.str("registration_access_token")
	if rat1 == "" || rat1 == rat0 || updated.str("client_id") != id {
		t.Fatalf("update answer: %s", updated.raw)
	}
	if _, has := updated.body["client_secret"]; has {
		t.Fatalf("PUT answered client_secret: %s", updated.raw)
	}
	call(t, http.MethodGet, uri, bearer(rat0), nil).expect(t, http.StatusUnauthorized, "invalid_token")
	if rec, _ := idp.Client(id); rec.ClientSecret != secret {
		t.Fatal("PUT without client_secret changed the secret")
	}
	call(t, http.MethodDelete, uri, bearer(rat1), nil).expect(t, http.StatusNoContent, "")
	call(t, http.MethodGet, uri, bearer(rat1), nil).expect(t, http.StatusUnauthorized, "")
}

func TestOktaRegistration(t *testing.T) {
	idp := mockidp.NewTestServer(t, mockidp.Options{Flavor: mockidp.FlavorOkta, InitialAccessToken: "okta-api"})
	if got, want := idp.RegistrationEndpoint(), idp.URL()+"/oauth2/v1/clients"; got != want {
		t.Fatalf("RegistrationEndpoint = %q, want %q", got, want)
	}
	api := "SSWS okta-api"
	service := ccClient("svc", "read")
	service["application_type"] = "service"

	for _, auth := range []string{"", "SSWS wrong", bearer("okta-api")} {
		r := call(t, http.MethodPost, idp.RegistrationEndpoint(), auth, service)
		r.expect(t, http.StatusUnauthorized, "")
		if r.body["errorCode"] != "E0000011" {
			t.Fatalf("auth %q: want Okta error E0000011, got %s", auth, r.raw)
		}
	}
	// client_credentials-only must be a service app; the default application_type is web.
	call(t, http.MethodPost, idp.RegistrationEndpoint(), api, ccClient("svc", "read")).
		expect(t, http.StatusBadRequest, "invalid_client_metadata")
	noName := ccClient("", "read")
	noName["application_type"] = "service"
	call(t, http.MethodPost, idp.RegistrationEndpoint(), api, noName).expect(t, http.StatusBadRequest, "invalid_client_metadata")

	created := call(t, http.MethodPost, idp.RegistrationEndpoint(), api, service)
	created.expect(t, http.StatusCreated, "")
	id, secret := created.str("client_id"), created.str("client_secret")
	if id == "" || secret == "" {
		t.Fatalf("create answer: %s", created.raw)
	}
	for _, absent := range []string{"registration_access_token", "registration_client_uri"} {
		if _, has := created.body[absent]; has {
			t.Fatalf("okta answered %s: %s", absent, created.raw)
		}
	}
	for _, h := range []string{"X-Rate-Limit-Limit", "X-Rate-Limit-Remaining", "X-Rate-Limit-Reset"} {
		if _, err := strconv.ParseInt(created.header.Get(h), 10, 64); err != nil {
			t.Fatalf("%s = %q", h, created.header.Get(h))
		}
	}
	web := call(t, http.MethodPost, idp.RegistrationEndpoint(), api, map[string]any{
		"client_name": "web", "redirect_uris": []string{"https://a.example/cb"},
	})
	web.expect(t, http.StatusCreated, "")
	if web.str("application_type") != "web" {
		t.Fatalf("default application_type: %s", web.raw)
	}

	uri := idp.RegistrationEndpoint() + "/" + id
	call(t, http.MethodGet, uri, "", nil).expect(t, http.StatusUnauthorized, "")
	read := call(t, http.MethodGet, uri, api, nil)
	read.expect(t, http.StatusOK, "")
	if read.str("client_secret") != secret || read.str("application_type") != "service" {
		t.Fatalf("read answer: %s", read.raw)
	}
	call(t, http.MethodGet, idp.RegistrationEndpoint()+"/0oaunknown", api, nil).expect(t, http.StatusUnauthorized, "invalid_client")

	put := ccClient("renamed", "read write")
	put["application_type"] = "service"
	updated := call(t, http.MethodPut, uri, api, put)
	updated.expect(t, http.StatusOK, "")
	if updated.str("client_name") != "renamed" || updated.str("client_secret") != secret {
		t.Fatalf("update answer: %s", updated.raw)
	}
	call(t, http.MethodDelete, uri, api, nil).expect(t, http.StatusNoContent, "")
	call(t, http.MethodGet, uri, api, nil).expect(t, http.StatusUnauthorized, "invalid_client")
}

func TestOktaRateLimitFault(t *testing.T) {
	idp := mockidp.NewTestServer(t, mockidp.Options{Flavor: mockidp.FlavorOkta})
	idp.SetFaults(mockidp.Faults{PathPrefix: "/oauth2/v1/clients", Next: 1, Status: http.StatusTooManyRequests, RetryAfter: 2 * time.Second})
	service := ccClient("svc", "")
	service["application_type"] = "service"

	before := time.Now().Unix()
	limited := call(t, http.MethodPost, idp.RegistrationEndpoint(), "SSWS any", service)
	limited.expect(t, http.StatusTooManyRequests, "")
	if limited.header.Get("Retry-After") != "2" || limited.header.Get("X-Rate-Limit-Remaining") != "0" ||
		limited.body["errorCode"] != "E0000047" {
		t.Fatalf("429 answer: %v %s", limited.header, limited.raw)
	}
	reset, err := strconv.ParseInt(limited.header.Get("X-Rate-Limit-Reset"), 10, 64)
	if err != nil || reset < before+2 || reset > time.Now().Unix()+2 {
		t.Fatalf("X-Rate-Limit-Reset = %q, want about now+2s", limited.header.Get("X-Rate-Limit-Reset"))
	}
	call(t, http.MethodPost, idp.RegistrationEndpoint(), "SSWS any", service).expect(t, http.StatusCreated, "")
}

func TestServerDefaultsPerFlavor(t *testing.T) {
	kc := mockidp.NewTestServer(t, mockidp.Options{Flavor: mockidp.FlavorKeycloak})
	r := call(t, http.MethodPost, kc.RegistrationEndpoint(), "", map[string]any{"client_name": "x"})
	r.expect(t, http.StatusCreated, "")
	if !slices.Equal(r.strings("grant_types"), []string{"authorization_code", "refresh_token"}) ||
		!slices.Equal(r.strings("response_types"), []string{"code", "none"}) {
		t.Fatalf("keycloak defaults: %s", r.raw)
	}
}

// TestHydraDiscovery: like a default Ory Hydra v2.3.0, the hydra flavour advertises neither
// its registration nor its introspection endpoint, and serves no RFC 8414 document, so the
// provider cannot pass against the mock where it would fail against Hydra.
func TestHydraDiscovery(t *testing.T) {
	idp := mockidp.NewTestServer(t, mockidp.Options{Flavor: mockidp.FlavorHydra})
	doc := call(t, http.MethodGet, idp.URL()+"/.well-known/openid-configuration", "", nil)
	doc.expect(t, http.StatusOK, "")
	for _, absent := range []string{"registration_endpoint", "introspection_endpoint"} {
		if _, has := doc.body[absent]; has {
			t.Errorf("discovery advertises %s: %s", absent, doc.raw)
		}
	}
	if doc.str("token_endpoint") != idp.TokenEndpoint() || doc.str("jwks_uri") != idp.JWKSURI() {
		t.Errorf("discovery: %s", doc.raw)
	}
	call(t, http.MethodGet, idp.URL()+"/.well-known/oauth-authorization-server", "", nil).expect(t, http.StatusNotFound, "")

	// The other flavours keep advertising both.
	generic := mockidp.NewTestServer(t, mockidp.Options{})
	gdoc := call(t, http.MethodGet, generic.URL()+"/.well-known/openid-configuration", "", nil)
	if gdoc.str("registration_endpoint") != generic.RegistrationEndpoint() || gdoc.str("introspection_endpoint") == "" {
		t.Errorf("generic discovery: %s", gdoc.raw)
	}
}
