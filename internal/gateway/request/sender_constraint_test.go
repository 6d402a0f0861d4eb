package request

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/config"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
)

// TestDPoPHTUBelievesXForwardedProtoOnlyFromTrustedProxies: the URL a proof must name is
// https only when the connection is TLS or a trusted proxy says so (the gateway's test of the
// same name sends proofs through the proxy listener).
func TestDPoPHTUBelievesXForwardedProtoOnlyFromTrustedProxies(t *testing.T) {
	c := &Checker{trustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	for _, tc := range []struct {
		remote, proto, want string
	}{
		{"192.0.2.7:5000", "https", "http://api.example/x"},
		{"10.0.0.1:5000", "https", "https://api.example/x"},
		{"10.0.0.1:5000", "HTTPS", "https://api.example/x"},
		{"10.0.0.1:5000", "gopher", "http://api.example/x"},
		{"10.0.0.1:5000", "", "http://api.example/x"},
	} {
		if got := c.requestURL(requestFrom("http://api.example/x", tc.remote, "X-Forwarded-Proto", tc.proto)); got != tc.want {
			t.Errorf("from %s with X-Forwarded-Proto %q: %s, want %s", tc.remote, tc.proto, got, tc.want)
		}
	}
}

// TestAccessToken: the scheme is Bearer or DPoP in any case, a DPoP token is trimmed, a bare
// "DPoP" is the scheme without a token, and anything else is no token.
func TestAccessToken(t *testing.T) {
	for h, want := range map[string][3]string{ // scheme, token, present
		"Bearer abc":   {schemeBearer, "abc", "y"},
		"DPoP abc":     {schemeDPoP, "abc", "y"},
		"dpop  abc ":   {schemeDPoP, "abc", "y"},
		"DPOP ":        {schemeDPoP, "", "y"},
		"DPoP":         {schemeDPoP, "", "y"},
		" dpop ":       {schemeDPoP, "", "y"},
		"DPoPabc":      {"", "", ""},
		"DPo":          {"", "", ""},
		"Basic dXNlcg": {"", "", ""},
		"":             {"", "", ""},
	} {
		scheme, tok, present := accessToken(h)
		if scheme != want[0] || tok != want[1] || present != (want[2] == "y") {
			t.Errorf("accessToken(%q) = %q, %q, %v; want %q", h, scheme, tok, present, want)
		}
	}
}

// TestAccepts: each sender_constraint lets in the bindings it names and nothing else; none
// (or unset) lets every token in.
func TestAccepts(t *testing.T) {
	for constraint, want := range map[string][4]bool{ // unbound, dpop, mtls, both
		"":                                  {true, true, true, true},
		adminapi.SenderConstraintNone:       {true, true, true, true},
		adminapi.SenderConstraintDPoP:       {false, true, false, true},
		adminapi.SenderConstraintMTLS:       {false, false, true, true},
		adminapi.SenderConstraintDPoPOrMTLS: {false, true, true, true},
	} {
		rt := &config.Route{SenderConstraint: constraint}
		for i, b := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			if got := accepts(rt, b[0], b[1]); got != want[i] {
				t.Errorf("%q: accepts(dpop %v, mtls %v) = %v", constraint, b[0], b[1], got)
			}
		}
	}
}

