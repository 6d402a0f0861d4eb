package provider

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/idpgate/terraform-provider-idpgate/internal/mockidp"
)

// TestAccOpenIDConfiguration_discovery reads the mock IdP's discovery document, once through
// the provider's issuer and once through an issuer given to the data source alone (no IdP
// configured in the provider).
func TestAccOpenIDConfiguration_discovery(t *testing.T) {
	t.Parallel()
	idp := newAccIdP(t, mockidp.FlavorKeycloak)
	const addr = "data.idpgate_openid_configuration.idp"
	checks := []statecheck.StateCheck{
		statecheck.ExpectKnownValue(addr, tfjsonpath.New("issuer"), knownvalue.StringExact(idp.URL())),
		statecheck.ExpectKnownValue(addr, tfjsonpath.New("token_endpoint"), knownvalue.StringExact(idp.TokenEndpoint())),
		statecheck.ExpectKnownValue(addr, tfjsonpath.New("jwks_uri"), knownvalue.StringExact(idp.JWKSURI())),
		statecheck.ExpectKnownValue(addr, tfjsonpath.New("registration_endpoint"), knownvalue.StringExact(idp.RegistrationEndpoint())),
		statecheck.ExpectKnownValue(addr, tfjsonpath.New("introspection_endpoint"), knownvalue.StringExact(idp.IntrospectionEndpoint())),
		statecheck.ExpectKnownValue(addr, tfjsonpath.New("grant_types_supported"), knownvalue.ListPartial(map[int]knownvalue.Check{})),
		statecheck.ExpectKnownValue(addr, tfjsonpath.New("document_url"),
			knownvalue.StringExact(idp.URL()+"/.well-known/openid-configuration")),
	}
	accTest(t, resource.TestCase{
		Steps: []resource.TestStep{
			{
				Config:            idpProviderBlock(idp, "") + `data "idpgate_openid_configuration" "idp" {}`,
				ConfigStateChecks: checks,
			},
			{
				Config: fmt.Sprintf(`provider "idpgate" {}
data "idpgate_openid_configuration" "idp" {
  issuer = %q
}
output "jwks" { value = jsondecode(data.idpgate_openid_configuration.idp.document).jwks_uri }
`, idp.URL()),
				ConfigStateChecks: append(checks,
					statecheck.ExpectKnownOutputValue("jwks", knownvalue.StringExact(idp.JWKSURI()))),
			},
		},
	})
}

// TestAccOpenIDConfiguration_errors: a document naming another issuer is refused, and a
// missing issuer says where to set one.
func TestAccOpenIDConfiguration_errors(t *testing.T) {
	t.Parallel()
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"issuer":"https://evil.example.com","token_endpoint":"https://evil.example.com/token"}`))
	}))
	defer foreign.Close()
	accTest(t, resource.TestCase{
		Steps: []resource.TestStep{
			{
				Config:      fmt.Sprintf(`data "idpgate_openid_configuration" "idp" { issuer = %q }`, foreign.URL),
				ExpectError: regexp.MustCompile(`(?s)Discovery failed.*names\s+issuer\s+"https://evil.example.com"`),
			},
			{
				Config:      `data "idpgate_openid_configuration" "idp" {}`,
				ExpectError: regexp.MustCompile(`(?s)Missing issuer.*IDPGATE_ISSUER`),
			},
		},
	})
}
