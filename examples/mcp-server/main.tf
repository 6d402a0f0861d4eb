# An MCP server behind your identity provider: one apply registers an agent at the IdP,
# protects the MCP endpoint on the idpgate gateway as an OAuth protected resource (RFC 9728
# metadata, RFC 8707 audience), and grants the agent. An MCP client given the URL, the
# client id and the secret then finds its own way: 401, metadata, IdP, token, tools.
#
#   export IDPGATE_ISSUER=...  IDPGATE_GATEWAY_URL=...  IDPGATE_GATEWAY_ADMIN_TOKEN=...
#   terraform init && terraform apply -var mcp_resource=https://mcp.example.com/mcp

terraform {
  required_providers {
    idpgate = {
      source = "idpgate/idpgate"
    }
  }
}

# Settings come from IDPGATE_ISSUER, IDPGATE_GATEWAY_URL and IDPGATE_GATEWAY_ADMIN_TOKEN.
provider "idpgate" {}

variable "mcp_upstream" {
  description = "Where the MCP server (streamable HTTP) listens, behind the gateway."
  type        = string
  default     = "http://127.0.0.1:9100"
}

variable "mcp_resource" {
  description = "The URL MCP clients call: the gateway's public address and the MCP endpoint's path."
  type        = string
  default     = "https://mcp.example.com/mcp"
}

data "idpgate_openid_configuration" "idp" {}

# 1. Register the agent: a confidential client for the client_credentials grant. MCP SDKs
#    prefer client_secret_post when the IdP offers it.
resource "idpgate_dcr_client" "agent" {
  client_name                = "mcp-agent"
  grant_types                = ["client_credentials"]
  token_endpoint_auth_method = "client_secret_post"
  scope                      = "mcp:tools"
}

# 2. Protect the MCP endpoint as an OAuth protected resource.
resource "idpgate_protected_api" "mcp" {
  name          = "mcp"
  listen_path   = "/mcp"
  upstream_url  = var.mcp_upstream
  resource      = var.mcp_resource
  resource_name = "Example MCP server"

  jwt = {
    issuer          = data.idpgate_openid_configuration.idp.issuer
    jwks_uri        = data.idpgate_openid_configuration.idp.jwks_uri
    required_scopes = ["mcp:tools"]
  }
}

# 3. Grant the agent the MCP endpoint: POST for messages, GET for the event stream, DELETE to
#    end a session.
resource "idpgate_access_policy" "agent" {
  name       = "mcp-agent"
  client_ids = [idpgate_dcr_client.agent.client_id]

  access_rights = [
    {
      api_id  = idpgate_protected_api.mcp.id
      methods = ["GET", "POST", "DELETE"]
    },
  ]

  rate_limit = {
    requests = 600
    per      = "60s"
  }
}

output "mcp_url" {
  value = idpgate_protected_api.mcp.resource
}

output "client_id" {
  value = idpgate_dcr_client.agent.client_id
}

output "client_secret" {
  value     = idpgate_dcr_client.agent.client_secret
  sensitive = true
}
