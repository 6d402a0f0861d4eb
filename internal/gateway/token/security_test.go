package token

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// The attack battery: every forged, altered or malformed token is refused with
// invalid_token, a generic description, no request to anything an attacker names, and at
// most one refetch of the real JWKS for the lot.

var b64 = base64.RawURLEncoding.EncodeToString

// compactJWS assembles a compact JWS from raw parts, for tokens go-jose refuses to produce.
func compactJWS(t *testing.T, header, claims map[string]any, sign func(signingInput string) []byte) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	p, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	input := b64(h) + "." + b64(p)
	return input + "." + b64(sign(input))
}

func splitSegments(token string) []string { return strings.Split(token, ".") }

// replacePayload replaces the payload of token, keeping its header and signature.
func replacePayload(t *testing.T, token string, claims map[string]any) string {
	p, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	s := splitSegments(token)
	return s[0] + "." + b64(p) + "." + s[2]
}

// selfSignedDER returns a certificate for key, as an attacker would put in x5c.
func selfSignedDER(t *testing.T, key *testKey) []byte {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: testIssuer},
		NotBefore: testStart.Add(-time.Hour), NotAfter: testStart.Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.priv.Public(), key.priv)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// altLastChar rewrites the last character of a base64url segment to another one that
// decodes to the same bytes (non-zero unused bits), the classic JWS malleability.
func altLastChar(t *testing.T, seg string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	var unused int
	switch len(seg) % 4 {
	case 2:
		unused = 0x0f
	case 3:
		unused = 0x03
	default:
		t.Fatalf("segment length %d has no unused bits", len(seg))
	}
	v := strings.IndexByte(alphabet, seg[len(seg)-1])
	alt := seg[:len(seg)-1] + string(alphabet[v|1&unused])
	if a, _ := base64.RawURLEncoding.DecodeString(alt); string(a) != mustDecode(t, seg) {
		t.Fatal("test bug: the altered segment decodes differently")
	}
	return alt
}

