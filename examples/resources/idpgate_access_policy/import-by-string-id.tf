import {
  to = idpgate_access_policy.orders_readers
  id = "pol_nbswy3dpeb3w64tm"
}
