package provider

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/idpgate/terraform-provider-idpgate/internal/mockidp"
)

// TestAccRequestCap_200ClientsUnderTheIdPsLimit: an IdP that answers 429 beyond 10 requests
// in any 200 ms (50 a second, counted over a short window as the strictest IdPs do), and an
// apply of 200 clients with max_requests_per_second = 25. Terraform works on 10 clients at
// once and sends them in bursts beyond that limit without the cap (take the cap out of the
// config to see the 429s); with it, the IdP refuses nothing, and exactly 200 clients are
// registered, then deleted.
func TestAccRequestCap_200ClientsUnderTheIdPsLimit(t *testing.T) {
	const (
		clients      = 200
		idpLimit     = 10
		idpWindow    = 200 * time.Millisecond
		capPerSecond = 25
	)
	idp := newAccIdP(t, mockidp.FlavorGeneric)
	idp.SetRateLimit(idpLimit, idpWindow)

	noneRefused := func() error {
		if n := idp.RateLimited(); n != 0 {
			return fmt.Errorf("the IdP answered 429 to %d requests", n)
		}
		return nil
	}
	config := idpProviderBlock(idp, fmt.Sprintf("max_requests_per_second = %d", capPerSecond)) + fmt.Sprintf(`
resource "idpgate_dcr_client" "app" {
  count                      = %d
  client_name                = "capped-${count.index}"
  grant_types                = ["client_credentials"]
  token_endpoint_auth_method = "client_secret_basic"
}
`, clients)

	accTest(t, resource.TestCase{
		CheckDestroy: func(s *terraform.State) error {
			if err := noneRefused(); err != nil {
				return err
			}
			return checkClientsGoneAt(idp)(s)
		},
		Steps: []resource.TestStep{{
			Config: config,
			Check: func(*terraform.State) error {
				if err := noneRefused(); err != nil {
					return err
				}
				if n := len(idp.Clients()); n != clients {
					return fmt.Errorf("%d clients registered at the IdP, want %d", n, clients)
				}
				if n := len(idp.RequestsTo(http.MethodPost, idp.RegistrationEndpoint())); n != clients {
					return fmt.Errorf("%d registration requests, want %d (one per client)", n, clients)
				}
				return nil
			},
		}},
	})
}
