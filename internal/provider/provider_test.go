package provider

import (
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

// testAccProtoV6ProviderFactories runs the provider in-process for the terraform binary that
// acceptance tests drive.
var testAccProtoV6ProviderFactories = map[string]func() (tfprotov6.ProviderServer, error){
	"idpgate": providerserver.NewProtocol6WithError(New("test", "none")()),
}

func TestAccProvider_invalidSettings(t *testing.T) {
	cases := map[string]struct {
		config string
		want   string
	}{
		"unknown driver": {
			config: `provider "idpgate" {
  issuer     = "https://idp.example.com"
  idp_driver = "auth0"
}
data "idpgate_openid_configuration" "x" {}`,
			want: `(?s)value must be one of.*generic.*okta.*keycloak.*hydra`,
		},
		"malformed issuer": {
			config: `provider "idpgate" {
  issuer = "idp.example.com"
}
data "idpgate_openid_configuration" "x" {}`,
			want: `(?s)Invalid issuer.*must\s+be\s+an\s+absolute\s+http\s+or\s+https\s+URL`,
		},
		"no requests a second": {
			config: `provider "idpgate" {
  issuer                  = "https://idp.example.com"
  max_requests_per_second = 0
}
data "idpgate_openid_configuration" "x" {}`,
			want: `(?s)max_requests_per_second.*value must be between 0.01`,
		},
		"no concurrent request": {
			config: `provider "idpgate" {
  issuer                  = "https://idp.example.com"
  max_concurrent_requests = 0
}
data "idpgate_openid_configuration" "x" {}`,
			want: `(?s)max_concurrent_requests.*value must be between 1 and 1000`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			accTest(t, resource.TestCase{
				Steps: []resource.TestStep{{Config: tc.config, ExpectError: regexp.MustCompile(tc.want)}},
			})
		})
	}
}

// TestAccProvider_invalidEnvironment: settings from IDPGATE_* are checked as strictly as the
// block's, and the diagnostic names both the attribute and the variable.
func TestAccProvider_invalidEnvironment(t *testing.T) {
	cases := map[string]struct {
		env  map[string]string
		want string
	}{
		"unknown driver": {
			env:  map[string]string{"IDPGATE_ISSUER": "https://idp.example.com", "IDPGATE_IDP_DRIVER": "auth0"},
			want: `(?s)idp_driver \(or IDPGATE_IDP_DRIVER\).*"auth0".*generic, okta, keycloak, hydra`,
		},
		"malformed issuer": {
			env:  map[string]string{"IDPGATE_ISSUER": "idp.example.com"},
			want: `(?s)Invalid issuer.*issuer \(or IDPGATE_ISSUER\) "idp.example.com" must\s+be\s+an\s+absolute\s+http\s+or\s+https\s+URL: the\s+scheme\s+is\s+missing`,
		},
		"requests a second not a number": {
			env:  map[string]string{"IDPGATE_ISSUER": "https://idp.example.com", "IDPGATE_MAX_REQUESTS_PER_SECOND": "fast"},
			want: `(?s)max_requests_per_second \(or\s+IDPGATE_MAX_REQUESTS_PER_SECOND\).*between.*one a minute.*"fast"`,
		},
		"requests a second NaN": {
			env:  map[string]string{"IDPGATE_ISSUER": "https://idp.example.com", "IDPGATE_MAX_REQUESTS_PER_SECOND": "NaN"},
			want: `(?s)max_requests_per_second \(or\s+IDPGATE_MAX_REQUESTS_PER_SECOND\).*"NaN"`,
		},
		"concurrent requests negative": {
			env:  map[string]string{"IDPGATE_ISSUER": "https://idp.example.com", "IDPGATE_MAX_CONCURRENT_REQUESTS": "-3"},
			want: `(?s)max_concurrent_requests \(or\s+IDPGATE_MAX_CONCURRENT_REQUESTS\).*between 1 and 1000.*"-3"`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			accTest(t, resource.TestCase{
				Steps: []resource.TestStep{{
					Config:      `data "idpgate_openid_configuration" "x" {}`,
					ExpectError: regexp.MustCompile(tc.want),
				}},
			})
		})
	}
}