// TestCheckBinding: a validated token's binding and the API's sender_constraint, each check
// of checkBinding with the case that passes next to the one refused. want is "" for let in,
// else the refusal's code and a word of its description.
func TestCheckBinding(t *testing.T) {
	der := testCertificate(t)
	sum := sha256.Sum256(der)
	x5t := base64.RawURLEncoding.EncodeToString(sum[:])
	c := &Checker{dpop: token.NewDPoPChecker(nil, nil), trustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	withCert := func(r *http.Request) { r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{{Raw: der}}} }
	proofs := func(n int) func(*http.Request) {
		return func(r *http.Request) {
			for range n {
				r.Header.Add("DPoP", "e30.e30.sig")
			}
		}
	}
	described := &simulation{caller: &token.DescribedCaller{}}
	for _, tc := range []struct {
		name, constraint, scheme string
		cnf                      map[string]any
		req                      func(*http.Request)
		sim                      *simulation
		code, says               string
		dpopChallenge            bool
	}{
		{"unbound bearer", "", schemeBearer, nil, nil, nil, "", "", false},
		{"empty cnf", "", schemeBearer, map[string]any{}, nil, nil, "invalid_token", "cannot check", false},
		{"unknown cnf", "", schemeBearer, map[string]any{"kid": "x"}, nil, nil, "invalid_token", "cannot check", false},
		{"jkt as bearer", "", schemeBearer, map[string]any{"jkt": "k"}, nil, nil, "invalid_token", "DPoP scheme", true},
		{"unbound as dpop", "", schemeDPoP, nil, nil, nil, "invalid_token", "not bound to a DPoP key", true},
		{"unbound, mtls only", adminapi.SenderConstraintMTLS, schemeBearer, nil, nil, nil, "invalid_token", "client certificate", false},
		{"unbound, dpop only", adminapi.SenderConstraintDPoP, schemeBearer, nil, nil, nil, "invalid_token", "bound to their holder", true},
		{"x5t, dpop only", adminapi.SenderConstraintDPoP, schemeBearer, map[string]any{"x5t#S256": x5t}, withCert, nil, "invalid_token", "bound to their holder", true},
		{"x5t with its certificate", adminapi.SenderConstraintMTLS, schemeBearer, map[string]any{"x5t#S256": x5t}, withCert, nil, "", "", false},
		{"x5t, dpop or mtls", adminapi.SenderConstraintDPoPOrMTLS, schemeBearer, map[string]any{"x5t#S256": x5t}, withCert, nil, "", "", false},
		{"x5t without a certificate", "", schemeBearer, map[string]any{"x5t#S256": x5t}, nil, nil, "invalid_token", "did not present", false},
		{"x5t of another certificate", "", schemeBearer, map[string]any{"x5t#S256": x5t[1:] + "A"}, withCert, nil, "invalid_token", "did not present", false},
		{"x5t described", "", schemeBearer, map[string]any{"x5t#S256": x5t}, nil, described, "", "", false},
		{"jkt without a proof", "", schemeDPoP, map[string]any{"jkt": "k"}, nil, nil, "invalid_dpop_proof", "exactly one", true},
		{"jkt with two proofs", "", schemeDPoP, map[string]any{"jkt": "k"}, proofs(2), nil, "invalid_dpop_proof", "exactly one", true},
		{"jkt with a bad proof", adminapi.SenderConstraintDPoP, schemeDPoP, map[string]any{"jkt": "k"}, proofs(1), nil, "invalid_dpop_proof", "not valid for this request", true},
		{"jkt with a bad proof, simulated", "", schemeDPoP, map[string]any{"jkt": "k"}, proofs(1), &simulation{}, "invalid_dpop_proof", "not valid for this request", true},
		{"jkt described", "", schemeDPoP, map[string]any{"jkt": "k"}, nil, described, "", "", false},
	} {
		r := httptest.NewRequest("GET", "/shop/x", nil)
		if tc.req != nil {
			tc.req(r)
		}
		rt := &config.Route{SenderConstraint: tc.constraint}
		ref := c.checkBinding(r, rt, tc.scheme, "tok", &token.Identity{Confirmation: tc.cnf}, tc.sim)
		switch {
		case tc.code == "" && ref != nil:
			t.Errorf("%s: refused: %s %s", tc.name, ref.code, ref.description)
		case tc.code == "":
		case ref == nil:
			t.Errorf("%s: let in; want %s", tc.name, tc.code)
		case ref.status != http.StatusUnauthorized || ref.code != tc.code || !strings.Contains(ref.description, tc.says):
			t.Errorf("%s: %d %s %q; want 401 %s saying %q", tc.name, ref.status, ref.code, ref.description, tc.code, tc.says)
		case strings.HasPrefix(ref.challenge, "DPoP ") != tc.dpopChallenge:
			t.Errorf("%s: challenge %q; DPoP challenge wanted: %v", tc.name, ref.challenge, tc.dpopChallenge)
		case tc.code == "invalid_dpop_proof" && tc.says != "exactly one" && ref.logReason == "":
			t.Errorf("%s: no log reason", tc.name)
		}
	}
}

