terraform {
  required_providers {
    idpgate = {
      source = "idpgate/idpgate"
    }
  }
}

# Both halves configured: clients are registered at the IdP (RFC 7591), APIs and policies
# are configured on the idpgate gateway. Either half may be left out. Every attribute can
# also come from its IDPGATE_* environment variable, which keeps secrets out of the file.
provider "idpgate" {
  issuer               = "https://idp.example.com/realms/apps" # IDPGATE_ISSUER
  idp_driver           = "keycloak"                            # IDPGATE_IDP_DRIVER
  initial_access_token = var.initial_access_token              # IDPGATE_INITIAL_ACCESS_TOKEN

  gateway_url         = "http://127.0.0.1:8081" # IDPGATE_GATEWAY_URL (the admin listener)
  gateway_admin_token = var.gateway_admin_token # IDPGATE_GATEWAY_ADMIN_TOKEN

  # An https:// admin listener (idpgate serve --admin-tls-cert): trust the CA of its certificate
  # and, when it requires client certificates (--admin-client-ca), present one.
  # gateway_url         = "https://gateway.internal:8081"
  # gateway_ca_bundle   = file("gateway-ca.pem")     # IDPGATE_GATEWAY_CA_BUNDLE
  # gateway_client_cert = file("terraform.pem")      # IDPGATE_GATEWAY_CLIENT_CERT
  # gateway_client_key  = file("terraform-key.pem")  # IDPGATE_GATEWAY_CLIENT_KEY
}

variable "initial_access_token" {
  type      = string
  sensitive = true
}

variable "gateway_admin_token" {
  type      = string
  sensitive = true
}
