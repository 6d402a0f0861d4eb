package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/accesslog"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/metrics"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
)

// serveProxy is the data plane: the checks (check.go), then the upstream. The Authorization
// header is forwarded unchanged, so an upstream can check the token again if it wants to (as
// Tyk and Kong do by default).
func (g *Gateway) serveProxy(w http.ResponseWriter, r *http.Request, rec *accesslog.Record) {
	rec.Request(r)
	d, ref := g.check(r, g.snap.Load())
	if d.route != nil && d.route.cors != nil {
		if d.preflight {
			g.answerPreflight(w, r, rec, &d)
			return
		}
		d.route.cors.decorate(w.Header(), r.Header.Get("Origin"))
	}
	if ref != nil {
		g.refuse(w, rec, &d, ref)
		return
	}
	if d.limit.Report {
		setLimitHeaders(w.Header(), &d.limit)
	}
	rt := d.route
	rt.metrics.Outcomes[metrics.Forwarded].Inc()
	d.log(rec, metrics.Forwarded)
	out := r.WithContext(&forwarding{Context: r.Context(), id: d.id, policy: d.policy})
	if d.forwardPath != "" {
		u := *r.URL
		u.Path, u.RawPath = d.forwardPath, ""
		out.URL = &u
	}
	start := time.Now()
	rt.proxy.ServeHTTP(w, out)
	elapsed := time.Since(start)
	rt.metrics.Upstream.Observe(elapsed.Seconds())
	if rec != nil {
		rec.Upstream = elapsed
	}
}

// bearerToken extracts the token of an "Authorization: Bearer <token>" header (the scheme is
// case-insensitive). present is false when there is no Bearer credential at all.
func bearerToken(h string) (token string, present bool) {
	const scheme = "bearer "
	if len(h) < len(scheme) || !strings.EqualFold(h[:len(scheme)], scheme) {
		return "", strings.EqualFold(strings.TrimSpace(h), "bearer")
	}
	return strings.TrimSpace(h[len(scheme):]), true
}

// setIdentityHeaders sets the gateway's identity headers and the API's forward_claims on an
// outbound header set from which every client spelling of them is gone (rewriteHeaders).
func setIdentityHeaders(h http.Header, rt *route, id *token.Identity, p *compiledPolicy) {
	v := make([]string, 4) // one allocation for the four values
	v[0], v[1], v[2], v[3] = headerSafe(id.Subject), headerSafe(id.ClientID), headerSafe(strings.Join(id.Scopes, " ")), p.id
	h[adminapi.HeaderSubject], h[adminapi.HeaderClientID], h[adminapi.HeaderScope], h[adminapi.HeaderPolicy] = v[0:1:1], v[1:2:2], v[2:3:3], v[3:4:4]
	for _, f := range rt.forward {
		if v, ok := claimString(id.Claims[f.claim]); ok {
			h[f.header] = []string{v}
		}
	}
}

// claimString renders a claim as a header value: strings as they are, numbers and booleans
// in JSON form, arrays of strings joined with spaces, anything else as JSON.
func claimString(v any) (string, bool) {
	var s string
	switch c := v.(type) {
	case nil:
		return "", false
	case string:
		s = c
	case float64:
		s = strconv.FormatFloat(c, 'f', -1, 64)
	case json.Number:
		s = c.String()
	case bool:
		s = strconv.FormatBool(c)
	case []string:
		s = strings.Join(c, " ")
	case []any:
		parts := make([]string, 0, len(c))
		for _, e := range c {
			str, ok := e.(string)
			if !ok {
				b, _ := json.Marshal(c)
				return headerSafe(string(b)), true
			}
			parts = append(parts, str)
		}
		s = strings.Join(parts, " ")
	default:
		b, err := json.Marshal(c)
		if err != nil {
			return "", false
		}
		s = string(b)
	}
	return headerSafe(s), true
}

// headerSafe drops the characters an HTTP header value cannot carry.
func headerSafe(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return strings.Map(func(r rune) rune {
				if r < 0x20 && r != '\t' || r == 0x7f {
					return -1
				}
				return r
			}, s)
		}
	}
	return s
}

// reverseProxy builds the upstream side of a route.
func (b *snapshotBuilder) reverseProxy(rt *route, target *url.URL) *httputil.ReverseProxy {
	listenPath, strip := rt.listenPath, rt.strip && rt.listenPath != "/"
	hasPrefix := strings.HasPrefix
	if rt.caseInsensitive {
		hasPrefix = hasPrefixFold // the request matched the listen path in another case
	}
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			rewriteHeaders(pr, rt, forwardingFrom(pr.In.Context()))
			b.tracer.Outbound(pr.In.Context(), pr.Out.Header) // W3C trace context (tracing.go)
			if strip {
				u := pr.Out.URL
				u.Path = stripPrefix(u.Path, len(listenPath))
				if hasPrefix(u.RawPath, listenPath) {
					u.RawPath = stripPrefix(u.RawPath, len(listenPath))
				} else {
					u.RawPath = "" // re-encode from Path
				}
			}
			pr.SetURL(target)
			pr.SetXForwarded()
		},
		ModifyResponse: dropUpstreamCORS(rt),
		Transport:      b.transport,
		BufferPool:     b.bufferPool,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
				return // the client went away; nobody to answer
			}
			rt.metrics.UpstreamErrors.Inc()
			b.log.Warn("upstream request failed", "api", rt.name, "error", err)
			(&refusal{status: http.StatusBadGateway, code: "bad_gateway", description: "the upstream service did not answer"}).write(w)
		},
	}
}

// dropUpstreamCORS removes the upstream's Access-Control-* headers from the answers of an API
// with CORS: the gateway sets them (cors.go), and a second Access-Control-Allow-Origin would
// make the browser refuse the answer.
func dropUpstreamCORS(rt *route) func(*http.Response) error {
	if rt.cors == nil {
		return nil
	}
	return func(resp *http.Response) error {
		for name := range resp.Header {
			if len(name) > 15 && strings.EqualFold(name[:15], "Access-Control-") {
				delete(resp.Header, name)
			}
		}
		return nil
	}
}

// stripPrefix cuts the listen path (n bytes, which routing matched) off p.
func stripPrefix(p string, n int) string {
	p = p[min(n, len(p)):]
	if p == "" || p[0] != '/' {
		p = "/" + p
	}
	return p
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// newTransport is the upstream transport shared by every route: keep-alive connections
// enough for many concurrent clients per upstream, bounded dials and handshakes. The
// environment's HTTP proxy is not used: upstream_url says where to go. dialer is newDialer's.
func newTransport(dialer *net.Dialer) *http.Transport {
	return &http.Transport{
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// bufferPool recycles the 32 KiB buffers ReverseProxy copies response bodies with (without
// it, every request allocates one). It pools array pointers so that Put allocates nothing.
type bufferPool struct{ pool sync.Pool }

const proxyBufferSize = 32 * 1024

func newBufferPool() *bufferPool {
	return &bufferPool{pool: sync.Pool{New: func() any { return new([proxyBufferSize]byte) }}}
}

func (p *bufferPool) Get() []byte { return p.pool.Get().(*[proxyBufferSize]byte)[:] }

func (p *bufferPool) Put(b []byte) {
	if len(b) == proxyBufferSize {
		p.pool.Put((*[proxyBufferSize]byte)(b))
	}
}
