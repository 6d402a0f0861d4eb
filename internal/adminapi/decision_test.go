package adminapi

import (
	"encoding/json"
	"errors"
	"testing"
)

// TestDecisionRequestValidate: well-formed questions pass; each malformed one is refused
// naming its field.
func TestDecisionRequestValidate(t *testing.T) {
	ok := func(mod func(*DecisionRequest)) DecisionRequest {
		d := DecisionRequest{Request: DecisionHTTPRequest{Method: "GET", URL: "https://api.example.com/orders/1?x=y"}}
		mod(&d)
		return d
	}
	for name, d := range map[string]DecisionRequest{
		"no caller": ok(func(*DecisionRequest) {}),
		"path and host": ok(func(d *DecisionRequest) {
			d.Request.URL, d.Request.Path, d.Request.Host = "", "/orders/1", "api.example.com:8443"
		}),
		"path, IP host": ok(func(d *DecisionRequest) {
			d.Request.URL, d.Request.Path, d.Request.Host = "", "/orders/1", "[::1]:8080"
		}),
		"token": ok(func(d *DecisionRequest) { d.Caller.Token, d.Caller.TokenType = "eyJ.x.y", TokenTypeDPoP }),
		"described": ok(func(d *DecisionRequest) {
			d.Caller = DecisionCaller{ClientID: "app", Scopes: []string{"a"}, Claims: json.RawMessage(`{"pol":"gold"}`)}
		}),
		"no scopes at all":      ok(func(d *DecisionRequest) { d.Caller.Scopes = []string{} }),
		"a DPoP proof header":   ok(func(d *DecisionRequest) { d.Request.Headers = map[string]string{"DPoP": "eyJ.a.b"} }),
		"extension method":      ok(func(d *DecisionRequest) { d.Request.Method = "PROPFIND" }),
		"claims null":           ok(func(d *DecisionRequest) { d.Caller.Claims = json.RawMessage(`null`) }),
		"described, token type": ok(func(d *DecisionRequest) { d.Caller.ClientID, d.Caller.TokenType = "app", TokenTypeBearer }),
	} {
		if err := d.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for field, d := range map[string]DecisionRequest{
		"request.method":           ok(func(d *DecisionRequest) { d.Request.Method = "" }),
		"request.url":              ok(func(d *DecisionRequest) { d.Request.URL = "https://user:pw@api.example.com/x" }),
		"request.path":             ok(func(d *DecisionRequest) { d.Request.URL, d.Request.Path = "", "orders/1" }),
		"request.host":             ok(func(d *DecisionRequest) { d.Request.URL, d.Request.Path, d.Request.Host = "", "/x", "a/b" }),
		"request.headers.Host":     ok(func(d *DecisionRequest) { d.Request.Headers = map[string]string{"Host": "x"} }),
		"request.headers.Bad Name": ok(func(d *DecisionRequest) { d.Request.Headers = map[string]string{"Bad Name": "x"} }),
		"caller.token":             ok(func(d *DecisionRequest) { d.Caller.Token = "a b" }),
		"caller.scopes":            ok(func(d *DecisionRequest) { d.Caller.Token, d.Caller.Scopes = "t", []string{} }),
		"caller.subject":           ok(func(d *DecisionRequest) { d.Caller.Subject = "a\x01b" }),
		"caller.token_type":        ok(func(d *DecisionRequest) { d.Caller.TokenType = TokenTypeBearer }),
		"caller.claims":            ok(func(d *DecisionRequest) { d.Caller.Claims = json.RawMessage(`"pol"`) }),
		"request.client_certificate": ok(func(d *DecisionRequest) {
			d.Request.ClientCertificate = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
		}),
	} {
		var e *Error
		if err := d.Validate(); !errors.As(err, &e) || e.Field != field || e.Status != 400 {
			t.Errorf("%s: got %v, want a 400 naming %s", field, err, field)
		}
	}
}
