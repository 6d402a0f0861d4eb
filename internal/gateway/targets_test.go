package gateway

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/request"
)

// The admin API refuses an upstream, JWKS URI or introspection endpoint at a link-local
// address unless the gateway allows them; loopback and private addresses stay allowed.
func TestLinkLocalTargetsAreRefusedUnlessAllowed(t *testing.T) {
	h := newHarness(t)
	jwt := func(jwks string) *adminapi.JWTValidation {
		return &adminapi.JWTValidation{Issuer: "https://idp.example", JWKSURI: jwks}
	}
	for field, api := range map[string]adminapi.API{
		"upstream_url":           {UpstreamURL: "http://169.254.169.254/latest/meta-data/"},
		"jwt.jwks_uri":           {UpstreamURL: "http://127.0.0.1:9000", JWT: jwt("http://[fe80::1%25eth0]/jwks")},
		"introspection.endpoint": {UpstreamURL: "http://10.0.0.5", Introspection: &adminapi.Introspection{Endpoint: "http://[::ffff:169.254.169.254]/i", ClientID: "gw"}},
	} {
		api.Name, api.ListenPath = field, "/x"
		if api.JWT == nil && api.Introspection == nil {
			api.JWT = jwt("https://idp.example/jwks")
		}
		_, err := h.admin.CreateAPI(t.Context(), api)
		var ae *adminapi.Error
		if !errors.As(err, &ae) || ae.Field != field || !strings.Contains(ae.Message, "link-local") {
			t.Errorf("%s at a link-local address: %v; want a 400 on %s", field, err, field)
		}
	}
	for _, u := range []string{"http://127.0.0.1:9000", "http://[::1]:9000", "http://10.0.0.5", "http://192.168.1.10", "http://169.255.0.1"} {
		if _, err := h.admin.CreateAPI(t.Context(), adminapi.API{Name: u, ListenPath: "/" + strings.NewReplacer(":", "", "/", "", "[", "", "]", "").Replace(u),
			UpstreamURL: u, JWT: jwt(u + "/jwks")}); err != nil {
			t.Errorf("%s: %v; loopback and private addresses are allowed", u, err)
		}
	}

	allowing := newHarnessIn(t, t.TempDir(), newFakeValidators(), func(o *Options) { o.AllowLinkLocalTargets = true })
	if _, err := allowing.admin.CreateAPI(t.Context(), adminapi.API{Name: "md", ListenPath: "/md",
		UpstreamURL: "http://169.254.169.254/", JWT: jwt("http://169.254.169.254/jwks")}); err != nil {
		t.Errorf("with AllowLinkLocalTargets: %v", err)
	}
}

// A host name is resolved when dialled: the dialer refuses a link-local address there, for the
// upstreams and for the token checks' own client, whatever name led to it (request's test of
// the same name dials the addresses; this one the gateway's upstream transport).
func TestLinkLocalAddressesAreNeverDialled(t *testing.T) {
	h := newHarness(t)
	req, _ := http.NewRequestWithContext(context.Background(), "GET", "http://169.254.169.254/latest/meta-data/", nil)
	if _, err := h.gw.transport.RoundTrip(req); !errors.Is(err, request.ErrLinkLocalTarget) {
		t.Errorf("the upstream transport dialled a link-local address: %v", err)
	}
	// the loopback upstreams of every other test are dialled as before
	up := newEchoUpstream(t)
	req, _ = http.NewRequestWithContext(context.Background(), "GET", up.URL, nil)
	resp, err := h.gw.transport.RoundTrip(req)
	if err != nil {
		t.Fatalf("loopback upstream: %v", err)
	}
	resp.Body.Close()
}

// An API may not be served at or below the decision path, which the gateway answers itself:
// the default one is refused by adminapi's Validate, another one by the gateway.
func TestListenPathBelowTheDecisionPathIsRefused(t *testing.T) {
	h := newHarnessIn(t, t.TempDir(), newFakeValidators(), func(o *Options) { o.DecisionPath = "/auth/decide" })
	for _, p := range []string{"/auth/decide", "/auth/decide/", "/auth/decide/orders", "/_idpgate/decide/x"} {
		_, err := h.admin.CreateAPI(t.Context(), adminapi.API{Name: "x", ListenPath: p, UpstreamURL: "http://127.0.0.1:9000",
			JWT: &adminapi.JWTValidation{Issuer: "https://i", JWKSURI: "https://i/k"}})
		var ae *adminapi.Error
		if !errors.As(err, &ae) || ae.Field != "listen_path" {
			t.Errorf("listen path %s: %v; want a 400 on listen_path", p, err)
		}
	}
	h.createAPI(adminapi.API{Name: "auth", ListenPath: "/auth", UpstreamURL: "http://127.0.0.1:9000"})
	h.createAPI(adminapi.API{Name: "decider", ListenPath: "/auth/deciders", UpstreamURL: "http://127.0.0.1:9000"})
}

// The token checks' own client (JWKS, introspection) dials through the same guard.
func TestTokenChecksNeverDialLinkLocal(t *testing.T) {
	for _, allow := range []bool{false, true} {
		src, err := buildValidatorFactory(Options{AllowLinkLocalTargets: allow}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		v, err := src.ForAPI(adminapi.API{Name: "i", ListenPath: "/i", UpstreamURL: "http://127.0.0.1:1",
			Introspection: &adminapi.Introspection{Endpoint: "http://[fe80::1]:1/introspect", ClientID: "gw", ClientSecret: "s"}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = v.Validate(t.Context(), "opaque-token")
		if refused := err != nil && strings.Contains(err.Error(), "link-local"); refused == allow {
			t.Errorf("AllowLinkLocalTargets=%v: introspection answered %v", allow, err)
		}
	}
}
