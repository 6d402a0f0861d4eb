import {
  to = idpgate_protected_api.orders
  id = "api_mfrgg2lomfzxe3dp"
}
