package config

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

// CORSPolicy is an API's CORS settings (adminapi.CORS) prepared for the request path when
// the snapshot is built: origins in a set and a list of wildcard patterns, header values
// joined once.
type CORSPolicy struct {
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
func compileCORS(c *adminapi.CORS) *CORSPolicy {
	if c == nil {
		return nil
	}
	p := &CORSPolicy{origins: map[string]struct{}{}, headers: map[string]struct{}{}, credentials: c.AllowCredentials}
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

func (p *CORSPolicy) OriginAllowed(origin string) bool {
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

// allowOrigin sets Access-Control-Allow-Origin (and -Credentials) for an allowed origin.
func (p *CORSPolicy) allowOrigin(h http.Header, origin string) {
	if p.anyOrigin && !p.credentials {
		h["Access-Control-Allow-Origin"] = valueAny
	} else {
		h["Access-Control-Allow-Origin"] = []string{origin}
	}
	if p.credentials {
		h["Access-Control-Allow-Credentials"] = valueTrue
	}
}

// Decorate sets the CORS headers of an answer to a request (not a preflight) from origin:
// every answer of the API, refusals included, so that the application can read them.
func (p *CORSPolicy) Decorate(h http.Header, origin string) {
	h["Vary"] = append(h["Vary"], varyOrigin...)
	if !p.OriginAllowed(origin) {
		return
	}
	p.allowOrigin(h, origin)
	h["Access-Control-Expose-Headers"] = p.expose
}

// Preflight decides a preflight and sets the headers of its answer; false means refused
// (then no Access-Control-* header is set).
func (p *CORSPolicy) Preflight(h http.Header, r *http.Request) bool {
	h["Vary"] = append(h["Vary"], varyPreflight...)
	origin := r.Header.Get("Origin")
	method := r.Header.Get("Access-Control-Request-Method")
	if !p.OriginAllowed(origin) || !adminapi.IsToken(method) {
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
		h["Access-Control-Allow-Headers"] = []string{HeaderSafe(requested)}
	}
	if p.maxAge != nil {
		h["Access-Control-Max-Age"] = p.maxAge
	}
	return true
}

// HeaderSafe drops the characters an HTTP header value cannot carry.
func HeaderSafe(s string) string {
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
