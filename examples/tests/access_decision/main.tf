# A policy and the assertions that keep it honest: `terraform test` (or `tofu test`) applies
# this configuration, asks the gateway what it would do with a few requests
# (idpgate_access_decision, counting nothing and calling no upstream), checks the answers
# against what the policy is meant to grant, and destroys everything again. Run it in CI and
# a change that grants too much, or too little, fails the build with the assertion's message.
#
#   export IDPGATE_ISSUER=...  IDPGATE_GATEWAY_URL=...  IDPGATE_GATEWAY_ADMIN_TOKEN=...
#   terraform init && terraform test

terraform {
  required_providers {
    idpgate = {
      source = "idpgate/idpgate"
    }
  }
}

provider "idpgate" {}

data "idpgate_openid_configuration" "idp" {}

resource "idpgate_dcr_client" "billing" {
  client_name = "billing"
  grant_types = ["client_credentials"]
  scope       = "orders:read"
}

resource "idpgate_protected_api" "orders" {
  name              = "orders"
  listen_path       = "/orders"
  upstream_url      = "http://orders.internal:8080"
  strip_listen_path = true

  jwt = {
    issuer   = data.idpgate_openid_configuration.idp.issuer
    jwks_uri = data.idpgate_openid_configuration.idp.jwks_uri
  }
}

# billing may read orders with the orders:read scope, nothing else.
resource "idpgate_access_policy" "billing" {
  name       = "billing-reads-orders"
  client_ids = [idpgate_dcr_client.billing.client_id]

  access_rights = [
    {
      api_id          = idpgate_protected_api.orders.id
      methods         = ["GET", "HEAD"]
      paths           = ["/items/**"]
      required_scopes = ["orders:read"]
    },
  ]
}

output "billing_client_id" {
  value = idpgate_dcr_client.billing.client_id
}

output "orders_api_id" {
  value = idpgate_protected_api.orders.id
}

output "billing_policy_id" {
  value = idpgate_access_policy.billing.id
}
