package adminapi

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// CORS lets browser applications on other origins call a protected API
// (https://fetch.spec.whatwg.org/#http-cors-protocol). With it set, the gateway answers a
// preflight (OPTIONS with Origin and Access-Control-Request-Method) itself, without a token:
// 204 with the Access-Control-Allow-* headers when the origin, the method and the request
// headers are allowed, 403 without them otherwise. Every other answer to an allowed origin,
// refusals (401, 403, 429) included, carries Access-Control-Allow-Origin and exposes
// CORSAlwaysExposed, so the application can read why it was refused. Answers vary on Origin.
type CORS struct {
	// AllowedOrigins are origins ("https://app.example.com", "http://localhost:3000"), or
	// wildcard origins whose first label is "*" ("https://*.example.com" allows
	// https://a.example.com and https://a.b.example.com, not https://example.com), or "*"
	// alone for any origin (not with AllowCredentials). An origin is a scheme (http or
	// https), a host and an optional port: no path, not even "/".
	AllowedOrigins []string `json:"allowed_origins"`
	// AllowedMethods the application may use; empty means any of Methods.
	AllowedMethods []string `json:"allowed_methods,omitempty"`
	// AllowedHeaders the application may send besides the CORS-safelisted ones and
	// Authorization and DPoP, which are always allowed; "*" alone allows any.
	AllowedHeaders []string `json:"allowed_headers,omitempty"`
	// ExposedHeaders of the upstream's answers the application may read, besides
	// CORSAlwaysExposed.
	ExposedHeaders []string `json:"exposed_headers,omitempty"`
	// AllowCredentials lets the browser send cookies and client certificates and read the
	// answer (Access-Control-Allow-Credentials: true). Not with the origin "*".
	AllowCredentials bool `json:"allow_credentials,omitempty"`
	// MaxAge is how long a browser may reuse a preflight's answer; zero sends no
	// Access-Control-Max-Age (browsers then keep it 5 seconds). At most MaxCORSMaxAge.
	MaxAge Duration `json:"max_age,omitempty"`
}

// MaxCORSMaxAge bounds CORS.MaxAge: Firefox keeps a preflight at most a day (Chromium two
// hours).
const MaxCORSMaxAge = 24 * time.Hour

// CORSAlwaysAllowedHeaders may always be sent: the gateway needs them.
var CORSAlwaysAllowedHeaders = []string{"Authorization", "DPoP"}

// CORSAlwaysExposed are the headers of the gateway's own answers an application may read.
var CORSAlwaysExposed = []string{"WWW-Authenticate", "Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"}

// OriginPattern is an allowed origin as the gateway compares it.
type OriginPattern struct {
	Scheme string
	// Host is the host ("app.example.com", "[::1]"); for a wildcard, the suffix the origin's
	// host must end with, dot included (".example.com").
	Host     string
	Wildcard bool
	// Port is ":8443", or "" for the scheme's default.
	Port string
}

// Matches reports whether origin (as a browser sends it: lower-case scheme and host) is
// allowed by the pattern.
func (p OriginPattern) Matches(origin string) bool {
	scheme, rest, ok := strings.Cut(origin, "://")
	if !ok || scheme != p.Scheme {
		return false
	}
	host, port := rest, ""
	if i := strings.LastIndexByte(rest, ':'); i >= 0 && !strings.HasSuffix(rest, "]") {
		host, port = rest[:i], rest[i:]
	}
	if port != p.Port {
		return false
	}
	if !p.Wildcard {
		return host == p.Host
	}
	label := strings.TrimSuffix(host, p.Host)
	return len(label) < len(host) && label != "" && !strings.HasPrefix(label, ".") && !strings.Contains(label, "..")
}