// TestClientCertificate: the certificate of the TLS connection comes first; a header one is
// read only from a trusted proxy, only when the gateway names the header and only when there
// is one value, in each of the forms proxies send; anything that is not a certificate is none.
func TestClientCertificate(t *testing.T) {
	der := testCertificate(t)
	pemCert := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	b64 := base64.StdEncoding.EncodeToString(der)
	c := &Checker{clientCertHeader: "X-Client-Cert", trustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	const trusted, untrusted = "10.0.0.1:5000", "192.0.2.7:5000"
	for _, tc := range []struct {
		name, remote string
		values       []string
		want         bool
	}{
		{"PEM", trusted, []string{pemCert}, true},
		{"URL-escaped PEM (nginx)", trusted, []string{url.PathEscape(pemCert)}, true},
		{"form-escaped PEM", trusted, []string{url.QueryEscape(pemCert)}, true},
		{"base64 DER (Traefik)", trusted, []string{b64}, true},
		{"URL-escaped base64 DER", trusted, []string{url.QueryEscape(b64)}, true},
		{"base64 DER with line breaks", trusted, []string{b64[:40] + "\n" + b64[40:]}, true},
		{"from an untrusted peer", untrusted, []string{pemCert}, false},
		{"two values", trusted, []string{pemCert, pemCert}, false},
		{"none", trusted, nil, false},
		{"a PEM block that is no certificate", trusted, []string{string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))}, false},
		{"base64 of no certificate", trusted, []string{base64.StdEncoding.EncodeToString([]byte("not a certificate"))}, false},
		{"not base64", trusted, []string{"%zz!"}, false},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		for _, v := range tc.values {
			r.Header.Add("X-Client-Cert", v)
		}
		if got := c.clientCertificate(r); (got != nil) != tc.want || got != nil && !bytes.Equal(got, der) {
			t.Errorf("%s: certificate found %v, want %v", tc.name, got != nil, tc.want)
		}
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = trusted
	r.Header.Set("X-Client-Cert", pemCert)
	if (&Checker{trustedProxies: c.trustedProxies}).clientCertificate(r) != nil {
		t.Error("a certificate header read although the gateway names none")
	}
	r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{{Raw: []byte("tls")}}}
	if got := c.clientCertificate(r); string(got) != "tls" {
		t.Errorf("with a TLS client certificate and a header: %q, want the connection's", got)
	}
	r.TLS.PeerCertificates = nil
	if got := c.clientCertificate(r); !bytes.Equal(got, der) {
		t.Error("a TLS connection without a client certificate: the header's is not read")
	}
}

// TestDPoPChallenge: the challenge names the algorithms, and an error only when there is one.
func TestDPoPChallenge(t *testing.T) {
	algs := `DPoP algs="` + token.DPoPAlgorithms() + `"`
	if got := dpopChallenge("", "ignored"); got != algs {
		t.Errorf("without an error: %q, want %q", got, algs)
	}
	if got, want := dpopChallenge("invalid_token", "bad"), algs+`, error="invalid_token", error_description="bad"`; got != want {
		t.Errorf("with an error: %q, want %q", got, want)
	}
}

// testCertificate is the DER of a self-signed certificate made for the test.
func testCertificate(t *testing.T) []byte {
	t.Helper()
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "client"}, NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestDPoPProofRememberedOnlyOutsideSimulations: a valid proof is let in; a decision without
// traffic does not remember it (the same proof passes again), a request does (its replay is
// refused).
func TestDPoPProofRememberedOnlyOutsideSimulations(t *testing.T) {
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwk := jose.JSONWebKey{Key: pub, Algorithm: string(jose.EdDSA)}
	thumb, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: key},
		&jose.SignerOptions{EmbedJWK: true, ExtraHeaders: map[jose.HeaderKey]any{jose.HeaderType: "dpop+jwt"}})
	if err != nil {
		t.Fatal(err)
	}
	ath := sha256.Sum256([]byte("tok"))
	jws, err := signer.Sign(fmt.Appendf(nil, `{"jti":"j1","htm":"GET","htu":"http://example.com/shop/x","iat":%d,"ath":%q}`,
		time.Now().Unix(), base64.RawURLEncoding.EncodeToString(ath[:])))
	if err != nil {
		t.Fatal(err)
	}
	proof, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	c := &Checker{dpop: token.NewDPoPChecker(nil, nil)}
	id := &token.Identity{Confirmation: map[string]any{"jkt": base64.RawURLEncoding.EncodeToString(thumb)}}
	for i, sim := range []*simulation{{}, {}, nil, {}, nil} {
		r := httptest.NewRequest("GET", "/shop/x", nil)
		r.Header.Set("DPoP", proof)
		ref := c.checkBinding(r, &config.Route{}, schemeDPoP, "tok", id, sim)
		if replayed := i == 4; (ref != nil) != replayed {
			t.Errorf("check %d (simulated %v): %+v; want refused %v", i, sim != nil, ref, replayed)
		}
	}
}
