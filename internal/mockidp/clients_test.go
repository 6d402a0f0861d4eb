package mockidp_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/idpgate/terraform-provider-idpgate/internal/mockidp"
)

func TestRegisterClientDirectly(t *testing.T) {
	idp := mockidp.NewTestServer(t, mockidp.Options{Flavor: mockidp.FlavorKeycloak, InitialAccessToken: "kc"})
	idp.SetFaults(mockidp.Faults{NotFoundAfterCreate: 5})
	rec, err := idp.RegisterClient(ccClient("seeded", "read"))
	if err != nil {
		t.Fatalf("RegisterClient: %v", err)
	}
	if rec.ClientID == "" || rec.ClientSecret == "" || rec.RegistrationAccessToken == "" || rec.Metadata["subject_type"] != "public" {
		t.Fatalf("record = %+v", rec)
	}
	// It is a real client: it gets tokens and can be read over HTTP at once.
	requestToken(t, idp, rec.ClientID, rec.ClientSecret, "read").expect(t, http.StatusOK, "")
	call(t, http.MethodGet, idp.RegistrationEndpoint()+"/"+rec.ClientID, bearer(rec.RegistrationAccessToken), nil).
		expect(t, http.StatusOK, "")

	_, err = idp.RegisterClient(map[string]any{"client_name": "x", "redirect_uris": []string{"relative"}})
	if err == nil || !strings.Contains(err.Error(), "invalid_redirect_uri") {
		t.Fatalf("RegisterClient with a bad redirect URI: err = %v", err)
	}
}

// TestConcurrentUse exercises the server from many goroutines; run with -race.
func TestConcurrentUse(t *testing.T) {
	idp := mockidp.NewTestServer(t, mockidp.Options{})
	id, secret := registerCC(t, idp, "read")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			var req *http.Request
			if i%2 == 0 {
				form := url.Values{"grant_type": {"client_credentials"}}
				req, _ = http.NewRequest(http.MethodPost, idp.TokenEndpoint(), strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth(id, secret)
			} else {
				req, _ = http.NewRequest(http.MethodPost, idp.RegistrationEndpoint(),
					strings.NewReader(`{"grant_types":["client_credentials"],"response_types":[]}`))
			}
			resp, err := httpClient.Do(req)
			if err != nil {
				t.Errorf("request %d: %v", i, err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
				t.Errorf("request %d: status %d", i, resp.StatusCode)
			}
			_ = idp.Requests()
			_ = idp.Clients()
		})
	}
	wg.Wait()
	if n := len(idp.Clients()); n != 5 {
		t.Fatalf("%d clients, want 5", n)
	}
}

// ServiceClient registers a client_credentials client that gets tokens with its scope at once.
func TestServiceClient(t *testing.T) {
	idp := mockidp.NewTestServer(t, mockidp.Options{})
	rec := idp.ServiceClient(t, "orders:read")
	if rec.Metadata["client_name"] != "svc" || rec.Metadata["scope"] != "orders:read" {
		t.Fatalf("record = %+v", rec)
	}
	got := requestToken(t, idp, rec.ClientID, rec.ClientSecret, "orders:read")
	got.expect(t, http.StatusOK, "")
	if got.str("scope") != "orders:read" {
		t.Errorf("token answer: %s", got.raw)
	}
}
