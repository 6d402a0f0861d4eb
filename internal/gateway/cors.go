package gateway

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/accesslog"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/metrics"
)

// corsPolicy is an API's CORS settings (adminapi.CORS) prepared for the request path when
// the snapshot is built: origins in a set and a list of wildcard patterns, header values
// joined once.
type corsPolicy struct {
	anyOrigin   bool
	origins     map[string]struct{}
	wildcards   []adminapi.OriginPattern
	methods     methodSet // zero: any of adminapi.Methods
	anyHeader   bool
	headers     map[string]struct{} // lower case
	expose      []string            // Access-Control-Expose-Headers, joined
	credentials bool
	maxAge      []string // Access-Control-Max-Age; nil: not sent
}

var (
	varyOrigin    = []string{"Origin"}
	varyPreflight = []string{"Origin, Access-Control-Request-Method, Access-Control-Request-Headers"}
	valueTrue     = []string{"true"}
	valueAny      = []string{"*"}
)

// compileCORS prepares c; nil for an API without CORS.
func compileCORS(c *adminapi.CORS) *corsPolicy {
	if c == nil {
		return nil
	}
	p := &corsPolicy{origins: map[string]struct{}{}, headers: map[string]struct{}{}, credentials: c.AllowCredentials}
	for _, o := range c.AllowedOrigins {
		if o == "*" {
			p.anyOrigin = true
			continue
		}
		pat, err := adminapi.ParseOriginPattern(o)
		if err != nil {
			continue // validated when stored
		}
		if pat.Wildcard {
			p.wildcards = append(p.wildcards, pat)
		} else {
			p.origins[o] = struct{}{}
		}
	}
	for _, m := range c.AllowedMethods {
		p.methods |= methodBit(m)
	}
	for _, h := range append(append([]string{}, adminapi.CORSAlwaysAllowedHeaders...), c.AllowedHeaders...) {
		if h == "*" {
			p.anyHeader = true
		}
		p.headers[strings.ToLower(h)] = struct{}{}
	}
	p.expose = []string{strings.Join(append(append([]string{}, adminapi.CORSAlwaysExposed...), c.ExposedHeaders...), ", ")}
	if c.MaxAge > 0 {
		p.maxAge = []string{strconv.FormatInt(int64(c.MaxAge.D().Seconds()), 10)}
	}
	return p
}

func (p *corsPolicy) originAllowed(origin string) bool {
	if origin == "" {
		return false
	}
	if p.anyOrigin {
		return true
	}
	if _, ok := p.origins[origin]; ok {
		return true
	}
	for i := range p.wildcards {
		if p.wildcards[i].Matches(origin) {
			return true
		}
	}
	return false
}

// isPreflight reports whether r is a CORS preflight: OPTIONS with Origin and
// Access-Control-Request-Method.
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != ""
}

// allowOrigin sets Access-Control-Allow-Origin (and -Credentials) for an allowed origin.
func (p *corsPolicy) allowOrigin(h http.Header, origin string) {
	if p.anyOrigin && !p.credentials {
		h["Access-Control-Allow-Origin"] = valueAny
	} else {
		h["Access-Control-Allow-Origin"] = []string{origin}
	}
	if p.credentials {
		h["Access-Control-Allow-Credentials"] = valueTrue
	}
}

// decorate sets the CORS headers of an answer to a request (not a preflight) from origin:
// every answer of the API, refusals included, so that the application can read them.
func (p *corsPolicy) decorate(h http.Header, origin string) {
	h["Vary"] = append(h["Vary"], varyOrigin...)
	if !p.originAllowed(origin) {
		return
	}
	p.allowOrigin(h, origin)
	h["Access-Control-Expose-Headers"] = p.expose
}

// preflight decides a preflight and sets the headers of its answer; false means refused
// (then no Access-Control-* header is set).
func (p *corsPolicy) preflight(h http.Header, r *http.Request) bool {
	h["Vary"] = append(h["Vary"], varyPreflight...)
	origin := r.Header.Get("Origin")
	method := r.Header.Get("Access-Control-Request-Method")
	if !p.originAllowed(origin) || !adminapi.IsToken(method) {
		return false
	}
	if m := methodBit(method); m == otherMethod || !p.methods.allows(m) {
		return false
	}
	requested := strings.Join(r.Header.Values("Access-Control-Request-Headers"), ",")
	if !p.anyHeader {
		for name := range strings.SplitSeq(requested, ",") {
			name = strings.ToLower(strings.TrimSpace(name))
			if name == "" {
				continue
			}
			if _, ok := p.headers[name]; !ok {
				return false
			}
		}
	}
	p.allowOrigin(h, origin)
	h["Access-Control-Allow-Methods"] = []string{method}
	if strings.TrimSpace(requested) != "" {
		h["Access-Control-Allow-Headers"] = []string{headerSafe(requested)}
	}
	if p.maxAge != nil {
		h["Access-Control-Max-Age"] = p.maxAge
	}
	return true
}

// answerPreflight answers a preflight to an API with CORS (d.route.cors): 204 with the
// Access-Control-Allow-* headers, or 403 without them. No token is asked for, none is
// checked, nothing is proxied.
// corsRefused is the answer to a preflight whose origin, method or headers the API's CORS
// does not allow: without CORS headers, so the browser refuses the call.
func corsRefused() *refusal {
	return &refusal{outcome: metrics.Forbidden, status: http.StatusForbidden, code: "cors_refused",
		description: "this origin, method or request header is not allowed to call this API from a browser"}
}

func (g *Gateway) answerPreflight(w http.ResponseWriter, r *http.Request, rec *accesslog.Record, d *decision) {
	if !d.route.cors.preflight(w.Header(), r) {
		g.refuse(w, rec, d, corsRefused())
		return
	}
	d.route.metrics.Outcomes[metrics.Preflight].Inc()
	d.log(rec, metrics.Preflight)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}
