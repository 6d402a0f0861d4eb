package gateway

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httputil"
	"slices"
	"strings"
	"testing"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/config"
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
	strict := h.createAPI(adminapi.API{Name: "strict", ListenPath: "/strict", UpstreamURL: up.URL})
	lax := h.createAPI(adminapi.API{Name: "lax", ListenPath: "/lax", UpstreamURL: up.URL, ForwardOverrideHeaders: true})
	h.createPolicy(adminapi.Policy{Name: "p", ClientIDs: []string{"app"}, AccessRights: []adminapi.AccessRight{
		{APIID: strict.ID, Methods: []string{"GET"}}, {APIID: lax.ID, Methods: []string{"GET"}}}})
	tok := h.fake.token("t", token.Identity{ClientID: "app"})

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

func TestSameHeaderName(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"X-Idpgate-Subject", "x_idpgate_subject", true},
		{"X_IDPGATE-SUBJECT", "x-idpgate-subject", true},
		{"X-Idpgate-Subject", "X-Idpgate-Subjec", false},
		{"X-Idpgate-Subject", "X.Idpgate-Subject", false},
		{"X-Tenant", "X-Tenanu", false},
	} {
		if got := sameHeaderName(tc.a, tc.b); got != tc.same {
			t.Errorf("sameHeaderName(%q, %q) = %v", tc.a, tc.b, got)
		}
	}
}

// FuzzOutboundHeaderNames sends arbitrary header names (and a Connection header naming them)
// through the outbound rules. Invariant: what the upstream gets under the CGI name of any
// header the gateway sets, or of an override header, is the gateway's value alone.
//
//	go test -fuzz FuzzOutboundHeaderNames -fuzztime 60s ./internal/gateway/
func FuzzOutboundHeaderNames(f *testing.F) {
	for _, name := range []string{"X-Idpgate-Subject", "x_idpgate_client_id", "X-IDPGATE_SCOPE", "X_idpgate-Policy",
		"x-tenant-id", "X_TENANT_ID", "X-HTTP-Method-Override", "x_original_url", "X-Idpgate-", "Authorization", "X-Other"} {
		f.Add(name, "forged")
	}
	rt := &config.Route{Forward: []config.ForwardedClaim{{Header: "X-Tenant-Id", Claim: "tenant"}}}
	id := &token.Identity{Subject: "alice", ClientID: "app", Scopes: []string{"read"}, Claims: map[string]any{"tenant": "acme"}}
	fwd := &forwarding{Context: context.Background(), id: id, policy: &config.Policy{ID: "pol_1"}}
	want := map[string]string{"X_IDPGATE_SUBJECT": "alice", "X_IDPGATE_CLIENT_ID": "app", "X_IDPGATE_SCOPE": "read",
		"X_IDPGATE_POLICY": "pol_1", "X_TENANT_ID": "acme", "AUTHORIZATION": "Bearer t"}

	f.Fuzz(func(t *testing.T, name, value string) {
		in := http.Header{"Authorization": {"Bearer t"}}
		in[name] = append(in[name], value)
		if _, ok := checkInboundHeaders(in); !ok {
			return // refused before it could be forwarded
		}
		out := in.Clone()
		out["Connection"] = []string{name} // what ReverseProxy leaves after hop-by-hop removal: name is gone
		delete(out, name)
		out[name+"x"] = []string{value} // and a near miss that must survive unless it matches a rule
		out[strings.ReplaceAll(name, "-", "_")] = []string{value}
		pr := &httputil.ProxyRequest{In: &http.Request{Header: in}, Out: &http.Request{Header: out}}
		rewriteHeaders(pr, rt, fwd)

		got := map[string][]string{}
		for k, v := range pr.Out.Header {
			got[cgiName(k)] = append(got[cgiName(k)], v...)
		}
		for cgi, vals := range got {
			if w, owned := want[cgi]; owned {
				if len(vals) != 1 || vals[0] != w {
					t.Fatalf("after %q: %s = %q, want only %q", name, cgi, vals, w)
				}
			} else if strings.HasPrefix(cgi, "X_IDPGATE_") {
				t.Fatalf("after %q: %s = %q reached the upstream", name, cgi, vals)
			}
			for _, o := range overrideHeaders {
				if cgi == cgiName(o) {
					t.Fatalf("after %q: override header %s = %q reached the upstream", name, cgi, vals)
				}
			}
		}
		for cgi, w := range want {
			if len(got[cgi]) != 1 || got[cgi][0] != w {
				t.Fatalf("after %q: %s = %q, want %q", name, cgi, got[cgi], w)
			}
		}
	})
}

func TestHasMethodOverrideParam(t *testing.T) {
	for q, want := range map[string]bool{
		"_method=DELETE": true, "a=1&_method=DELETE": true, "_METHOD=delete": true, "_Method": true,
		"a=1;_method=PUT": true, "%5Fmethod=DELETE": true, "%5fmethod=DELETE": true, "_%6Dethod=DELETE": true,
		"+_method=DELETE": true, "%20%20_method=x": true, ".method=x": true, "x+method=x": false, "%20method=x": false,
		"[method=x": true, "_method[]=DELETE": true, "_method[x]=1": true,
		"": false, "method=DELETE": false, "_methods=x": false, "x_method=1": false, "_metho=x": false,
		"a=_method": false, "_method_=x": false, "%5Gmethod=x": false, "_method%=x": false, "q=1&__method=x": false,
	} {
		if got := hasMethodOverrideParam(q); got != want {
			t.Errorf("hasMethodOverrideParam(%q) = %v, want %v", q, got, want)
		}
	}
}
