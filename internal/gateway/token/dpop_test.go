package token

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// dpopKey is a client's proof key and its RFC 7638 thumbprint (what cnf.jkt carries).
type dpopKey struct {
	priv *ecdsa.PrivateKey
	jkt  string
}

func newDPoPKey(t testing.TB) dpopKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwk := jose.JSONWebKey{Key: &priv.PublicKey}
	thumb, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return dpopKey{priv: priv, jkt: base64.RawURLEncoding.EncodeToString(thumb)}
}

// proof signs claims (jti, htm, htu, iat, ath by default, overridden by over) with k.
func (k dpopKey) proof(t testing.TB, method, u, accessToken string, iat time.Time, over map[string]any) string {
	t.Helper()
	claims := proofClaims(t, method, u, accessToken, iat)
	for c, v := range over {
		if v == nil {
			delete(claims, c)
		} else {
			claims[c] = v
		}
	}
	return signProof(t, jose.ES256, k.priv, claims)
}

// proofClaims are a good proof's claims for this request, with a fresh jti.
func proofClaims(t testing.TB, method, u, accessToken string, iat time.Time) map[string]any {
	ath := sha256.Sum256([]byte(accessToken))
	return map[string]any{"jti": randomJTI(t), "htm": method, "htu": u, "iat": iat.Unix(),
		"ath": base64.RawURLEncoding.EncodeToString(ath[:])}
}

// signProof signs claims as a DPoP proof: typ dpop+jwt, the public key embedded as jwk.
func signProof(t testing.TB, alg jose.SignatureAlgorithm, priv any, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: priv},
		(&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt"))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func randomJTI(t testing.TB) string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestDPoPProofChecks(t *testing.T) {
	clock := newFakeClock()
	c := NewDPoPChecker(clock.Now, nil)
	key, other := newDPoPKey(t), newDPoPKey(t)
	const at, u = "the-access-token", "https://api.example.com/orders/1"
	now := clock.Now()
	check := func(proof, method, url string) *Error {
		return c.Check(context.Background(), DPoPRequest{Proof: proof, Method: method, URL: url, AccessToken: at, JKT: key.jkt})
	}
	if err := check(key.proof(t, "GET", u, at, now, nil), "GET", u); err != nil {
		t.Fatalf("a good proof: %v", err)
	}
	for name, u2 := range map[string]string{
		"query and fragment ignored": "https://api.example.com/orders/1?x=1#f",
		"scheme and host case":       "HTTPS://API.Example.com/orders/1",
		"default port":               "https://api.example.com:443/orders/1",
		"percent-encoding case":      "https://api.example.com/%6frders/1",
	} {
		if err := check(key.proof(t, "GET", u2, at, now, nil), "GET", u); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}

	replayed := key.proof(t, "GET", u, at, now, nil)
	if err := check(replayed, "GET", u); err != nil {
		t.Fatal(err)
	}
	hs := func() string { // HS256 with the jwk's coordinates as the secret
		header, _ := json.Marshal(map[string]any{"typ": "dpop+jwt", "alg": "HS256", "jwk": jose.JSONWebKey{Key: &key.priv.PublicKey}})
		payload, _ := json.Marshal(map[string]any{"jti": "x", "htm": "GET", "htu": u, "iat": now.Unix()})
		in := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(payload)
		pub, _ := key.priv.PublicKey.Bytes()
		m := hmac.New(sha256.New, pub)
		m.Write([]byte(in))
		return in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	}()
	for name, tc := range map[string]struct{ proof, method, url, reason string }{
		"replayed":           {replayed, "GET", u, "used before"},
		"other key":          {other.proof(t, "GET", u, at, now, nil), "GET", u, "cnf.jkt"},
		"other method":       {key.proof(t, "POST", u, at, now, nil), "GET", u, "htm"},
		"other path":         {key.proof(t, "GET", "https://api.example.com/orders/2", at, now, nil), "GET", u, "htu"},
		"other host":         {key.proof(t, "GET", "https://evil.example.com/orders/1", at, now, nil), "GET", u, "htu"},
		"http for https":     {key.proof(t, "GET", "http://api.example.com/orders/1", at, now, nil), "GET", u, "htu"},
		"stale iat":          {key.proof(t, "GET", u, at, now.Add(-DPoPProofMaxAge-time.Second), nil), "GET", u, "iat"},
		"future iat":         {key.proof(t, "GET", u, at, now.Add(time.Minute), nil), "GET", u, "iat"},
		"wrong ath":          {key.proof(t, "GET", u, "another-token", now, nil), "GET", u, "ath"},
		"no ath":             {key.proof(t, "GET", u, at, now, map[string]any{"ath": nil}), "GET", u, "ath"},
		"no jti":             {key.proof(t, "GET", u, at, now, map[string]any{"jti": nil}), "GET", u, "jti"},
		"no iat":             {key.proof(t, "GET", u, at, now, map[string]any{"iat": nil}), "GET", u, "iat"},
		"HS256 with the jwk": {hs, "GET", u, "parse"},
		"garbage":            {"a.b.c", "GET", u, "compact"},
		"empty":              {"", "GET", u, "compact"},
		"padded":             {key.proof(t, "GET", u, at, now, nil) + "=", "GET", u, "compact"},
	} {
		err := check(tc.proof, tc.method, tc.url)
		if err == nil || err.Code != CodeInvalidDPoPProof || !strings.Contains(err.Reason, tc.reason) {
			t.Errorf("%s: %v, want invalid_dpop_proof about %s", name, err, tc.reason)
		}
	}

	// a proof with the wrong typ, or a private key in the header
	signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key.priv}, (&jose.SignerOptions{EmbedJWK: true}).WithType("JWT"))
	payload, _ := json.Marshal(map[string]any{"jti": "y", "htm": "GET", "htu": u, "iat": now.Unix()})
	jws, _ := signer.Sign(payload)
	wrongTyp, _ := jws.CompactSerialize()
	if err := check(wrongTyp, "GET", u); err == nil || !strings.Contains(err.Reason, "typ") {
		t.Errorf("typ JWT: %v", err)
	}

	// once the proof is too old to be accepted, its jti is forgotten
	clock.Advance(DPoPProofMaxAge + DPoPProofMaxSkew + time.Second)
	if n := len(c.replay.(*MemoryReplayStore).seen); n == 0 {
		t.Fatal("the replay cache is empty before the sweep")
	}
	if err := c.Check(context.Background(), DPoPRequest{Proof: key.proof(t, "GET", u, at, clock.Now(), nil), Method: "GET", URL: u, AccessToken: at, JKT: key.jkt}); err != nil {
		t.Fatal(err)
	}
	if n := len(c.replay.(*MemoryReplayStore).seen); n != 1 {
		t.Errorf("after the proofs' lifetime the replay cache holds %d entries, want 1 (the newest)", n)
	}
}

