# RFC 7592 identity providers (generic, keycloak, hydra): the registration client URI and the
# registration access token, both from the IdP's answer to the registration. Pass the token
# in the environment to keep it out of the command line and Terraform's logs:
IDPGATE_REGISTRATION_ACCESS_TOKEN="$REGISTRATION_ACCESS_TOKEN" \
  terraform import idpgate_dcr_client.app 'https://idp.example.com/register/3a9f1c2e'

# ...or both in the ID, separated by a comma:
terraform import idpgate_dcr_client.app 'https://idp.example.com/register/3a9f1c2e,REGISTRATION_ACCESS_TOKEN'

# okta driver: the client_id (clients are managed with the provider's Okta API token).
terraform import idpgate_dcr_client.app 0oa1b2c3d4e5f6g7h8i9
