package gateway

import (
	"net/http"
	"slices"
	"strconv"
	"testing"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/limits"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
)

// Boundaries of the request path's rules that the tests written with the code did not reach:
// which X-Forwarded-For line names the client, encoded separators at the end of a path and
// DEL, the case of "websocket", and the fallback from an API's hosts to the APIs with none.

// TestFailedAuthLimitCountsTheProxysLineNotTheClients: through the proxy listener, a client
// behind a trusted proxy that rotates the address in its own X-Forwarded-For line still
// exhausts its own budget of refused tokens.
func TestFailedAuthLimitCountsTheProxysLineNotTheClients(t *testing.T) {
	h := newHarnessIn(t, t.TempDir(), newFakeValidators(), func(o *Options) {
		o.FailedAuthLimit = limits.FailedAuthLimit{Burst: 3, Per: 1 << 40} // no refill within the test
	})
	up := newEchoUpstream(t)
	h.createAPI(adminapi.API{Name: "a", ListenPath: "/a", UpstreamURL: up.URL})
	statuses := []int{}
	for i := range 5 {
		resp := h.do("GET", "/a/x", "forged",
			"X-Forwarded-For", "198.51.100."+strconv.Itoa(i+1), // the client's own line
			"X-Forwarded-For", "203.0.113.9") // the proxy's (loopback is trusted)
		resp.Body.Close()
		statuses = append(statuses, resp.StatusCode)
	}
	if want := []int{401, 401, 401, 429, 429}; !slices.Equal(statuses, want) {
		t.Errorf("refused tokens from one client rotating its own X-Forwarded-For line: %v, want %v", statuses, want)
	}
}

// TestCheckRequestPathEdges: an encoded separator is refused at the very end of the path as
// anywhere else, and DEL is a control character, through the proxy listener (request's test
// of the same name has the whole table).
func TestCheckRequestPathEdges(t *testing.T) {
	// Through the proxy listener, as a client sends them.
	h, tok := newIdentityHeaderAPI(t)
	for _, p := range []string{"/a/x%2F", "/a/x%2f", "/a/x%7F", "/a/%7f"} {
		if code := errorCode(t, expect(t, h.do("GET", p, tok), http.StatusBadRequest)); code != "invalid_request" {
			t.Errorf("%s: %s", p, code)
		}
	}
}

// TestWebSocketUpgradeInAnyCase: "Upgrade: WebSocket" (RFC 6455 §4.2.1: case-insensitive) in
// any case is the upgrade the gateway supports; it is not refused as another protocol, and
// reaches the upstream.
func TestWebSocketUpgradeInAnyCase(t *testing.T) {
	h, tok := newIdentityHeaderAPI(t)
	for _, up := range []string{"websocket", "WebSocket", "WEBSOCKET", " websocket "} {
		resp := h.rawHeaderRequest("/a/x", tok, [][2]string{{"Connection", "Upgrade"}, {"Upgrade", up},
			{"Sec-WebSocket-Version", "13"}, {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="}})
		body := expect(t, resp, http.StatusOK) // the echo upstream answers without upgrading
		if e := decodeEcho(t, body); e.Path != "/a/x" {
			t.Errorf("Upgrade: %q reached %s", up, e.Path)
		}
	}
}

// TestHostWithoutAPIsFallsBackToHostlessAPIs: a Host that no API names, and a named host
// whose APIs do not serve the path, are matched among the APIs that name no host (the
// documented second step).
func TestHostWithoutAPIsFallsBackToHostlessAPIs(t *testing.T) {
	h := newHarness(t)
	up := newEchoUpstream(t)
	named := h.createAPI(adminapi.API{Name: "named", ListenPath: "/orders", Hosts: []string{"b.example"}, UpstreamURL: up.URL + "/named"})
	hostless := h.createAPI(adminapi.API{Name: "hostless", ListenPath: "/status", UpstreamURL: up.URL + "/hostless"})
	h.createPolicy(adminapi.Policy{Name: "p", ClientIDs: []string{"app"}, AccessRights: append(grantAll(named), grantAll(hostless)...)})
	tok := h.fake.token("t", token.Identity{ClientID: "app"})
	h.wantHostRoutes(t, tok, []hostRoute{
		{"unknown.example", "/status/1", "/hostless/status/1"},
		{"b.example", "/status/1", "/hostless/status/1"},
		{"b.example", "/orders/1", "/named/orders/1"},
		{"unknown.example", "/orders/1", ""},
	})
}
