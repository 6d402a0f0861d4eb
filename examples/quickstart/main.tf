# idpgate quickstart: one apply registers an application at the identity provider, protects
# an API on the idpgate gateway with the IdP's tokens, and grants the application access.
#
# Needs an identity provider that offers Dynamic Client Registration and a running gateway
# (`idpgate serve`, or `idpgate dev` for a local trial with a mock IdP), then:
#   export IDPGATE_ISSUER=...  IDPGATE_GATEWAY_URL=...  IDPGATE_GATEWAY_ADMIN_TOKEN=...
#   terraform init && terraform apply
#   TOKEN=$(curl -s -u "$(terraform output -raw client_id):$(terraform output -raw client_secret)" \
#     -d grant_type=client_credentials "$(terraform output -raw token_endpoint)" | jq -r .access_token)
#   curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8080/orders/items

terraform {
  required_providers {
    idpgate = {
      source = "idpgate/idpgate"
    }
  }
}

# Settings come from IDPGATE_ISSUER, IDPGATE_GATEWAY_URL and IDPGATE_GATEWAY_ADMIN_TOKEN.
provider "idpgate" {}

variable "orders_upstream" {
  description = "Where the orders service listens."
  type        = string
  default     = "http://127.0.0.1:9000"
}

data "idpgate_openid_configuration" "idp" {}

# 1. Register the application (RFC 7591 Dynamic Client Registration).
resource "idpgate_dcr_client" "app" {
  client_name                = "orders-app"
  grant_types                = ["client_credentials"]
  token_endpoint_auth_method = "client_secret_basic"
  scope                      = "orders"
}

# 2. Protect the API: the gateway checks the IdP's JWT access tokens with its JWKS.
resource "idpgate_protected_api" "orders" {
  name              = "orders"
  listen_path       = "/orders/"
  upstream_url      = var.orders_upstream
  strip_listen_path = true

  jwt = {
    issuer          = data.idpgate_openid_configuration.idp.issuer
    jwks_uri        = data.idpgate_openid_configuration.idp.jwks_uri
    required_scopes = ["orders"]
  }
}

# 3. Grant the application read access, at most 100 requests a minute.
resource "idpgate_access_policy" "app" {
  name       = "orders-app"
  client_ids = [idpgate_dcr_client.app.client_id]

  access_rights = [
    {
      api_id  = idpgate_protected_api.orders.id
      methods = ["GET", "HEAD"]
    },
  ]

  rate_limit = {
    requests = 100
    per      = "60s"
  }
}

output "client_id" {
  value = idpgate_dcr_client.app.client_id
}

output "client_secret" {
  value     = idpgate_dcr_client.app.client_secret
  sensitive = true
}

output "token_endpoint" {
  value = data.idpgate_openid_configuration.idp.token_endpoint
}
