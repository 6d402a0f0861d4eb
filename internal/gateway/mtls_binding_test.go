package gateway

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
	"github.com/idpgate/terraform-provider-idpgate/internal/mockidp"
	"github.com/idpgate/terraform-provider-idpgate/internal/testcerts"
)

// mtlsServer serves h over TLS with a server certificate of ca's, asking for a client
// certificate without requiring one; it is closed when the test ends.
func mtlsServer(t testing.TB, ca *testcerts.CA, h http.Handler) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.Server(t).TLS(t)}, ClientAuth: tls.RequestClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// mtlsClient trusts ca's servers and presents cert (none when nil).
func mtlsClient(t testing.TB, ca *testcerts.CA, cert *testcerts.Pair) *http.Client {
	cfg := &tls.Config{RootCAs: ca.Pool()}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{cert.TLS(t)}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
}

// x5t is the RFC 8705 thumbprint of cert's leaf (its DER), as cnf's x5t#S256 carries it.
func x5t(t testing.TB, cert testcerts.Pair) string {
	sum := sha256.Sum256(cert.TLS(t).Certificate[0])
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// TestCertificateBoundTokens (RFC 8705): over TLS, a token whose cnf x5t#S256 is the hash of
// the client certificate the connection presented passes; another certificate, none, or a
// plain connection do not; an API with sender_constraint mtls refuses unbound tokens.
func TestCertificateBoundTokens(t *testing.T) {
	ca := testcerts.NewCA(t)
	alice, mallory := ca.Client(t, "alice"), ca.Client(t, "mallory")
	h := newHarness(t)
	up := newEchoUpstream(t)
	bound := h.createAPI(adminapi.API{Name: "any", ListenPath: "/any", UpstreamURL: up.URL})
	strict := h.createAPI(adminapi.API{Name: "strict", ListenPath: "/strict", UpstreamURL: up.URL, SenderConstraint: adminapi.SenderConstraintMTLS})
	h.createPolicy(adminapi.Policy{Name: "p", ClientIDs: []string{"app"}, AccessRights: append(grantAll(bound), grantAll(strict)...)})
	boundTok := h.fake.token("bound", token.Identity{ClientID: "app", Confirmation: map[string]any{"x5t#S256": x5t(t, alice)}})
	plainTok := h.fake.token("plain", token.Identity{ClientID: "app"})

	srv := mtlsServer(t, ca, h.gw.ProxyHandler())
	client := func(cert *testcerts.Pair) *http.Client { return mtlsClient(t, ca, cert) }
	get := func(c *http.Client, base, path, tok string) *http.Response {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	tlsURL := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)

	expect(t, get(client(&alice), tlsURL, "/any/x", boundTok), http.StatusOK)
	expect(t, get(client(&alice), tlsURL, "/strict/x", boundTok), http.StatusOK)
	for name, c := range map[string]*http.Client{"another certificate": client(&mallory), "no certificate": client(nil)} {
		resp := get(c, tlsURL, "/any/x", boundTok)
		expect(t, resp, http.StatusUnauthorized)
		if ch := resp.Header.Get("WWW-Authenticate"); !strings.Contains(ch, "x5t#S256") {
			t.Errorf("%s: WWW-Authenticate %q", name, ch)
		}
	}
	expect(t, get(http.DefaultClient, h.proxy.URL, "/any/x", boundTok), http.StatusUnauthorized) // plain HTTP
	expect(t, get(client(&alice), tlsURL, "/strict/x", plainTok), http.StatusUnauthorized)       // unbound at an mtls API
	expect(t, get(client(&alice), tlsURL, "/any/x", plainTok), http.StatusOK)                    // unbound elsewhere is fine
}

// TestCertificateBoundTokenFromTheMockIdP: the mock IdP, over TLS, binds the token of a
// client registered with tls_client_certificate_bound_access_tokens to the certificate the
// token request presented; the gateway (real validators, TLS proxy listener) takes it with
// that certificate only.
func TestCertificateBoundTokenFromTheMockIdP(t *testing.T) {
	ca := testcerts.NewCA(t)
	alice, mallory := ca.Client(t, "alice"), ca.Client(t, "mallory")
	tlsServer := func(h http.Handler) *httptest.Server { return mtlsServer(t, ca, h) }
	client := func(cert *testcerts.Pair) *http.Client { return mtlsClient(t, ca, cert) }

	idp := mockidp.New(mockidp.Options{})
	idpSrv := tlsServer(idp)
	idp.SetIssuer(idpSrv.URL)
	rec, err := idp.RegisterClient(map[string]any{"client_name": "app", "grant_types": []any{"client_credentials"},
		"response_types": []any{}, "tls_client_certificate_bound_access_tokens": true})
	if err != nil {
		t.Fatal(err)
	}
	answer := clientToken(t, client(&alice), idp, rec, nil)

	h := newRealHarness(t, func(o *Options) {
		o.HTTPClient = client(nil) // the IdP's JWKS is served over TLS by the test CA
	})
	h.protectWithIdP(idp, rec.ClientID, adminapi.API{Name: "a", ListenPath: "/a", SenderConstraint: adminapi.SenderConstraintMTLS})
	proxy := strings.Replace(tlsServer(h.gw.ProxyHandler()).URL, "127.0.0.1", "localhost", 1)
	for name, tc := range map[string]struct {
		c    *http.Client
		want int
	}{"the bound certificate": {client(&alice), 200}, "another certificate": {client(&mallory), 401}, "no certificate": {client(nil), 401}} {
		req, _ := http.NewRequest("GET", proxy+"/a/x", nil)
		req.Header.Set("Authorization", "Bearer "+answer.AccessToken)
		resp, err := tc.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d", name, resp.StatusCode, tc.want)
		}
	}
}

