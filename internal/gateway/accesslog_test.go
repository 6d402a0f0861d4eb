package gateway

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/childproc"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
)

// accessLogLines decodes each line of an access log as JSON.
func accessLogLines(t *testing.T, log []byte) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(log))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("access log line %q is not JSON: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// TestAccessLog: one line per request, proxied, refused or decided, with who called and what
// they got; never the token, nor a query value.
func TestAccessLog(t *testing.T) {
	var buf childproc.Output
	h := newHarnessIn(t, t.TempDir(), newFakeValidators(), func(o *Options) { o.AccessLog = &buf })
	up := newEchoUpstream(t)
	api := h.createAPI(adminapi.API{Name: "orders", ListenPath: "/orders", UpstreamURL: up.URL})
	pol := h.createPolicy(adminapi.Policy{Name: "p", ClientIDs: []string{"app"}, AccessRights: grantAll(api)})
	const secretToken = "tok-SECRET-6b1f0e2d9a"
	tok := h.fake.token(secretToken, token.Identity{Subject: "alice", ClientID: "app", Claims: map[string]any{"ssn": "123-45-6789"}})

	expect(t, h.do("GET", "/orders/1?api_key=QUERYSECRET", tok), http.StatusOK)
	expect(t, h.do("POST", "/orders/2", "forged-"+secretToken), http.StatusUnauthorized)
	expect(t, h.do("GET", "/nowhere", tok), http.StatusNotFound)
	resp, _ := h.decide("/_idpgate/decide", tok, "X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/orders/3?x=QUERYSECRET")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("decision: %d", resp.StatusCode)
	}

	h.gw.accessLog.Flush()
	lines := accessLogLines(t, buf.Bytes())
	if len(lines) != 4 {
		t.Fatalf("%d access log lines for 4 requests: %v", len(lines), lines)
	}
	want := []map[string]any{
		{"api": "orders", "method": "GET", "path": "/orders/1", "status": 200.0, "outcome": "forwarded",
			"client_id": "app", "subject": "alice", "policy": pol.ID, "decision": false},
		{"api": "orders", "method": "POST", "path": "/orders/2", "status": 401.0, "outcome": "unauthorized", "client_id": ""},
		{"api": "", "path": "/nowhere", "status": 404.0, "outcome": "no_route"},
		{"api": "orders", "method": "GET", "path": "/orders/3", "status": 200.0, "outcome": "forwarded", "client_id": "app", "decision": true},
	}
	for i, w := range want {
		for k, v := range w {
			if lines[i][k] != v {
				t.Errorf("line %d: %s = %v, want %v (line %v)", i, k, lines[i][k], v, lines[i])
			}
		}
		for _, k := range []string{"time", "msg", "upstream_ms", "duration_ms", "bytes", "remote"} {
			if _, ok := lines[i][k]; !ok {
				t.Errorf("line %d has no %s: %v", i, k, lines[i])
			}
		}
	}
	if b, _ := lines[0]["bytes"].(float64); b <= 0 {
		t.Errorf("bytes of the proxied answer: %v", lines[0]["bytes"])
	}
	if ms, _ := lines[0]["upstream_ms"].(float64); ms <= 0 {
		t.Errorf("upstream_ms of the proxied request: %v", lines[0]["upstream_ms"])
	}
	text := buf.String()
	for _, secret := range []string{secretToken, "QUERYSECRET", "123-45-6789", "Bearer"} {
		if strings.Contains(text, secret) {
			t.Errorf("the access log contains %q:\n%s", secret, text)
		}
	}
}
