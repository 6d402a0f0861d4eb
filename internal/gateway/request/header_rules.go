package request

import (
	"context"
	"net/http"
	"net/http/httputil"
	"strings"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/config"
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
// Once routed, a request whose query carries _method (hasMethodOverrideParam), which Laravel,
// Symfony and Rails read as the method, is refused (400) unless the API sets
// forward_override_headers: the query reaches the upstream as sent, and the decision endpoint
// must give the proxy's verdict, so refusing is the one answer both can give.
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
//   - every client spelling of the forwarding headers the gateway sets or an upstream reads as
//     the client's address, host, scheme or prefix (forwardingHeaders: X-Forwarded-For,
//     X_Forwarded_Host, X-Real-IP, ...) is dropped: the gateway sets X-Forwarded-For, -Host
//     and -Proto itself, and an upstream that reads another spelling would trust the client;
//   - the identity headers and forward_claims are set, and the Authorization header the
//     gateway checked is forwarded (also when the client named it in Connection).

// overrideHeaders let a client ask some upstreams for another method or path than the request
// line's, which is the one the policy checked.
var overrideHeaders = [...]string{
	"x-http-method-override", "x-http-method", "x-method-override", "x-original-url", "x-rewrite-url",
}

// methodOverrideParam is the query parameter Laravel, Symfony and Rails (Rack::MethodOverride)
// read as the request's method, refused unless the API forwards overrides; see
// hasMethodOverrideParam.
const methodOverrideParam = "_method"

// hasMethodOverrideParam reports whether a raw query carries methodOverrideParam as a
// framework would read its name: percent-decoded ("+" as a space), in any case, with the
// leading spaces PHP drops gone and the " ", "." and "[" PHP turns into "_" taken as "_", and
// also as an array ("_method[]"). Parameters are split on "&" and ";". It allocates nothing.
func hasMethodOverrideParam(rawQuery string) bool {
	for len(rawQuery) > 0 {
		var name string
		i := strings.IndexAny(rawQuery, "&;")
		if i < 0 {
			name, rawQuery = rawQuery, ""
		} else {
			name, rawQuery = rawQuery[:i], rawQuery[i+1:]
		}
		if j := strings.IndexByte(name, '='); j >= 0 {
			name = name[:j]
		}
		if isMethodOverrideName(name) {
			return true
		}
	}
	return false
}

func isMethodOverrideName(raw string) bool {
	n, leading := 0, true // n: bytes of methodOverrideParam matched so far
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '+':
			c = ' '
		case c == '%' && i+2 < len(raw) && isHex(raw[i+1]) && isHex(raw[i+2]):
			c = unhex(raw[i+1])<<4 | unhex(raw[i+2])
			i += 2
		}
		if c == ' ' && leading {
			continue
		}
		leading = false
		if n == len(methodOverrideParam) {
			return c == '['
		}
		if c == ' ' || c == '.' || c == '[' {
			c = '_'
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != methodOverrideParam[n] {
			return false
		}
		n++
	}
	return n == len(methodOverrideParam)
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// forwardingHeaders are dropped in every spelling; ReverseProxy.SetXForwarded then sets
// X-Forwarded-For, -Host and -Proto.
var forwardingHeaders = [...]string{
	"x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-forwarded-port", "x-forwarded-prefix",
	"x-forwarded-server", "forwarded", "x-real-ip",
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
	policy *config.Policy
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
func rewriteHeaders(pr *httputil.ProxyRequest, rt *config.Route, fwd *forwarding) {
	out := pr.Out.Header
	for name := range out {
		if setsHeader(rt, name) || isForwardingHeader(name) || !rt.ForwardOverrides && isOverrideHeader(name) {
			delete(out, name)
		}
	}
	if auth := pr.In.Header["Authorization"]; auth != nil {
		out["Authorization"] = auth
	}
	setIdentityHeaders(out, rt, fwd.id, fwd.policy)
}

// setsHeader reports whether name, in any spelling, is a header the gateway sets for rt.
func setsHeader(rt *config.Route, name string) bool {
	const prefix = adminapi.HeaderPrefix
	if len(name) >= len(prefix) && sameHeaderName(name[:len(prefix)], prefix) {
		return true
	}
	for i := range rt.Forward {
		if sameHeaderName(name, rt.Forward[i].Header) {
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

func isForwardingHeader(name string) bool {
	for _, f := range forwardingHeaders {
		if sameHeaderName(name, f) {
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