// ParseOriginPattern checks an allowed origin (not "*") and returns it as the gateway
// compares it.
func ParseOriginPattern(s string) (OriginPattern, error) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || (scheme != "http" && scheme != "https") {
		return OriginPattern{}, fmt.Errorf("%q is not an origin: it must start with https:// or http:// (in lower case)", s)
	}
	if rest == "" || strings.ContainsAny(rest, "/?#@\\ ") || hasControlOrSpace(rest) {
		return OriginPattern{}, fmt.Errorf("%q is not an origin: an origin is a scheme, a host and an optional port, "+
			"without path (not even \"/\"), query or user, e.g. https://app.example.com", s)
	}
	if rest != strings.ToLower(rest) {
		return OriginPattern{}, fmt.Errorf("%q is not an origin as browsers send it: write the host in lower case", s)
	}
	host, port, err := net.SplitHostPort(rest)
	if err != nil {
		host, port = rest, ""
		if strings.Contains(strings.Trim(rest, "[]"), ":") && !strings.HasPrefix(rest, "[") {
			return OriginPattern{}, fmt.Errorf("%q is not an origin: write an IPv6 address in brackets", s)
		}
	} else {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
			return OriginPattern{}, fmt.Errorf("%q is not an origin: the port must be a number from 1 to 65535", s)
		}
		if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
			return OriginPattern{}, fmt.Errorf("%q: browsers leave the default port out of Origin; remove :%s", s, port)
		}
		port = ":" + port
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
	}
	p := OriginPattern{Scheme: scheme, Host: host, Port: port}
	if strings.Contains(host, "*") {
		suffix, ok := strings.CutPrefix(host, "*.")
		if !ok || strings.Contains(suffix, "*") || !strings.Contains(suffix, ".") {
			return OriginPattern{}, fmt.Errorf("%q: a wildcard origin has \"*\" as its whole first label and at least "+
				"two labels after it, e.g. https://*.example.com", s)
		}
		p.Host, p.Wildcard = "."+suffix, true
	}
	if strings.Trim(p.Host, ".") == "" || strings.Contains(p.Host, "..") {
		return OriginPattern{}, fmt.Errorf("%q is not an origin: the host is empty or has an empty label", s)
	}
	return p, nil
}

func (c *CORS) validate(prefix string) error {
	if len(c.AllowedOrigins) == 0 {
		return FieldError(prefix+".allowed_origins", "must name at least one origin, or \"*\"")
	}
	if err := validateStrings(prefix+".allowed_origins", c.AllowedOrigins); err != nil {
		return err
	}
	for i, o := range c.AllowedOrigins {
		field := fmt.Sprintf("%s.allowed_origins[%d]", prefix, i)
		if o == "*" {
			if len(c.AllowedOrigins) > 1 {
				return FieldError(field, "\"*\" allows every origin: list it alone")
			}
			if c.AllowCredentials {
				return FieldError(prefix+".allow_credentials", "cannot be true with the origin \"*\": browsers refuse "+
					"credentials for any origin; list the origins instead")
			}
			continue
		}
		if o == "null" {
			return FieldError(field, "the origin \"null\" is sent by sandboxed frames and local files, which any page "+
				"can create: it cannot be allowed")
		}
		if _, err := ParseOriginPattern(o); err != nil {
			return FieldError(field, "%s", err.Error())
		}
	}
	for i, m := range c.AllowedMethods {
		if !contains(Methods, m) {
			return FieldError(fmt.Sprintf("%s.allowed_methods[%d]", prefix, i),
				"%q is not an HTTP method; use upper case: %s", m, strings.Join(Methods, ", "))
		}
	}
	for _, list := range []struct {
		field  string
		values []string
	}{{"allowed_headers", c.AllowedHeaders}, {"exposed_headers", c.ExposedHeaders}} {
		if err := validateStrings(prefix+"."+list.field, list.values); err != nil {
			return err
		}
		for i, h := range list.values {
			field := fmt.Sprintf("%s.%s[%d]", prefix, list.field, i)
			if h == "*" && list.field == "allowed_headers" {
				if len(list.values) > 1 {
					return FieldError(field, "\"*\" allows every header: list it alone")
				}
				continue
			}
			if h == "*" {
				return FieldError(field, "\"*\" is not an HTTP header name: list the headers the application reads")
			}
			if !IsToken(h) {
				return FieldError(field, "%q is not an HTTP header name", h)
			}
		}
	}
	return validateDuration(prefix+".max_age", c.MaxAge.D(), 0, MaxCORSMaxAge)
}
