package main

import (
	"fmt"
	"strings"
)

// idpgateConfig is n idpgate_dcr_client, n idpgate_protected_api and n
// idpgate_access_policy, each policy binding its client to its API: the shape of an
// environment provisioned from CI. Names and paths start with prefix, so that two
// workspaces can hold their resources at the same gateway at once.
func idpgateConfig(prefix string, n int, st *stack, extraProvider string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `terraform {
  required_providers {
    idpgate = { source = "idpgate/idpgate" }
  }
}

provider "idpgate" {
  issuer              = %[2]q
  gateway_url         = %[3]q
  gateway_admin_token = %[4]q
  %[5]s
}

resource "idpgate_dcr_client" "app" {
  count                      = %[6]d
  client_name                = "%[1]s-app-${count.index}"
  grant_types                = ["client_credentials"]
  token_endpoint_auth_method = "client_secret_basic"
  scope                      = "orders"
}

resource "idpgate_protected_api" "api" {
  count        = %[6]d
  name         = "%[1]s-api-${count.index}"
  listen_path  = "/%[1]s-${count.index}/"
  upstream_url = "http://127.0.0.1:9"

  jwt = {
    issuer          = %[2]q
    jwks_uri        = %[7]q
    required_scopes = ["orders"]
  }
}

resource "idpgate_access_policy" "grant" {
  count      = %[6]d
  name       = "%[1]s-grant-${count.index}"
  client_ids = [idpgate_dcr_client.app[count.index].client_id]

  access_rights = [
    {
      api_id  = idpgate_protected_api.api[count.index].id
      methods = ["GET"]
    },
  ]

  rate_limit = {
    requests = 100
    per      = "60s"
  }
}
`, prefix, st.IdP.URL(), st.AdminURL, benchAdminToken, extraProvider, n, st.IdP.JWKSURI())
	return b.String()
}

// noopConfig is the same graph of 3n resources in the do-nothing provider.
func noopConfig(n int) string {
	return fmt.Sprintf(`terraform {
  required_providers {
    noop = { source = "bench/noop" }
  }
}

resource "noop_thing" "app" {
  count = %d
  name  = "bench-app-${count.index}"
}

resource "noop_thing" "api" {
  count = %d
  name  = "bench-api-${count.index}"
}

resource "noop_thing" "grant" {
  count = %d
  name  = "bench-grant-${count.index}"
  refs  = [noop_thing.app[count.index].id, noop_thing.api[count.index].id]
}
`, n, n, n)
}
