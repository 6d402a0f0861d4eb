package gateway

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
)

// cgiName is how a WSGI, PHP or Rack upstream names a header: upper case, "-" as "_". Two
// headers with the same cgiName are one variable there.
func cgiName(h string) string { return strings.ToUpper(strings.ReplaceAll(h, "-", "_")) }

// spellings returns name in every combination of "-" and "_" separators, each in lower,
// upper, canonical and alternating case.
func spellings(name string) []string {
	parts := strings.Split(name, "-")
	seps := len(parts) - 1
	var out []string
	for mask := 0; mask < 1<<seps; mask++ {
		var b strings.Builder
		for i, p := range parts {
			if i > 0 {
				if mask&(1<<(i-1)) != 0 {
					b.WriteByte('_')
				} else {
					b.WriteByte('-')
				}
			}
			b.WriteString(p)
		}
		s := b.String()
		alt := []byte(strings.ToLower(s))
		for i := 0; i < len(alt); i += 2 {
			alt[i] = strings.ToUpper(string(alt[i]))[0]
		}
		for _, v := range []string{s, strings.ToLower(s), strings.ToUpper(s), string(alt)} {
			if !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	return out
}

// upstreamValues returns every value the upstream received under any spelling of name.
func upstreamValues(e echoed, name string) []string {
	var vals []string
	for k, v := range e.Header {
		if cgiName(k) == cgiName(name) {
			vals = append(vals, v...)
		}
	}
	return vals
}

// rawHeaderRequest sends a request whose header names go on the wire exactly as given
// (http.Header.Add would canonicalize them).
func (h *harness) rawHeaderRequest(path, token string, headers [][2]string) *http.Response {
	h.t.Helper()
	req, err := http.NewRequest("GET", h.proxy.URL+path, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header["Authorization"] = []string{"Bearer " + token}
	for _, kv := range headers {
		req.Header[kv[0]] = append(req.Header[kv[0]], kv[1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp
}

func newIdentityHeaderAPI(t *testing.T) (*harness, string) {
	h := newHarness(t)
	up := newEchoUpstream(t)
	api := h.createAPI(adminapi.API{Name: "a", ListenPath: "/a", UpstreamURL: up.URL,
		ForwardClaims: map[string]string{"X-Tenant-Id": "tenant", "X-Missing-Claim": "nope"}})
	h.createPolicy(adminapi.Policy{Name: "p", ClientIDs: []string{"app"}, AccessRights: grantAll(api)})
	tok := h.fake.token("t", token.Identity{Subject: "alice", ClientID: "app", Scopes: []string{"read"},
		Claims: map[string]any{"tenant": "acme"}})
	return h, tok
}

// TestForgedIdentityHeadersNeverReachTheUpstream sends every spelling of every header the
// gateway sets, with a valid token, and expects the upstream to see the gateway's value
// alone under each CGI name (or nothing, where the gateway sets nothing).
func TestForgedIdentityHeadersNeverReachTheUpstream(t *testing.T) {
	h, tok := newIdentityHeaderAPI(t)
	want := map[string]string{ // "" means: the gateway sets none, so none may arrive
		"X-Idpgate-Subject": "alice", "X-Idpgate-Client-Id": "app", "X-Idpgate-Scope": "read",
		"X-Idpgate-Policy": "", "X-Idpgate-Anything-Else": "",
		"X-Tenant-Id": "acme", "X-Missing-Claim": "",
	}
	for name, value := range want {
		var forged [][2]string
		for i, s := range spellings(name) {
			forged = append(forged, [2]string{s, fmt.Sprintf("evil-%d", i)})
		}
		e := decodeEcho(t, expect(t, h.rawHeaderRequest("/a/x", tok, forged), http.StatusOK))
		got := upstreamValues(e, name)
		switch {
		case name == "X-Idpgate-Policy":
			if len(got) != 1 || strings.HasPrefix(got[0], "evil") {
				t.Errorf("%s: upstream saw %q, want only the gateway's policy id", name, got)
			}
		case value == "" && len(got) != 0:
			t.Errorf("%s: upstream saw %q after %d forged spellings; want nothing", name, got, len(forged))
		case value != "" && (len(got) != 1 || got[0] != value):
			t.Errorf("%s: upstream saw %q after %d forged spellings; want only %q", name, got, len(forged), value)
		}
	}
}

// TestConnectionCannotStripIdentityHeaders names the gateway's headers in Connection (any case,
// two Connection headers): hop-by-hop removal happens before the gateway sets its own.
func TestConnectionCannotStripIdentityHeaders(t *testing.T) {
	h, tok := newIdentityHeaderAPI(t)
	resp := h.rawHeaderRequest("/a/x", tok, [][2]string{
		{"Connection", "X-Idpgate-Client-Id, x-idpgate-subject, X-IDPGATE-SCOPE"},
		{"Connection", "x-Idpgate-Policy, authorization, X-Tenant-Id"},
	})
	e := decodeEcho(t, expect(t, resp, http.StatusOK))
	for name, value := range map[string]string{
		"X-Idpgate-Subject": "alice", "X-Idpgate-Client-Id": "app", "X-Idpgate-Scope": "read",
		"X-Tenant-Id": "acme", "Authorization": "Bearer " + tok,
	} {
		if got := upstreamValues(e, name); len(got) != 1 || got[0] != value {
			t.Errorf("%s named in Connection: upstream saw %q, want %q", name, got, value)
		}
	}
	if got := upstreamValues(e, "X-Idpgate-Policy"); len(got) != 1 || got[0] == "" {
		t.Errorf("X-Idpgate-Policy named in Connection: upstream saw %q", got)
	}
}

func TestTwoAuthorizationHeadersAreRefused(t *testing.T) {
	h, tok := newIdentityHeaderAPI(t)
	other := h.fake.token("other", token.Identity{Subject: "bob", ClientID: "app"})
	for _, second := range []string{"Bearer " + other, "Basic YWRtaW46YWRtaW4=", ""} {
		resp := h.rawHeaderRequest("/a/x", tok, [][2]string{{"Authorization", second}})
		body := expect(t, resp, http.StatusBadRequest)
		if code := errorCode(t, body); code != "invalid_request" || !strings.Contains(string(body), "exactly one Authorization") {
			t.Errorf("second Authorization %q: %s", second, body)
		}
	}
	if n := h.fake.validate.Load(); n != 0 {
		t.Errorf("the validator was asked %d times; a request with two credentials must be refused first", n)
	}
}

func TestOverrideHeadersAreDroppedUnlessTheAPIForwardsThem(t *testing.T) {
	h := newHarness(t)
	up := newEchoUpstream(t)
	tok := h.strictAndLaxAPIs(up.URL, "GET")

	names := []string{"X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override", "X-Original-URL", "X-Rewrite-URL"}
	var sent [][2]string
	for _, n := range names {
		for _, s := range spellings(n) {
			sent = append(sent, [2]string{s, "DELETE"})
		}
	}
	e := decodeEcho(t, expect(t, h.rawHeaderRequest("/strict/x", tok, sent), http.StatusOK))
	for _, n := range names {
		if got := upstreamValues(e, n); len(got) != 0 {
			t.Errorf("%s reached the upstream of a GET-only grant: %q", n, got)
		}
	}
	e = decodeEcho(t, expect(t, h.rawHeaderRequest("/lax/x", tok, [][2]string{{"X-HTTP-Method-Override", "DELETE"}}), http.StatusOK))
	if got := upstreamValues(e, "X-HTTP-Method-Override"); len(got) != 1 {
		t.Errorf("forward_override_headers: upstream saw %q, want the header", got)
	}
}

func TestUpgradesOtherThanWebSocketAreRefused(t *testing.T) {
	h, tok := newIdentityHeaderAPI(t)
	for _, up := range []string{"h2c", "H2C", "websocket, h2c", "foo"} {
		resp := h.rawHeaderRequest("/a/x", tok, [][2]string{{"Connection", "Upgrade, HTTP2-Settings"}, {"Upgrade", up}, {"HTTP2-Settings", "AAMAAABkAAQAAP__"}})
		if code := errorCode(t, expect(t, resp, http.StatusBadRequest)); code != "invalid_request" {
			t.Errorf("Upgrade: %s answered %s", up, code)
		}
	}
}

// strictAndLaxAPIs creates the APIs /strict and /lax on upstream, of which only lax forwards
// the method and URL override headers, grants the client app method on both and returns a
// token of app's.
func (h *harness) strictAndLaxAPIs(upstream, method string) string {
	h.t.Helper()
	strict := h.createAPI(adminapi.API{Name: "strict", ListenPath: "/strict", UpstreamURL: upstream})
	lax := h.createAPI(adminapi.API{Name: "lax", ListenPath: "/lax", UpstreamURL: upstream, ForwardOverrideHeaders: true})
	h.createPolicy(adminapi.Policy{Name: "p", ClientIDs: []string{"app"}, AccessRights: []adminapi.AccessRight{
		{APIID: strict.ID, Methods: []string{method}}, {APIID: lax.ID, Methods: []string{method}}}})
	return h.fake.token("t", token.Identity{ClientID: "app"})
}
