package request

import (
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/accesslog"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/metrics"
)

// The decision endpoint (forward-auth): an edge proxy that already routes the traffic (nginx
// auth_request, Traefik ForwardAuth, Envoy ext_authz, Caddy forward_auth) asks whether a
// request may pass. The answer comes from the same check as the proxy path (check.go); it is
// 200 with an empty body and the identity headers to copy upstream, or the refusal the proxy
// would have written (401 with WWW-Authenticate, 403, 429 with Retry-After and
// X-RateLimit-*). Nothing is proxied.
//
// The request decided on is read, in this order:
//   - when the decision request's path goes on below the prefix (Envoy ext_authz with
//     path_prefix): its own method and that path; the request line is the proxy's own;
//   - otherwise, from a trusted proxy (Options.TrustedProxies): the method from
//     X-Forwarded-Method or X-Original-Method, the URI from X-Forwarded-Uri, X-Original-URI or
//     the path and query of X-Original-URL (Traefik and Caddy, nginx's documented example,
//     ingress-nginx), the host (for APIs that name hosts) from X-Forwarded-Host. A proxy sets one pair and usually
//     passes the client's other headers through, so a name sent twice, or both names with
//     different values, is refused (400): a client cannot pick the path decided on.
//   - From anyone else the forwarded headers are ignored, so they cannot change what is
//     decided.
//
// A decision request that names no path is refused (403 invalid_request) rather than passed.
// Every value of a forwarded URI header is checked as a request target (path_rules.go: length,
// segments, a raw "#") and must be one URI, without a comma or whitespace.

// DefaultDecisionPath is where the decision endpoint is served on the proxy listener, when
// Options.DecisionPath is empty. Users' proxy configurations name it; it does not change.
const DefaultDecisionPath = adminapi.DefaultDecisionPath

// DefaultTrustedProxies are the addresses whose forwarded headers a decision believes when
// Options.TrustedProxies is nil: loopback only.
var DefaultTrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// serveDecision answers a forward-auth request.
func (c *Checker) serveDecision(w http.ResponseWriter, r *http.Request, below string, rec *accesslog.Record) {
	rec.Request(r)
	if rec != nil {
		rec.Decision = true
	}
	orig, ref := c.decisionSubject(r, below)
	if ref != nil {
		c.refuse(w, rec, &decision{}, ref)
		return
	}
	rec.Request(orig)
	// A preflight is recognised only from a trusted proxy's X-Forwarded-Method (or a path
	// below the endpoint): from anyone else the method is the decision request's own.
	d, ok := c.admit(w, orig, rec)
	if !ok {
		return
	}
	h := w.Header()
	setIdentityHeaders(h, d.route, d.id, d.policy)
	h.Set("Cache-Control", "no-store")
	d.route.Metrics.Outcomes[metrics.Forwarded].Inc()
	d.log(rec, metrics.Forwarded)
	w.WriteHeader(http.StatusOK)
}

// decisionSubject returns the request a decision is about: r with the method and URL of the
// original request (see the comment at the top of the file). below is r's path after the
// decision prefix.
func (c *Checker) decisionSubject(r *http.Request, below string) (*http.Request, *refusal) {
	method, uri, host := r.Method, "", ""
	switch {
	case below != "":
		uri = below
		if r.URL.RawQuery != "" {
			uri += "?" + r.URL.RawQuery
		}
	case c.trustedProxy(r.RemoteAddr):
		for _, name := range forwardedURIHeaders {
			for _, v := range r.Header[name] {
				if ref := checkForwardedURI(v); ref != nil {
					return nil, ref
				}
			}
		}
		m, err := forwardedValue(r.Header, "X-Forwarded-Method", "X-Original-Method")
		if err != nil {
			return nil, badRequest(err.Error())
		}
		if m != "" {
			method = m
		}
		if uri, err = forwardedValue(r.Header, forwardedURIHeaders[:]...); err != nil {
			return nil, badRequest(err.Error())
		}
		if host, err = forwardedValue(r.Header, "X-Forwarded-Host"); err != nil {
			return nil, badRequest(err.Error())
		}
	}
	if uri == "" {
		return nil, &refusal{outcome: metrics.BadRequest, status: http.StatusForbidden, code: "invalid_request",
			description: "the decision request names no request: send X-Forwarded-Method and X-Forwarded-Uri " +
				"(or X-Original-Method and X-Original-URI) from a trusted proxy, or the path after " + c.decisionPath}
	}
	if !adminapi.IsToken(method) {
		return nil, badRequest("the forwarded method is not an HTTP method")
	}
	u, err := url.ParseRequestURI(uri)
	if err != nil || u.Host != "" || !strings.HasPrefix(u.Path, "/") {
		return nil, badRequest("the forwarded URI must be an origin-form request target such as /orders/1?x=y")
	}
	orig := new(http.Request)
	*orig = *r
	orig.Method, orig.URL, orig.RequestURI = method, u, uri
	if host != "" {
		orig.Host = host
	}
	return orig, nil
}

// forwardedURIHeaders name the original request's URI, in the order decisionSubject reads them.
var forwardedURIHeaders = [...]string{"X-Forwarded-Uri", "X-Original-Uri", "X-Original-Url"}

// forwardedValue is the one value the headers names carry between them (X-Original-URL, an
// absolute URL, stands for its path and query): "" when none is sent, an error when one is
// sent twice or two disagree.
func forwardedValue(h http.Header, names ...string) (string, error) {
	value, from := "", ""
	for _, n := range names {
		vs := h.Values(n)
		if len(vs) == 0 {
			continue
		}
		if len(vs) > 1 {
			return "", fmt.Errorf("%s is sent more than once", n)
		}
		v := vs[0]
		if n == "X-Original-Url" {
			if u, err := url.Parse(v); err == nil && u.IsAbs() {
				v = u.RequestURI()
			}
		}
		if from != "" && v != value {
			return "", fmt.Errorf("%s disagrees with %s", n, from)
		}
		value, from = v, n
	}
	return value, nil
}

// decisionPathBelow reports whether path is the decision endpoint or below it, and returns
// the part below it ("" for the endpoint itself).
func (c *Checker) decisionPathBelow(path string) (below string, ok bool) {
	if !strings.HasPrefix(path, c.decisionPath) {
		return "", false
	}
	rest := path[len(c.decisionPath):]
	if rest != "" && rest[0] != '/' {
		return "", false
	}
	return rest, true
}

// trustedProxy reports whether remoteAddr (ip:port) is in the trusted proxies.
func (c *Checker) trustedProxy(remoteAddr string) bool {
	ap, err := netip.ParseAddrPort(remoteAddr)
	return err == nil && c.trusted(ap.Addr().Unmap())
}

func (c *Checker) trusted(ip netip.Addr) bool {
	for _, p := range c.trustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// clientAddr is the address a request's failures are counted under: the peer's, or, when
// the peer is a trusted proxy, the nearest address in X-Forwarded-For that is not one. ok is
// false when a trusted proxy names no client (then clients cannot be told apart and the
// limit does not apply, rather than let one client lock all of them out).
func (c *Checker) clientAddr(r *http.Request) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}, false
	}
	addr := ap.Addr().Unmap()
	if !c.trusted(addr) {
		return addr, true
	}
	xff := r.Header.Values("X-Forwarded-For")
	for i := len(xff) - 1; i >= 0; i-- {
		hops := strings.Split(xff[i], ",")
		for j := len(hops) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[j]))
			if err != nil {
				return netip.Addr{}, false
			}
			if a = a.Unmap(); !c.trusted(a) {
				return a, true
			}
		}
	}
	return netip.Addr{}, false
}
