# One question to the gateway, for the run blocks of ../policy.tftest.hcl.

terraform {
  required_providers {
    idpgate = {
      source = "idpgate/idpgate"
    }
  }
}

variable "method" {
  type = string
}

variable "url" {
  type = string
}

variable "client_id" {
  type    = string
  default = null
}

variable "scopes" {
  type    = list(string)
  default = null
}

# What the assertions compare with (run outputs go through variables: OpenTofu does not read
# run.<name> inside an assert).
variable "expected_policy_id" {
  type    = string
  default = null
}

variable "expected_api_id" {
  type    = string
  default = null
}

data "idpgate_access_decision" "this" {
  method    = var.method
  url       = var.url
  client_id = var.client_id
  scopes    = var.scopes
}
