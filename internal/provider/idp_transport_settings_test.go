package provider

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/idpgate/terraform-provider-idpgate/internal/mockidp"
	"github.com/idpgate/terraform-provider-idpgate/internal/testcerts"
)

const serviceClientConfig = `
resource "idpgate_dcr_client" "app" {
  client_name = "svc"
  grant_types = ["client_credentials"]
}
`

// TestAccProvider_caBundleTrustsTheIdP: an IdP served over HTTPS with a certificate from a
// private CA is refused until ca_bundle carries that CA, then a client registers.
func TestAccProvider_caBundleTrustsTheIdP(t *testing.T) {
	ca := testcerts.NewCA(t)
	idp := mockidp.New(mockidp.Options{Flavor: mockidp.FlavorGeneric, InitialAccessToken: testInitialAccessToken})
	srv := httptest.NewUnstartedServer(idp)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.Server(t).TLS(t)}, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	t.Cleanup(func() { idp.Close(); srv.Close() })
	idp.SetIssuer(srv.URL)

	accTest(t, resource.TestCase{
		CheckDestroy: checkClientsGoneAt(idp),
		Steps: []resource.TestStep{
			{
				Config:      idpProviderBlock(idp, "") + serviceClientConfig,
				ExpectError: regexp.MustCompile(`(?s)ca_bundle.*certificate signed by unknown authority|certificate signed by unknown authority.*ca_bundle`),
			},
			{
				Config: idpProviderBlock(idp, fmt.Sprintf("ca_bundle = %q", ca.PEM)) + serviceClientConfig,
				Check: func(*terraform.State) error {
					if n := len(idp.Clients()); n != 1 {
						return fmt.Errorf("%d clients registered over HTTPS, want 1", n)
					}
					return nil
				},
			},
		},
	})
}

// TestAccProvider_registrationEndpointOverridesDiscovery: with registration_endpoint set, the
// client is registered (and managed) there, not at the endpoint the issuer's discovery names.
func TestAccProvider_registrationEndpointOverridesDiscovery(t *testing.T) {
	discovered := newAccIdP(t, mockidp.FlavorGeneric)
	override := newAccIdP(t, mockidp.FlavorGeneric)
	accTest(t, resource.TestCase{
		CheckDestroy: checkClientsGoneAt(override),
		Steps: []resource.TestStep{{
			Config: idpProviderBlock(discovered, fmt.Sprintf("registration_endpoint = %q", override.RegistrationEndpoint())) +
				serviceClientConfig,
			Check: func(*terraform.State) error {
				if n := len(override.Clients()); n != 1 {
					return fmt.Errorf("%d clients at registration_endpoint, want 1", n)
				}
				if n := len(discovered.RequestsTo(http.MethodPost, discovered.RegistrationEndpoint())); n != 0 || len(discovered.Clients()) != 0 {
					return fmt.Errorf("the discovered registration endpoint received %d registrations, want 0", n)
				}
				return nil
			},
		}},
	})
}