// TestCertificateFromATrustedProxy: behind a proxy that terminates TLS, the client
// certificate comes from Options.ClientCertHeader, in nginx's and Traefik's forms, and only
// from a trusted proxy.
func TestCertificateFromATrustedProxy(t *testing.T) {
	ca := testcerts.NewCA(t)
	alice, mallory := ca.Client(t, "alice"), ca.Client(t, "mallory")
	aliceDER := alice.TLS(t).Certificate[0]
	for _, trusted := range []bool{true, false} {
		prefixes := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		if !trusted {
			prefixes = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
		}
		h := newHarnessIn(t, t.TempDir(), newFakeValidators(), func(o *Options) {
			o.ClientCertHeader, o.TrustedProxies = "x-ssl-client-cert", prefixes
		})
		up := newEchoUpstream(t)
		api := h.createAPI(adminapi.API{Name: "a", ListenPath: "/a", UpstreamURL: up.URL})
		h.createPolicy(adminapi.Policy{Name: "p", ClientIDs: []string{"app"}, AccessRights: grantAll(api)})
		tok := h.fake.token("bound", token.Identity{ClientID: "app",
			Confirmation: map[string]any{"x5t#S256": x5t(t, alice)}})
		for name, tc := range map[string]struct {
			value string
			want  int
		}{
			"nginx's escaped PEM":  {url.QueryEscape(string(alice.CertPEM)), http.StatusOK},
			"Traefik's base64 DER": {base64.StdEncoding.EncodeToString(aliceDER), http.StatusOK},
			"another certificate":  {url.QueryEscape(string(mallory.CertPEM)), http.StatusUnauthorized},
			"garbage":              {"not a certificate", http.StatusUnauthorized},
		} {
			want := tc.want
			if !trusted {
				want = http.StatusUnauthorized
			}
			resp := h.do("GET", "/a/x", tok, "X-SSL-Client-Cert", tc.value)
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("trusted=%v, %s: %d, want %d", trusted, name, resp.StatusCode, want)
			}
		}
	}
}
