package provider

import (
	"fmt"
	"strings"
	"testing"
)

// Configuration builders shared by the acceptance tests: the same provider blocks and
// protected APIs, written once.

// offlineGatewayProvider configures a gateway that is not running (a closed port): for
// tests that must fail, or pass, at plan time without reaching it.
func offlineGatewayProvider(t *testing.T) string { return gatewayProvider(closedPort(t), "unused") }

// gatewayProvider configures only the gateway, at url with the admin token.
func gatewayProvider(url, token string) string {
	return fmt.Sprintf(`
provider "idpgate" {
  gateway_url         = %q
  gateway_admin_token = %q
}
`, url, token)
}

// offlineJWT is a jwt block whose issuer no token of the test comes from.
const offlineJWT = `jwt = {
    issuer   = "https://idp.example.com"
    jwks_uri = "https://idp.example.com/jwks"
  }`

// offlineAPI is the idpgate_protected_api "x" at listenPath, proxying to a port nothing
// listens on, with attrs inside the block.
func offlineAPI(listenPath, attrs string) string {
	return apiConfig("x", listenPath, "http://127.0.0.1:9", attrs)
}

// apiConfig is an idpgate_protected_api with the given name (also its address) at
// listenPath, proxying to upstream, with attrs inside the block.
func apiConfig(name, listenPath, upstream, attrs string) string {
	return fmt.Sprintf(`
resource "idpgate_protected_api" %[1]q {
  name         = %[1]q
  listen_path  = %[2]q
  upstream_url = %[3]q
%[4]s
}
`, name, listenPath, upstream, attrs)
}

// jwtAttr is a jwt block that checks tokens of issuer with the keys at jwksURI; each of
// extra is one more attribute line inside it.
func jwtAttr(issuer, jwksURI string, extra ...string) string {
	var more string
	for _, e := range extra {
		more += "    " + e + "\n"
	}
	return fmt.Sprintf("  jwt = {\n    issuer   = %q\n    jwks_uri = %q\n%s  }", issuer, jwksURI, more)
}

// stackAPI is the idpgate_protected_api "orders" at /orders in front of s's upstream,
// checking the mock IdP's tokens (jwtExtra: more lines in the jwt block), with attrs.
func (s *gatewayStack) stackAPI(attrs string, jwtExtra ...string) string {
	return apiConfig("orders", "/orders", s.upstream.URL, strings.TrimSpace(jwtAttr(s.idp.URL(), s.idp.JWKSURI(), jwtExtra...))+"\n"+attrs)
}

// clientCredentialsClient is an idpgate_dcr_client at addr registered as clientName for the
// client credentials grant, with scope unless it is "".
func clientCredentialsClient(addr, clientName, scope string) string {
	if scope != "" {
		scope = fmt.Sprintf("  scope       = %q\n", scope)
	}
	return fmt.Sprintf(`
resource "idpgate_dcr_client" %q {
  client_name = %q
  grant_types = ["client_credentials"]
%s}
`, addr, clientName, scope)
}

// introspectionAPI is the idpgate_protected_api "orders" at /orders in front of upstream,
// checking tokens at endpoint as the client idpgate_dcr_client.gateway; each of extra is one
// more attribute line in the introspection block.
func introspectionAPI(upstream, endpoint string, extra ...string) string {
	var more string
	for _, e := range extra {
		more += "    " + e + "\n"
	}
	return apiConfig("orders", "/orders", upstream, fmt.Sprintf(`  introspection = {
    endpoint      = %q
    client_id     = idpgate_dcr_client.gateway.client_id
    client_secret = idpgate_dcr_client.gateway.client_secret
%s  }`, endpoint, more))
}
