package mockidp_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/idpgate/terraform-provider-idpgate/internal/mockidp"
)

// The okta and keycloak flavours advertise what their IdPs document (flavor_okta.go,
// flavor_keycloak.go cite where from). A client that trusts discovery must see the same
// choices here as at the real IdP: in particular, Okta's org authorization server does not
// list client_credentials, and Keycloak advertises registration and introspection.
func TestDiscoveryMatchesTheFlavoursIdP(t *testing.T) {
	for _, tc := range []struct {
		flavor                          mockidp.Flavor
		grants, authMethods, challenges []string
		certificateBound                bool
	}{
		{
			flavor: mockidp.FlavorOkta,
			grants: []string{"authorization_code", "implicit", "refresh_token", "password",
				"urn:ietf:params:oauth:grant-type:device_code"},
			authMethods: []string{"client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt", "none"},
			challenges:  []string{"S256"},
		},
		{
			flavor:      mockidp.FlavorHydra,
			grants:      []string{"authorization_code", "implicit", "client_credentials", "refresh_token"},
			authMethods: []string{"client_secret_post", "client_secret_basic", "private_key_jwt", "none"},
			challenges:  []string{"plain", "S256"},
		},
		{
			flavor:           mockidp.FlavorKeycloak,
			grants:           []string{"authorization_code", "implicit", "refresh_token", "password", "client_credentials"},
			authMethods:      []string{"private_key_jwt", "client_secret_basic", "client_secret_post", "tls_client_auth", "client_secret_jwt"},
			challenges:       []string{"plain", "S256"},
			certificateBound: true,
		},
	} {
		t.Run(string(tc.flavor), func(t *testing.T) {
			idp := mockidp.NewTestServer(t, mockidp.Options{Flavor: tc.flavor})
			for _, path := range []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"} {
				if tc.flavor == mockidp.FlavorHydra && path != "/.well-known/openid-configuration" {
					continue // Hydra serves OpenID Connect discovery only
				}
				doc := call(t, http.MethodGet, idp.URL()+path, "", nil)
				doc.expect(t, http.StatusOK, "")
				for field, want := range map[string][]string{
					"grant_types_supported":                 tc.grants,
					"token_endpoint_auth_methods_supported": tc.authMethods,
					"code_challenge_methods_supported":      tc.challenges,
				} {
					if got := doc.strings(field); !slices.Equal(got, want) {
						t.Errorf("%s %s = %v, want %v", path, field, got, want)
					}
				}
				for field, want := range map[string]string{
					"registration_endpoint":  idp.RegistrationEndpoint(),
					"introspection_endpoint": idp.IntrospectionEndpoint(),
					"token_endpoint":         idp.TokenEndpoint(),
					"jwks_uri":               idp.JWKSURI(),
				} {
					if tc.flavor == mockidp.FlavorHydra && (field == "registration_endpoint" || field == "introspection_endpoint") {
						continue // Hydra does not advertise them (flavor_hydra.go)
					}
					if got := doc.str(field); got != want {
						t.Errorf("%s %s = %q, want %q", path, field, got, want)
					}
				}
				if got, _ := doc.body["tls_client_certificate_bound_access_tokens"].(bool); got != tc.certificateBound {
					t.Errorf("%s tls_client_certificate_bound_access_tokens = %v, want %v", path, got, tc.certificateBound)
				}
			}
		})
	}
}
