package request

import (
	"context"
	"net/http"
	"net/http/httputil"
	"strings"
	"testing"

	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/config"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
)

// TestSameHeaderName: header names compare as CGI-style upstreams see them, "_" as "-" and
// in any case, and nothing else is taken as the same.
func TestSameHeaderName(t *testing.T) {
	for names, same := range map[[2]string]bool{
		{"X-Idpgate-Subject", "x_idpgate_subject"}: true,
		{"X_IDPGATE-SUBJECT", "x-idpgate-subject"}: true,
		{"X-Idpgate-Subject", "X-Idpgate-Subjec"}:  false,
		{"X-Idpgate-Subject", "X.Idpgate-Subject"}: false,
		{"X-Tenant", "X-Tenanu"}:                   false,
	} {
		if got := sameHeaderName(names[0], names[1]); got != same {
			t.Errorf("sameHeaderName(%q, %q) = %v", names[0], names[1], got)
		}
	}
}

// FuzzOutboundHeaderNames sends arbitrary header names (and a Connection header naming them)
// through the outbound rules. Invariant: what the upstream gets under the CGI name of any
// header the gateway sets, or of an override header, is the gateway's value alone.
//
//	go test -fuzz FuzzOutboundHeaderNames -fuzztime 60s ./internal/gateway/request/
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
		"_method%5B": true, "_metho%64": true, "_method%5": false, "_metho%6": false, // an escape that ends the name
		"": false, "method=DELETE": false, "_methods=x": false, "x_method=1": false, "_metho=x": false,
		"a=_method": false, "_method_=x": false, "%5Gmethod=x": false, "_method%=x": false, "q=1&__method=x": false,
	} {
		if got := hasMethodOverrideParam(q); got != want {
			t.Errorf("hasMethodOverrideParam(%q) = %v, want %v", q, got, want)
		}
	}
}

// TestWebSocketUpgradeInAnyCase: "Upgrade: WebSocket" (RFC 6455 §4.2.1: case-insensitive) in
// any case is the upgrade the gateway supports (the gateway's test of the same name sends it
// through the proxy listener).
func TestWebSocketUpgradeInAnyCase(t *testing.T) {
	for _, up := range []string{"websocket", "WebSocket", "WEBSOCKET", " websocket "} {
		if reason, ok := checkInboundHeaders(http.Header{"Upgrade": {up}}); !ok {
			t.Errorf("Upgrade: %q refused: %s", up, reason)
		}
	}
}

func cgiName(h string) string { return strings.ToUpper(strings.ReplaceAll(h, "-", "_")) }

// TestUnhex: every hex digit, at the edges of its range, in either case.
func TestUnhex(t *testing.T) {
	for i, c := range []byte("0123456789") {
		if got := unhex(c); got != byte(i) {
			t.Errorf("unhex(%q) = %d", c, got)
		}
	}
	for i, c := range []byte("abcdef") {
		if got, up := unhex(c), unhex(c-'a'+'A'); got != byte(10+i) || up != got {
			t.Errorf("unhex(%q) = %d, unhex(%q) = %d; want %d", c, got, c-'a'+'A', up, 10+i)
		}
	}
}

// TestHeaderNameFold: "_" folds to "-", A to Z to lower case, and the bytes next to them stay.
func TestHeaderNameFold(t *testing.T) {
	for in, want := range map[byte]byte{'_': '-', 'A': 'a', 'Z': 'z', 'M': 'm', '@': '@', '[': '[', 'a': 'a', '-': '-', '^': '^'} {
		if got := headerNameFold(in); got != want {
			t.Errorf("headerNameFold(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestForwardingFrom: the forwarding a request's context is found again, and every other
// key goes to the context below it.
func TestForwardingFrom(t *testing.T) {
	type other struct{}
	fwd := &forwarding{Context: context.WithValue(context.Background(), other{}, "below")}
	if forwardingFrom(fwd) != fwd {
		t.Error("the forwarding is not found in its own context")
	}
	if v := fwd.Value(other{}); v != "below" {
		t.Errorf("another key: %v", v)
	}
	if forwardingFrom(context.Background()) != nil {
		t.Error("a forwarding found in a context without one")
	}
}
