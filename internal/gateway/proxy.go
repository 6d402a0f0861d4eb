package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/accesslog"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/metrics"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/config"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/tracing"
)

// serveProxy is the data plane: the checks (check.go), then the upstream. The Authorization
// header is forwarded unchanged, so an upstream can check the token again if it wants to (as
// Tyk and Kong do by default).
func (g *Gateway) serveProxy(w http.ResponseWriter, r *http.Request, rec *accesslog.Record) {
	rec.Request(r)
	d, ref := g.check(r, g.config.Snapshot())
	if d.route != nil && d.route.CORS != nil {
		if d.preflight {
			g.answerPreflight(w, r, rec, &d)
			return
		}
		d.route.CORS.Decorate(w.Header(), r.Header.Get("Origin"))
	}
	if ref != nil {
		g.refuse(w, rec, &d, ref)
		return
	}
	if d.limit.Report {
		setLimitHeaders(w.Header(), &d.limit)
	}
	rt := d.route
	rt.Metrics.Outcomes[metrics.Forwarded].Inc()
	d.log(rec, metrics.Forwarded)
	out := r.WithContext(&forwarding{Context: r.Context(), id: d.id, policy: d.policy})
	if d.forwardPath != "" {
		u := *r.URL
		u.Path, u.RawPath = d.forwardPath, ""
		out.URL = &u
	}
	start := time.Now()
	rt.Proxy.ServeHTTP(w, out)
	elapsed := time.Since(start)
	rt.Metrics.Upstream.Observe(elapsed.Seconds())
	if rec != nil {
		rec.Upstream = elapsed
	}
}

// bearerToken extracts the token of an "Authorization: Bearer <token>" header (the scheme is
// case-insensitive). present is false when there is no Bearer credential at all.
func bearerToken(h string) (tok string, present bool) { return token.Bearer(h) }

// setIdentityHeaders sets the gateway's identity headers and the API's forward_claims on an
// outbound header set from which every client spelling of them is gone (rewriteHeaders).
func setIdentityHeaders(h http.Header, rt *config.Route, id *token.Identity, p *config.Policy) {
	v := make([]string, 4) // one allocation for the four values
	v[0], v[1], v[2], v[3] = config.HeaderSafe(id.Subject), config.HeaderSafe(id.ClientID), config.HeaderSafe(strings.Join(id.Scopes, " ")), p.ID
	h[adminapi.HeaderSubject], h[adminapi.HeaderClientID], h[adminapi.HeaderScope], h[adminapi.HeaderPolicy] = v[0:1:1], v[1:2:2], v[2:3:3], v[3:4:4]
	for _, f := range rt.Forward {
		if v, ok := claimString(id.Claims[f.Claim]); ok {
			h[f.Header] = []string{v}
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
				return config.HeaderSafe(string(b)), true
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
	return config.HeaderSafe(s), true
}

// upstreams builds the upstream side of every route, for the snapshot builder
// (config.Builder.ReverseProxy).
type upstreams struct {
	transport  http.RoundTripper
	tracer     *tracing.Tracer // nil when tracing is off
	log        *slog.Logger
	bufferPool httputil.BufferPool
}

// reverseProxy builds the upstream side of a route.
func (b *upstreams) reverseProxy(rt *config.Route, target *url.URL) *httputil.ReverseProxy {
	listenPath, strip := rt.ListenPath, rt.Strip && rt.ListenPath != "/"
	hasPrefix := strings.HasPrefix
	if rt.CaseInsensitive {
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
			rt.Metrics.UpstreamErrors.Inc()
			b.log.Warn("upstream request failed", "api", rt.Name, "error", err)
			(&refusal{status: http.StatusBadGateway, code: "bad_gateway", description: "the upstream service did not answer"}).write(w)
		},
	}
}

// dropUpstreamCORS removes the upstream's Access-Control-* headers from the answers of an API
// with CORS: the gateway sets them (config/cors.go), and a second Access-Control-Allow-Origin would
// make the browser refuse the answer.
func dropUpstreamCORS(rt *config.Route) func(*http.Response) error {
	if rt.CORS == nil {
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
