package provider

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	helper "github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/idpgate/terraform-provider-idpgate/internal/mockidp"
)

// TestResourceTimeoutsBlock: every resource has a timeouts block with the four operations.
func TestResourceTimeoutsBlock(t *testing.T) {
	for _, r := range []resource.Resource{NewDCRClientResource(), NewProtectedAPIResource(), NewAccessPolicyResource()} {
		var resp resource.SchemaResponse
		r.Schema(context.Background(), resource.SchemaRequest{}, &resp)
		var meta resource.MetadataResponse
		r.Metadata(context.Background(), resource.MetadataRequest{ProviderTypeName: "idpgate"}, &meta)
		block, ok := resp.Schema.Blocks["timeouts"]
		if !ok {
			t.Errorf("%s has no timeouts block", meta.TypeName)
			continue
		}
		for _, op := range []string{"create", "read", "update", "delete"} {
			if _, ok := block.GetNestedObject().GetAttributes()[op]; !ok {
				t.Errorf("%s: timeouts has no %s", meta.TypeName, op)
			}
		}
	}
}

// TestAccDCRClient_createTimeout: a registration the IdP answers too slowly ends at the
// configured create timeout (request_timeout, per attempt, is longer), as an outcome the user
// must check, and the IdP holds no client afterwards (it never finished the request).
func TestAccDCRClient_createTimeout(t *testing.T) {
	t.Parallel()
	idp := newAccIdP(t, mockidp.FlavorGeneric)
	idp.SetFaults(mockidp.Faults{Method: http.MethodPost, PathPrefix: "/register", Delay: time.Minute})
	config := fmt.Sprintf(`
provider "idpgate" {
  issuer               = %q
  initial_access_token = %q
  request_timeout      = "5m"
}
`, idp.URL(), testInitialAccessToken) + `
resource "idpgate_dcr_client" "app" {
  client_name = "slow"
  grant_types = ["client_credentials"]
  timeouts {
    create = "2s"
  }
}
`
	accTest(t, helper.TestCase{
		CheckDestroy: checkClientsGoneAt(idp),
		Steps: []helper.TestStep{{
			Config:      config,
			ExpectError: regexp.MustCompile(`(?s)Client registration outcome unknown.*context deadline exceeded`),
		}},
	})
	if n := len(idp.RequestsTo(http.MethodPost, idp.RegistrationEndpoint())); n != 1 {
		t.Errorf("the registration was sent %d times, want once", n)
	}
}
