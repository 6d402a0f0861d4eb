# RFC 7592 identity providers (generic, keycloak, hydra): the registration client URI, with
# the registration access token in IDPGATE_REGISTRATION_ACCESS_TOKEN so that it stays out of
# the configuration and out of Terraform's logs. With the okta driver, the id is the
# client_id instead, e.g. "0oa1b2c3d4e5f6g7h8i9".
import {
  to = idpgate_dcr_client.app
  id = "https://idp.example.com/register/3a9f1c2e"
}
