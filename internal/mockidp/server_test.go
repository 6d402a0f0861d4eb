package mockidp_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/idpgate/terraform-provider-idpgate/internal/mockidp"
)

func TestParseFlavor(t *testing.T) {
	for _, f := range mockidp.Flavors() {
		if got, err := mockidp.ParseFlavor(string(f)); err != nil || got != f {
			t.Errorf("ParseFlavor(%q) = %q, %v", f, got, err)
		}
	}
	if got, err := mockidp.ParseFlavor(""); err != nil || got != mockidp.FlavorGeneric {
		t.Errorf(`ParseFlavor("") = %q, %v; want generic`, got, err)
	}
	if _, err := mockidp.ParseFlavor("auth0"); err == nil {
		t.Error(`ParseFlavor("auth0") accepted an unknown flavour`)
	}
	defer func() {
		if recover() == nil {
			t.Error("New accepted an unknown flavour")
		}
	}()
	mockidp.New(mockidp.Options{Flavor: "auth0"})
}

// Without SetIssuer (e.g. `idpgate mock-idp` behind an unknown address) the issuer comes
// from the request's Host.
func TestIssuerFromHost(t *testing.T) {
	idp := mockidp.New(mockidp.Options{})
	ts := httptest.NewServer(idp)
	defer ts.Close()
	doc := call(t, http.MethodGet, ts.URL+"/.well-known/openid-configuration", "", nil)
	doc.expect(t, http.StatusOK, "")
	if doc.str("issuer") != ts.URL || doc.str("token_endpoint") != ts.URL+"/token" {
		t.Fatalf("discovery without SetIssuer: %s", doc.raw)
	}
}

func TestRequestsTo(t *testing.T) {
	idp := mockidp.NewTestServer(t, mockidp.Options{})
	call(t, http.MethodGet, idp.TokenEndpoint(), "", nil)
	call(t, http.MethodPost, idp.TokenEndpoint(), "", nil)
	call(t, http.MethodPost, idp.JWKSURI(), "", nil)
	got := idp.RequestsTo(http.MethodPost, idp.TokenEndpoint())
	if len(got) != 1 || got[0].Method != http.MethodPost || got[0].Status == 0 {
		t.Fatalf("RequestsTo(POST, token endpoint) = %+v, want the one POST", got)
	}
	if n := len(idp.RequestsTo(http.MethodGet, idp.TokenEndpoint())); n != 1 {
		t.Errorf("RequestsTo(GET, token endpoint) = %d requests, want 1", n)
	}
}
