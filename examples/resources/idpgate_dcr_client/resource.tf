# A machine-to-machine client: client_credentials only, so it is registered with
# response_types = [] and needs no redirect URIs.
resource "idpgate_dcr_client" "app" {
  client_name                = "orders-app"
  grant_types                = ["client_credentials"]
  token_endpoint_auth_method = "client_secret_basic"
  scope                      = "orders orders:write"
  contacts                   = ["platform-team@example.com"]
}

# A web application that signs users in with the authorization code flow.
resource "idpgate_dcr_client" "portal" {
  client_name    = "customer-portal"
  grant_types    = ["authorization_code", "refresh_token"]
  response_types = ["code"]
  redirect_uris  = ["https://portal.example.com/callback"]
  client_uri     = "https://portal.example.com"

  # Vendor fields the RFC does not name, sent along with the standard metadata.
  extra_metadata = jsonencode({
    post_logout_redirect_uris = ["https://portal.example.com/"]
  })
}

# The credentials other systems need, e.g. a secret store.
output "app_client_id" {
  value = idpgate_dcr_client.app.client_id
}

output "app_client_secret" {
  value     = idpgate_dcr_client.app.client_secret
  sensitive = true
}
