# Rotate the client secret every 30 days. time_rotating (hashicorp/time) gets a new id when
# its period ends; the new id changes client_secret_rotation_trigger, and the next apply
# rotates the secret. Any value works, e.g. a date string you change by hand.
resource "time_rotating" "orders_secret" {
  rotation_days = 30
}

resource "idpgate_dcr_client" "orders" {
  client_name                    = "orders-worker"
  grant_types                    = ["client_credentials"]
  scope                          = "orders"
  client_secret_rotation_trigger = time_rotating.orders_secret.id

  # hydra and keycloak rotate by replacing the client: register the new one before the old
  # one is deleted, so that the old credentials keep working until the new ones exist.
  lifecycle {
    create_before_destroy = true
  }
}