// FuzzDPoPProof: the proof parser never panics and accepts nothing but proofs signed by the
// bound key for this request.
//
//	go test -fuzz FuzzDPoPProof -fuzztime 60s ./internal/gateway/token/
func FuzzDPoPProof(f *testing.F) {
	clock := newFakeClock()
	key := newDPoPKey(f)
	const at, u = "tok", "https://api.example.com/x"
	good := key.proof(f, "GET", u, at, clock.Now(), map[string]any{"jti": "fixed"})
	f.Add(good)
	f.Add(strings.Replace(good, ".", "..", 1))
	f.Add("eyJhbGciOiJub25lIiwidHlwIjoiZHBvcCtqd3QifQ.eyJqdGkiOiJ4In0.")
	f.Add(`{"protected":"e30","payload":"e30","signature":""}`)
	// One checker, whose header cache knows good's header, so that inputs reusing it go down
	// the cached path (verifyWith); replay is not under test, so every jti is new to it.
	c := NewDPoPChecker(clock.Now, alwaysFirstUse{})
	if err := c.Check(context.Background(), DPoPRequest{Proof: good, Method: "GET", URL: u, AccessToken: at, JKT: key.jkt}); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, proof string) {
		err := c.Check(context.Background(), DPoPRequest{Proof: proof, Method: "GET", URL: u, AccessToken: at, JKT: key.jkt})
		if err == nil && proof != good {
			t.Fatalf("accepted a proof that is not the signed one: %q", proof)
		}
		if err != nil && err.Code != CodeInvalidDPoPProof {
			t.Fatalf("error code %s", err.Code)
		}
	})
}

type alwaysFirstUse struct{}

func (alwaysFirstUse) FirstUse(context.Context, string, time.Time, time.Time) (bool, error) {
	return true, nil
}

