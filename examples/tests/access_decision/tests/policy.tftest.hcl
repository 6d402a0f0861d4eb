# What the billing policy must grant and refuse. Each run after "policy" asks the gateway
# about one request (tests/decision); `reason` says which access right matched, or what each
# policy bound to the caller lacks.

run "policy" {}

run "billing_reads_orders" {
  module {
    source = "./tests/decision"
  }

  variables {
    method             = "GET"
    url                = "https://api.example.com/orders/items/42"
    client_id          = run.policy.billing_client_id
    scopes             = ["orders:read"]
    expected_policy_id = run.policy.billing_policy_id
    expected_api_id    = run.policy.orders_api_id
  }

  assert {
    condition     = data.idpgate_access_decision.this.allowed
    error_message = "billing must be able to read orders: ${data.idpgate_access_decision.this.reason}"
  }

  assert {
    condition     = data.idpgate_access_decision.this.policy_id == var.expected_policy_id && data.idpgate_access_decision.this.api_id == var.expected_api_id
    error_message = "billing's reads must be granted by its own policy on the orders API: ${data.idpgate_access_decision.this.reason}"
  }
}

run "billing_cannot_delete_orders" {
  module {
    source = "./tests/decision"
  }

  variables {
    method    = "DELETE"
    url       = "https://api.example.com/orders/items/42"
    client_id = run.policy.billing_client_id
    scopes    = ["orders:read"]
  }

  assert {
    condition     = !data.idpgate_access_decision.this.allowed && data.idpgate_access_decision.this.status == 403
    error_message = "billing must not be able to delete orders: ${data.idpgate_access_decision.this.reason}"
  }
}

run "other_clients_are_outside_the_policy" {
  module {
    source = "./tests/decision"
  }

  variables {
    method    = "GET"
    url       = "https://api.example.com/orders/items/42"
    client_id = "some-other-client"
    scopes    = ["orders:read"]
  }

  assert {
    condition     = data.idpgate_access_decision.this.error == "access_denied"
    error_message = "a client outside the billing policy must be refused: ${data.idpgate_access_decision.this.reason}"
  }
}

run "billing_needs_the_orders_read_scope" {
  module {
    source = "./tests/decision"
  }

  variables {
    method    = "GET"
    url       = "https://api.example.com/orders/items/42"
    client_id = run.policy.billing_client_id
    scopes    = []
  }

  assert {
    condition     = data.idpgate_access_decision.this.status == 403 && data.idpgate_access_decision.this.error == "insufficient_scope"
    error_message = "billing without orders:read must be refused for the scope: ${data.idpgate_access_decision.this.reason}"
  }
}