func mustDecode(t *testing.T, seg string) string {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSecurityBattery(t *testing.T) {
	for _, mode := range []struct {
		name string
		mod  func(*FactoryOptions)
	}{{"with token cache", func(*FactoryOptions) {}}, {"without token cache", noTokenCache}} {
		t.Run(mode.name, func(t *testing.T) { runBattery(t, mode.mod) })
	}
}

func runBattery(t *testing.T, mod func(*FactoryOptions)) {
	clock := newFakeClock()
	keyA := rsaKey(t, "a", "a")
	evil := rsaKey(t, "c", "evil")
	idp := startJWKS(t, keyA)
	attacker := startJWKS(t, evil, rsaKey(t, "c", "a")) // the attacker's JWKS even reuses kid "a"
	f, _ := newTestFactory(t, clock, mod)
	v := validatorFor(t, f, jwtAPI(idp.URL))

	now := clock.Now()
	valid := signJWT(t, keyA, validClaims(now), nil)
	mustValidate(t, v, valid) // cached, where there is a cache
	clock.Advance(jwksDefaultMinRefetch + time.Second)
	now = clock.Now()
	claims := func(mutate func(map[string]any)) map[string]any {
		c := validClaims(now)
		mutate(c)
		return c
	}
	withHeaders := func(k *testKey, h map[jose.HeaderKey]any) string { return signJWT(t, k, validClaims(now), h) }

	pubDER, err := x509.MarshalPKIXPublicKey(keyA.priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	hmacWith := func(secret []byte) func(string) []byte {
		return func(input string) []byte {
			m := hmac.New(sha256.New, secret)
			m.Write([]byte(input))
			return m.Sum(nil)
		}
	}
	embedded := func(kid string) string {
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: evil.priv, KeyID: kid}},
			(&jose.SignerOptions{EmbedJWK: true}).WithType("JWT"))
		if err != nil {
			t.Fatal(err)
		}
		tok, err := jwt.Signed(signer).Claims(validClaims(now)).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	validNow := signJWT(t, keyA, validClaims(now), nil)
	seg := splitSegments(validNow)
	sig := []byte(mustDecode(t, seg[2]))
	sig[len(sig)-1] ^= 0x01
	big := signJWT(t, keyA, claims(func(c map[string]any) { c["pad"] = strings.Repeat("x", maxTokenBytes) }), nil)

	attacks := []struct{ name, token string }{
		{"alg none", compactJWS(t, map[string]any{"alg": "none", "typ": "JWT", "kid": "a"}, validClaims(now), func(string) []byte { return nil })},
		{"alg None", compactJWS(t, map[string]any{"alg": "None", "kid": "a"}, validClaims(now), func(string) []byte { return nil })},
		{"alg none with signature", compactJWS(t, map[string]any{"alg": "none", "kid": "a"}, validClaims(now), func(string) []byte { return sig })},
		{"HS256 keyed with the RSA public key PEM", compactJWS(t, map[string]any{"alg": "HS256", "typ": "JWT", "kid": "a"}, validClaims(now), hmacWith(pubPEM))},
		{"HS256 keyed with the RSA public key DER", compactJWS(t, map[string]any{"alg": "HS256", "kid": "a"}, validClaims(now), hmacWith(pubDER))},
		{"HS256 without kid", compactJWS(t, map[string]any{"alg": "HS256"}, validClaims(now), hmacWith(pubPEM))},
		{"PS256 not in the allow-list", signJWT(t, loadKey(t, "rsa_a.pem", "a", jose.PS256), validClaims(now), nil)},
		{"expired", signJWT(t, keyA, claims(func(c map[string]any) { c["exp"] = now.Add(-time.Hour).Unix() }), nil)},
		{"not yet valid", signJWT(t, keyA, claims(func(c map[string]any) { c["nbf"] = now.Add(time.Hour).Unix() }), nil)},
		{"issued in the future", signJWT(t, keyA, claims(func(c map[string]any) { c["iat"] = now.Add(time.Hour).Unix() }), nil)},
		{"wrong iss", signJWT(t, keyA, claims(func(c map[string]any) { c["iss"] = "https://evil.example.test" }), nil)},
		{"iss with trailing slash", signJWT(t, keyA, claims(func(c map[string]any) { c["iss"] = testIssuer + "/" }), nil)},
		{"wrong aud", signJWT(t, keyA, claims(func(c map[string]any) { c["aud"] = []string{"api://billing"} }), nil)},
		{"no aud", signJWT(t, keyA, claims(func(c map[string]any) { delete(c, "aud") }), nil)},
		{"no exp", signJWT(t, keyA, claims(func(c map[string]any) { delete(c, "exp") }), nil)},
		{"exp as string", signJWT(t, keyA, claims(func(c map[string]any) { c["exp"] = "9999999999" }), nil)},
		{"unknown kid", signJWT(t, evil, validClaims(now), nil)},
		{"kid of another key", signJWT(t, rsaKey(t, "b", "a"), validClaims(now), nil)},
		{"jku to the attacker's JWKS", withHeaders(evil, map[jose.HeaderKey]any{"jku": attacker.URL})},
		{"jku to the attacker's JWKS reusing kid a", withHeaders(rsaKey(t, "c", "a"), map[jose.HeaderKey]any{"jku": attacker.URL})},
		{"x5u to the attacker", withHeaders(rsaKey(t, "c", "a"), map[jose.HeaderKey]any{"x5u": attacker.URL + "/cert.pem"})},
		{"x5c with the attacker's certificate", withHeaders(rsaKey(t, "c", "a"), map[jose.HeaderKey]any{
			"x5c": []string{base64.StdEncoding.EncodeToString(selfSignedDER(t, evil))}})},
		{"embedded jwk", embedded("")},
		{"embedded jwk with kid a", embedded("a")},
		{"tampered payload", replacePayload(t, validNow, claims(func(c map[string]any) { c["sub"] = "admin" }))},
		{"tampered payload of the cached token", replacePayload(t, valid, claims(func(c map[string]any) {
			c["scope"] = "orders:read orders:write orders:admin"
		}))},
		{"tampered signature", seg[0] + "." + seg[1] + "." + b64(sig)},
		{"signature stripped", seg[0] + "." + seg[1] + "."},
		{"signature of another token", seg[0] + "." + seg[1] + "." + splitSegments(valid)[2]},
		{"non-canonical base64 in the signature", seg[0] + "." + seg[1] + "." + altLastChar(t, seg[2])},
		{"newline inside the payload", seg[0] + "." + seg[1][:10] + "\n" + seg[1][10:] + "." + seg[2]},
		{"padding", seg[0] + "." + seg[1] + "." + seg[2] + "=="},
		{"leading space", " " + validNow},
		{"unknown critical header", withHeaders(keyA, map[jose.HeaderKey]any{"crit": []string{"x-must-understand"}, "x-must-understand": true})},
		{"typ JWE", withHeaders(keyA, map[jose.HeaderKey]any{jose.HeaderType: "JWE"})},
		{"oversized", big},
		{"many dots", strings.Repeat(".", 5000)},
		{"one extra segment", validNow + "." + seg[2]},
		{"trailing dot", validNow + "."},
		{"four segments", "a.b.c.d"},
		{"JWE-shaped", "eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d"},
		{"JSON serialization", `{"payload":"` + seg[1] + `","protected":"` + seg[0] + `","signature":"` + seg[2] + `"}`},
		{"empty", ""},
		{"garbage", "!!!.@@@.###"},
		{"not base64 json", "eyJ.eyJ.sig"},
		{"just a word", "token"},
		{"unicode", "é.é.é"},
	}
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			id, err := v.Validate(context.Background(), a.token)
			if id != nil {
				t.Fatalf("ACCEPTED: identity %+v", id)
			}
			te := refusalOf(t, err, CodeInvalid)
			if te.Description != "The access token is invalid." && te.Description != "The access token expired." {
				t.Errorf("description %q is not one of the generic ones", te.Description)
			}
		})
	}
	if n := attacker.hits.Load(); n != 0 {
		t.Errorf("the attacker's server received %d requests, want 0", n)
	}
	if n := idp.hits.Load(); n != 2 {
		t.Errorf("the IdP's JWKS was fetched %d times, want 2 (initial + one rate-limited refetch for all unknown kids)", n)
	}
	mustValidate(t, v, valid)
	mustValidate(t, v, validNow)
}

// A cached token must be matched byte for byte: every one-byte change of a cached valid
// token is refused.
func TestSecurityCacheNeverAcceptsAByteDifferentToken(t *testing.T) {
	clock, keyA, srv, f := jwtSetup(t)
	v := validatorFor(t, f, jwtAPI(srv.URL))
	valid := signJWT(t, keyA, validClaims(clock.Now()), nil)
	mustValidate(t, v, valid)
	mustValidate(t, v, valid)
	for i := 0; i < len(valid); i++ {
		for _, delta := range []byte{1, 2, 0x20} {
			b := []byte(valid)
			b[i] ^= delta
			if string(b) == valid {
				continue
			}
			if id, err := v.Validate(context.Background(), string(b)); err == nil {
				t.Fatalf("byte %d ^ %#x: accepted (%+v)", i, delta, id)
			}
		}
	}
}
