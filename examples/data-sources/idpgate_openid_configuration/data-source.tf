# Discover the provider's issuer (or another one with `issuer = "..."`) and protect an API
# with its keys, without copying endpoint URLs around.
data "idpgate_openid_configuration" "idp" {}

resource "idpgate_protected_api" "orders" {
  name         = "orders"
  listen_path  = "/orders/"
  upstream_url = "http://orders.internal:8080"

  jwt = {
    issuer   = data.idpgate_openid_configuration.idp.issuer
    jwks_uri = data.idpgate_openid_configuration.idp.jwks_uri
  }
}

output "token_endpoint" {
  value = data.idpgate_openid_configuration.idp.token_endpoint
}