// BenchmarkDPoPCheck is the gateway's cost of one proof (ES256), in the same run as the floor
// RFC 9449 sets: the signature verification alone (ecdsa-verify). cached-header is a client's
// every proof after its first (the header's key remembered); first-proof is a header never
// seen (go-jose parses it, the key is checked and thumbprinted). Proofs are made before the
// timer starts.
func BenchmarkDPoPCheck(b *testing.B) {
	key := newDPoPKey(b)
	const at, u = "tok", "https://api.example.com/x"
	proofs := func(n int) []string {
		p := make([]string, n)
		for i := range p {
			p[i] = key.proof(b, "GET", u, at, time.Now(), nil)
		}
		return p
	}
	b.Run("ecdsa-verify", func(b *testing.B) {
		msg := sha256.Sum256([]byte("header.payload"))
		sig, err := ecdsa.SignASN1(rand.Reader, key.priv, msg[:])
		if err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if !ecdsa.VerifyASN1(&key.priv.PublicKey, msg[:], sig) {
				b.Fatal("does not verify")
			}
		}
	})
	for _, cached := range []bool{true, false} {
		name := map[bool]string{true: "cached-header", false: "first-proof"}[cached]
		b.Run(name, func(b *testing.B) {
			ps := proofs(b.N)
			c := NewDPoPChecker(nil, nil)
			if err := c.Check(context.Background(), DPoPRequest{Proof: key.proof(b, "GET", u, at, time.Now(), nil), Method: "GET", URL: u, AccessToken: at, JKT: key.jkt}); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if !cached {
					clear(c.keys.m)
				}
				if err := c.Check(context.Background(), DPoPRequest{Proof: ps[i], Method: "GET", URL: u, AccessToken: at, JKT: key.jkt}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestDPoPReplayLifetime: a proof's jti is remembered for as long as its iat keeps it
// acceptable, not for a moment: replayed 2 s or 50 s after its first use it is refused, and a
// sweep that runs while it is still acceptable keeps it.
func TestDPoPReplayLifetime(t *testing.T) {
	clock := newFakeClock()
	c := NewDPoPChecker(clock.Now, nil)
	key := newDPoPKey(t)
	const at, u = "the-access-token", "https://api.example.com/orders/1"
	check := func(proof string) *Error {
		return c.Check(context.Background(), DPoPRequest{Proof: proof, Method: "GET", URL: u, AccessToken: at, JKT: key.jkt})
	}
	t0 := clock.Now()
	proof := key.proof(t, "GET", u, at, t0, nil)
	if err := check(proof); err != nil {
		t.Fatal(err)
	}
	for _, after := range []time.Duration{2 * time.Second, 50 * time.Second} {
		clock.ns.Store(t0.Add(after).UnixNano())
		if err := check(proof); err == nil || !strings.Contains(err.Reason, "used before") {
			t.Errorf("replayed %s after its first use (iat still in the window): %v, want refused as used before", after, err)
		}
	}

	// A proof dated at the edge of the skew (iat = now + DPoPProofMaxSkew) stays acceptable
	// until iat + DPoPProofMaxAge; a sweep run after the first sweep interval must keep it.
	clock.ns.Store(t0.Add(59 * time.Second).UnixNano())
	late := key.proof(t, "GET", u, at, clock.Now().Add(DPoPProofMaxSkew), nil)
	if err := check(late); err != nil {
		t.Fatal(err)
	}
	clock.ns.Store(t0.Add(DPoPProofMaxAge + 2*time.Second).UnixNano()) // past the next sweep time
	if err := check(key.proof(t, "GET", u, at, clock.Now(), nil)); err != nil {
		t.Fatal(err) // a new proof: this use sweeps
	}
	if err := check(late); err == nil || !strings.Contains(err.Reason, "used before") {
		t.Errorf("a proof still acceptable, replayed after a sweep: %v, want refused as used before", err)
	}
}

// TestDPoPProofHeaderAndHTUBoundaries: a proof without typ is refused like one with another
// typ; htu with the scheme's default port written out matches, for http as for https, and a
// port that is not the default does not.
func TestDPoPProofHeaderAndHTUBoundaries(t *testing.T) {
	clock := newFakeClock()
	c := NewDPoPChecker(clock.Now, alwaysFirstUse{})
	key := newDPoPKey(t)
	const at = "the-access-token"
	now := clock.Now()
	check := func(proof, u string) *Error {
		return c.Check(context.Background(), DPoPRequest{Proof: proof, Method: "GET", URL: u, AccessToken: at, JKT: key.jkt})
	}

	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key.priv}, &jose.SignerOptions{EmbedJWK: true})
	if err != nil {
		t.Fatal(err)
	}
	const u = "https://api.example.com/orders/1"
	payload, _ := json.Marshal(proofClaims(t, "GET", u, at, now))
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	noTyp, _ := jws.CompactSerialize()
	if err := check(noTyp, u); err == nil || err.Code != CodeInvalidDPoPProof || !strings.Contains(err.Reason, "typ") {
		t.Errorf("a proof without typ: %v, want invalid_dpop_proof about typ", err)
	}

	for _, tc := range []struct {
		htu, request string
		match        bool
	}{
		{"http://api.example.com:80/orders/1", "http://api.example.com/orders/1", true},
		{"http://api.example.com/orders/1", "http://api.example.com:80/orders/1", true},
		{"https://api.example.com:443/orders/1", "https://api.example.com/orders/1", true},
		{"http://api.example.com:443/orders/1", "http://api.example.com/orders/1", false},
		{"https://api.example.com:80/orders/1", "https://api.example.com/orders/1", false},
		{"http://api.example.com:8080/orders/1", "http://api.example.com/orders/1", false},
	} {
		err := check(key.proof(t, "GET", tc.htu, at, now, nil), tc.request)
		if tc.match && err != nil {
			t.Errorf("htu %s for %s: %v, want it to match", tc.htu, tc.request, err)
		}
		if !tc.match && (err == nil || !strings.Contains(err.Reason, "htu")) {
			t.Errorf("htu %s for %s: %v, want refused about htu", tc.htu, tc.request, err)
		}
	}
}
