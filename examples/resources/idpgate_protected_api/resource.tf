# An API whose callers present JWT access tokens from the IdP, checked with its JWKS.
resource "idpgate_protected_api" "orders" {
  name              = "orders"
  listen_path       = "/orders/"
  upstream_url      = "http://orders.internal:8080"
  strip_listen_path = true

  jwt = {
    issuer          = "https://idp.example.com/realms/apps"
    jwks_uri        = "https://idp.example.com/realms/apps/protocol/openid-connect/certs"
    audiences       = ["orders-api"]
    required_scopes = ["orders"]
    leeway          = "30s"
  }

  # Extra claims forwarded to the upstream as headers, besides X-Idpgate-Subject,
  # X-Idpgate-Client-Id, X-Idpgate-Scope and X-Idpgate-Policy.
  forward_claims = {
    "X-Tenant" = "tenant"
  }
}

# An API whose tokens are opaque: each one is checked at the IdP's introspection endpoint
# (RFC 7662) and the answer cached for at most cache_ttl.
resource "idpgate_protected_api" "billing" {
  name         = "billing"
  listen_path  = "/billing/"
  upstream_url = "http://billing.internal:8080"

  introspection = {
    endpoint      = "https://idp.example.com/oauth2/introspect"
    client_id     = "idpgate"
    client_secret = var.introspection_secret
    cache_ttl     = "2m"
  }
}

# An API that accepts only DPoP-bound tokens (RFC 9449), served on its own host: a caller
# proves with each request that it holds the key its token is bound to, so a token copied
# from a log or a proxy is useless on its own.
resource "idpgate_protected_api" "payments" {
  name              = "payments"
  hosts             = ["payments.example.com"]
  listen_path       = "/"
  upstream_url      = "http://payments.internal:8080"
  sender_constraint = "dpop"

  jwt = {
    issuer   = "https://idp.example.com/realms/apps"
    jwks_uri = "https://idp.example.com/realms/apps/protocol/openid-connect/certs"
  }
}

# An API a single-page application on https://app.example.com (and its preview deployments)
# calls from the browser with a bearer token. The gateway answers the browser's preflight
# itself, without a token, and puts the CORS headers on every answer, refusals included, so
# the application can read a 401's WWW-Authenticate or a 429's Retry-After.
resource "idpgate_protected_api" "spa_orders" {
  name         = "spa-orders"
  listen_path  = "/spa/orders/"
  upstream_url = "http://orders.internal:8080"

  jwt = {
    issuer   = "https://idp.example.com/realms/apps"
    jwks_uri = "https://idp.example.com/realms/apps/protocol/openid-connect/certs"
  }

  cors = {
    allowed_origins = ["https://app.example.com", "https://*.preview.example.com", "http://localhost:5173"]
    allowed_methods = ["GET", "POST", "PUT", "DELETE"]
    allowed_headers = ["Content-Type"] # Authorization and DPoP are always allowed
    exposed_headers = ["ETag", "Location"]
    max_age         = "10m"
  }

  # CEL conditions every caller must meet, whatever policy grants it: tokens from a
  # second-factor login (acr), from the office network or the VPN.
  conditions = [
    "has(claims.acr) && claims.acr == 'mfa'",
    "cidr('10.0.0.0/8').containsIP(request.remote_ip) || cidr('192.168.0.0/16').containsIP(request.remote_ip)",
  ]
}

variable "introspection_secret" {
  type      = string
  sensitive = true
}
