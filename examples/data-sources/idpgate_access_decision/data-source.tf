# State in the configuration what a policy must grant and refuse: a check block warns on every
# plan and apply when the gateway would decide otherwise (nothing is counted, no upstream is
# called). For CI, put the same assertions in a `terraform test` file.
data "idpgate_access_decision" "billing_reads" {
  method    = "GET"
  url       = "https://api.example.com/orders/items/42"
  client_id = idpgate_dcr_client.billing.client_id
  scopes    = ["orders:read"]

  # Read after the policy is applied, not before.
  depends_on = [idpgate_access_policy.billing]
}

check "billing_reads_orders" {
  assert {
    condition     = data.idpgate_access_decision.billing_reads.allowed
    error_message = "billing cannot read orders: ${data.idpgate_access_decision.billing_reads.reason}"
  }
}

# A caller named by the API's policy claim instead of a client id.
data "idpgate_access_decision" "gold_partner_deletes" {
  method     = "DELETE"
  url        = "https://api.example.com/orders/items/42"
  claims     = jsonencode({ pol = "gold", scope = "orders:write" })
  depends_on = [idpgate_access_policy.billing]
}

check "gold_partners_cannot_delete" {
  assert {
    condition     = data.idpgate_access_decision.gold_partner_deletes.status == 403
    error_message = "gold partners may delete orders: ${data.idpgate_access_decision.gold_partner_deletes.reason}"
  }
}
