# Import by the id the gateway assigned (GET /v1/apis lists them). The introspection
# client_secret cannot be read back: the next apply sets it from the configuration.
terraform import idpgate_protected_api.orders api_mfrgg2lomfzxe3dp
