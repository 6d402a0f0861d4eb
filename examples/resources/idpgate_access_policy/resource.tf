# Let the registered application read orders, at most 100 requests a minute and
# 10,000 a day, with tokens no older than an hour.
resource "idpgate_access_policy" "orders_readers" {
  name       = "orders-readers"
  client_ids = [idpgate_dcr_client.app.client_id]

  access_rights = [
    {
      api_id  = idpgate_protected_api.orders.id
      methods = ["GET", "HEAD"]
      paths   = ["/items", "/items/**"]
    },
  ]

  rate_limit = {
    requests = 100
    per      = "60s"
  }

  quota = {
    requests = 10000
    per      = "24h"
  }

  max_token_age = "1h"
}

# Conditions in CEL on a grant: a token of one tenant may only act on that tenant's data,
# named by the X-Tenant header (a token of another client of the same tenant works, a token
# of another tenant does not); writes only on weekdays, Paris time.
resource "idpgate_access_policy" "tenants" {
  name       = "tenants"
  client_ids = [idpgate_dcr_client.app.client_id]

  access_rights = [
    {
      api_id     = idpgate_protected_api.orders.id
      methods    = ["GET"]
      conditions = ["has(claims.tenant) && claims.tenant == request.headers['x-tenant']"]
    },
    {
      api_id  = idpgate_protected_api.orders.id
      methods = ["POST", "PUT", "DELETE"]
      conditions = [
        "has(claims.tenant) && claims.tenant == request.headers['x-tenant']",
        "now.getDayOfWeek('Europe/Paris') >= 1 && now.getDayOfWeek('Europe/Paris') <= 5",
      ]
    },
  ]
}

# A policy bound through the token's policy claim (Tyk's "pol") instead of client ids: the
# IdP puts "partners" (the policy's name, or its id) into the claim of the tokens it issues.
resource "idpgate_access_policy" "partners" {
  name = "partners"

  access_rights = [
    {
      api_id          = idpgate_protected_api.orders.id
      required_scopes = ["orders:write"]
    },
  ]
}
