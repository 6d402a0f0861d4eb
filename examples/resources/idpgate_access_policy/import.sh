# Import by the id the gateway assigned (GET /v1/policies lists them).
terraform import idpgate_access_policy.orders_readers pol_nbswy3dpeb3w64tm
