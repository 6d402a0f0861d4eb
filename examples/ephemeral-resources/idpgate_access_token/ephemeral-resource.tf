terraform {
  required_providers {
    idpgate = {
      source = "idpgate/idpgate"
    }
    restapi = {
      source = "Mastercard/restapi"
    }
  }
}

# A token for the registered application, obtained during each run and never written to the
# plan or the state: here it authenticates another provider that calls an API behind the
# gateway.
ephemeral "idpgate_access_token" "app" {
  client_id     = idpgate_dcr_client.app.client_id
  client_secret = idpgate_dcr_client.app.client_secret
  scopes        = ["orders"]
}

provider "restapi" {
  uri = "http://127.0.0.1:8080/orders"
  headers = {
    Authorization = "Bearer ${ephemeral.idpgate_access_token.app.access_token}"
  }
}
