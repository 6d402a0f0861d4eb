package gateway

import (
	"context"
	"net/http"
	"net/http/httputil"
	"strings"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
)

// What crosses the gateway in headers. An upstream trusts the identity headers to say who
// called, so every rule that keeps them trustworthy is here.
//
// Before routing, a request is refused (400 invalid_request) when it carries
//   - more than one Authorization header: the gateway checks one credential, and an upstream
//     that reads another would act on a credential nobody checked;
//   - an Upgrade to anything but websocket: after an h2c upgrade, the requests inside the
//     tunnel would reach the upstream without any check.
//
// On the outbound request, inside ReverseProxy.Rewrite — that is, after the hop-by-hop headers
// and every header the client named in Connection are gone, so the client cannot strip what
// the gateway sets:
//   - every header whose name matches one the gateway sets (X-Idpgate-*, the API's
//     forward_claims headers) is dropped, names compared case-insensitively with "_" taken
//     as "-": WSGI, PHP and Rack upstreams read X_Idpgate_Client_Id and X-Idpgate-Client-Id
//     as the same variable;
//   - the method and URL override headers (X-HTTP-Method-Override, X-HTTP-Method,
//     X-Method-Override, X-Original-URL, X-Rewrite-URL, in the same spellings) are dropped,
//     since the policy decided on the request's own method and path; an API may opt out with
//     forward_override_headers;
//   - the identity headers and forward_claims are set, and the Authorization header the
//     gateway checked is forwarded (also when the client named it in Connection).

// overrideHeaders let a client ask some upstreams for another method or path than the request
// line's, which is the one the policy checked.
var overrideHeaders = [...]string{
	"x-http-method-override", "x-http-method", "x-method-override", "x-original-url", "x-rewrite-url",
}

// checkInboundHeaders returns why a request's headers must be refused, if they must.
func checkInboundHeaders(h http.Header) (reason string, ok bool) {
	if len(h["Authorization"]) > 1 {
		return "send exactly one Authorization header", false
	}
	for _, v := range h["Upgrade"] {
		for proto := range strings.SplitSeq(v, ",") {
			if p := strings.TrimSpace(proto); p != "" && !strings.EqualFold(p, "websocket") {
				return "only websocket upgrades are supported", false
			}
		}
	}
	return "", true
}

// forwarding carries what the checks decided about one request to its route's Rewrite. It
// is the request's context itself (one allocation for both), found with forwardingFrom.
type forwarding struct {
	context.Context
	id     *token.Identity
	policy *compiledPolicy
}

type forwardingKey struct{}

func (f *forwarding) Value(key any) any {
	if key == (forwardingKey{}) {
		return f
	}
	return f.Context.Value(key)
}

func forwardingFrom(ctx context.Context) *forwarding {
	f, _ := ctx.Value(forwardingKey{}).(*forwarding)
	return f
}

// rewriteHeaders applies the outbound rules to pr.Out; see the comment at the top of the file.
func rewriteHeaders(pr *httputil.ProxyRequest, rt *route, fwd *forwarding) {
	out := pr.Out.Header
	for name := range out {
		if rt.setsHeader(name) || !rt.forwardOverrides && isOverrideHeader(name) {
			delete(out, name)
		}
	}
	if auth := pr.In.Header["Authorization"]; auth != nil {
		out["Authorization"] = auth
	}
	setIdentityHeaders(out, rt, fwd.id, fwd.policy)
}

// setsHeader reports whether name, in any spelling, is a header the gateway sets for rt.
func (rt *route) setsHeader(name string) bool {
	const prefix = adminapi.HeaderPrefix
	if len(name) >= len(prefix) && sameHeaderName(name[:len(prefix)], prefix) {
		return true
	}
	for i := range rt.forward {
		if sameHeaderName(name, rt.forward[i].header) {
			return true
		}
	}
	return false
}

func isOverrideHeader(name string) bool {
	for _, o := range overrideHeaders {
		if sameHeaderName(name, o) {
			return true
		}
	}
	return false
}

// sameHeaderName compares header names as CGI-style upstreams see them: ASCII letters in any
// case, "_" and "-" alike.
func sameHeaderName(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if headerNameFold(a[i]) != headerNameFold(b[i]) {
			return false
		}
	}
	return true
}

func headerNameFold(c byte) byte {
	switch {
	case c == '_':
		return '-'
	case 'A' <= c && c <= 'Z':
		return c + 'a' - 'A'
	}
	return c
}
