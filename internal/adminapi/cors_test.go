package adminapi

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCORSValidate(t *testing.T) {
	ok := CORS{AllowedOrigins: []string{"https://app.example.com", "http://localhost:3000", "https://*.example.com", "http://[::1]:8080", "http://127.0.0.1:5173"},
		AllowedMethods: []string{"GET", "PUT"}, AllowedHeaders: []string{"Content-Type"}, ExposedHeaders: []string{"ETag"},
		AllowCredentials: true, MaxAge: Duration(time.Hour)}
	if err := ok.validate("cors"); err != nil {
		t.Fatalf("valid CORS: %v", err)
	}
	for _, c := range []struct {
		name  string
		cors  CORS
		field string
		want  string
	}{
		{"no origin", CORS{}, "cors.allowed_origins", "at least one origin"},
		{"origin with a path", CORS{AllowedOrigins: []string{"https://a.example/path"}}, "cors.allowed_origins[0]", "without path"},
		{"origin with a slash", CORS{AllowedOrigins: []string{"https://ok.example", "https://a.example/"}}, "cors.allowed_origins[1]", "not even \"/\""},
		{"origin with a query", CORS{AllowedOrigins: []string{"https://a.example?x"}}, "cors.allowed_origins[0]", "is not an origin"},
		{"no scheme", CORS{AllowedOrigins: []string{"app.example.com"}}, "cors.allowed_origins[0]", "must start with https://"},
		{"other scheme", CORS{AllowedOrigins: []string{"ftp://a.example"}}, "cors.allowed_origins[0]", "must start with https://"},
		{"upper case", CORS{AllowedOrigins: []string{"https://App.example.com"}}, "cors.allowed_origins[0]", "lower case"},
		{"default port", CORS{AllowedOrigins: []string{"https://a.example:443"}}, "cors.allowed_origins[0]", "remove :443"},
		{"bad port", CORS{AllowedOrigins: []string{"https://a.example:99999"}}, "cors.allowed_origins[0]", "port"},
		{"user", CORS{AllowedOrigins: []string{"https://u@a.example"}}, "cors.allowed_origins[0]", "is not an origin"},
		{"null", CORS{AllowedOrigins: []string{"null"}}, "cors.allowed_origins[0]", "sandboxed"},
		{"wildcard inside", CORS{AllowedOrigins: []string{"https://a.*.example.com"}}, "cors.allowed_origins[0]", "whole first label"},
		{"wildcard TLD", CORS{AllowedOrigins: []string{"https://*.com"}}, "cors.allowed_origins[0]", "at least two labels"},
		{"wildcard partial", CORS{AllowedOrigins: []string{"https://*app.example.com"}}, "cors.allowed_origins[0]", "whole first label"},
		{"star and others", CORS{AllowedOrigins: []string{"*", "https://a.example"}}, "cors.allowed_origins[0]", "list it alone"},
		{"star with credentials", CORS{AllowedOrigins: []string{"*"}, AllowCredentials: true}, "cors.allow_credentials", "cannot be true"},
		{"lower-case method", CORS{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"get"}}, "cors.allowed_methods[0]", "upper case"},
		{"bad header", CORS{AllowedOrigins: []string{"*"}, AllowedHeaders: []string{"X Bad"}}, "cors.allowed_headers[0]", "not an HTTP header name"},
		{"star exposed", CORS{AllowedOrigins: []string{"*"}, ExposedHeaders: []string{"*"}}, "cors.exposed_headers[0]", "list the headers"},
		{"max age", CORS{AllowedOrigins: []string{"*"}, MaxAge: Duration(48 * time.Hour)}, "cors.max_age", "out of range"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var e *Error
			if err := c.cors.validate("cors"); !errors.As(err, &e) || e.Field != c.field || !strings.Contains(e.Message, c.want) {
				t.Fatalf("validate = %v, want a field error on %s with %q", err, c.field, c.want)
			}
		})
	}
	api := API{Name: "a", ListenPath: "/a", UpstreamURL: "https://up.example",
		JWT:  &JWTValidation{Issuer: "https://i.example", JWKSURI: "https://i.example/k"},
		CORS: &CORS{AllowedOrigins: []string{"https://a.example/path"}}}
	if err := api.Validate(); err == nil || !strings.Contains(err.Error(), "cors.allowed_origins[0]") {
		t.Errorf("API.Validate: %v", err)
	}
}

func TestOriginPatternMatches(t *testing.T) {
	for _, c := range []struct {
		pattern, origin string
		want            bool
	}{
		{"https://*.example.com", "https://a.example.com", true},
		{"https://*.example.com", "https://a.b.example.com", true},
		{"https://*.example.com", "https://example.com", false},
		{"https://*.example.com", "https://evilexample.com", false},
		{"https://*.example.com", "https://.example.com", false},
		{"https://*.example.com", "http://a.example.com", false},
		{"https://*.example.com", "https://a.example.com:8443", false},
		{"https://*.example.com:8443", "https://a.example.com:8443", true},
		{"https://*.example.com", "https://a.example.com.evil.net", false},
		{"http://[::1]:8080", "http://[::1]:8080", true},
		{"http://[::1]:8080", "http://[::1]", false},
		{"http://localhost:3000", "http://localhost:3000", true},
		{"http://localhost:3000", "http://localhost:3001", false},
	} {
		p, err := ParseOriginPattern(c.pattern)
		if err != nil {
			t.Fatalf("%s: %v", c.pattern, err)
		}
		if got := p.Matches(c.origin); got != c.want {
			t.Errorf("%s matches %s = %v, want %v", c.pattern, c.origin, got, c.want)
		}
	}
}
