package token

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// algProofKey is a proof key for any of the allowed algorithms.
type algProofKey struct {
	alg  jose.SignatureAlgorithm
	priv any
	jkt  string
}

func newAlgProofKey(t *testing.T, alg jose.SignatureAlgorithm) algProofKey {
	t.Helper()
	var priv, pub any
	switch alg {
	case jose.ES256, jose.ES384, jose.ES512:
		curve := map[jose.SignatureAlgorithm]elliptic.Curve{jose.ES256: elliptic.P256(), jose.ES384: elliptic.P384(), jose.ES512: elliptic.P521()}[alg]
		k, err := ecdsa.GenerateKey(curve, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		priv, pub = k, &k.PublicKey
	case jose.EdDSA:
		p, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		priv, pub = k, p
	default:
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		priv, pub = k, &k.PublicKey
	}
	thumb, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return algProofKey{alg: alg, priv: priv, jkt: base64.RawURLEncoding.EncodeToString(thumb)}
}

func (k algProofKey) proof(t *testing.T, method, u, accessToken string, iat time.Time) string {
	t.Helper()
	return signProof(t, k.alg, k.priv, proofClaims(t, method, u, accessToken, iat))
}

// The second proof with a header the checker has seen takes the cached path (verifyWith);
// for every allowed algorithm it must accept what go-jose accepts and refuse a proof whose
// signature or payload was changed, or that comes with a token bound to another key.
func TestDPoPCachedHeaderVerifiesEveryAlgorithm(t *testing.T) {
	clock := newFakeClock()
	const at, u = "tok", "https://api.example.com/x"
	for _, alg := range dpopAlgs {
		t.Run(string(alg), func(t *testing.T) {
			c := NewDPoPChecker(clock.Now, nil)
			k := newAlgProofKey(t, alg)
			check := func(proof, jkt string) *Error {
				return c.Check(context.Background(), DPoPRequest{Proof: proof, Method: "GET", URL: u, AccessToken: at, JKT: jkt})
			}
			first := k.proof(t, "GET", u, at, clock.Now())
			if err := check(first, k.jkt); err != nil {
				t.Fatalf("first proof: %v", err)
			}
			header, _, _ := strings.Cut(first, ".")
			if c.keys.get(header) == nil {
				t.Fatal("an accepted proof's header was not remembered: later proofs would not take the cached path")
			}

			if err := check(k.proof(t, "GET", u, at, clock.Now()), k.jkt); err != nil {
				t.Fatalf("second proof, cached header: %v", err)
			}
			other := newAlgProofKey(t, alg)
			if err := check(k.proof(t, "GET", u, at, clock.Now()), other.jkt); err == nil {
				t.Fatal("cached header: accepted with a token bound to another key")
			}
			parts := strings.Split(k.proof(t, "GET", u, at, clock.Now()), ".")
			sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
			sig[len(sig)/2] ^= 1
			if err := check(parts[0]+"."+parts[1]+"."+base64.RawURLEncoding.EncodeToString(sig), k.jkt); err == nil {
				t.Fatal("cached header: accepted a proof whose signature was changed")
			}
			// Another key's valid proof spliced under the cached header must not verify.
			foreign := strings.Split(other.proof(t, "GET", u, at, clock.Now()), ".")
			if err := check(parts[0]+"."+foreign[1]+"."+foreign[2], k.jkt); err == nil {
				t.Fatal("cached header: accepted another key's payload and signature")
			}
			if err := check(parts[0]+"."+foreign[1]+"."+parts[2], k.jkt); err == nil {
				t.Fatal("cached header: accepted a payload the signature is not over")
			}
		})
	}
}

// A header is remembered only once a proof with it was accepted: a validly signed proof for a
// key no token is bound to leaves nothing behind.
func TestDPoPHeaderNotRememberedForRefusedProof(t *testing.T) {
	clock := newFakeClock()
	const at, u = "tok", "https://api.example.com/x"
	c := NewDPoPChecker(clock.Now, nil)
	k, other := newAlgProofKey(t, jose.ES256), newAlgProofKey(t, jose.ES256)
	for _, jkt := range []string{other.jkt, k.jkt} {
		proof := k.proof(t, "POST", u, at, clock.Now()) // wrong method for the request below
		if err := c.Check(context.Background(), DPoPRequest{Proof: proof, Method: "GET", URL: u, AccessToken: at, JKT: jkt}); err == nil {
			t.Fatal("accepted a proof for another method")
		}
		header, _, _ := strings.Cut(proof, ".")
		if c.keys.get(header) != nil {
			t.Fatalf("remembered the header of a refused proof (jkt %s)", jkt)
		}
	}
}

func TestVerifyWithRefusesAKeyOfAnotherKind(t *testing.T) {
	ec, ed, rs := newAlgProofKey(t, jose.ES256), newAlgProofKey(t, jose.EdDSA), newAlgProofKey(t, jose.RS256)
	p384 := newAlgProofKey(t, jose.ES384)
	cases := []struct {
		alg jose.SignatureAlgorithm
		key any
	}{
		{jose.ES256, ed.priv.(ed25519.PrivateKey).Public()},
		{jose.ES256, &p384.priv.(*ecdsa.PrivateKey).PublicKey}, // ES256 names P-256
		{jose.EdDSA, &ec.priv.(*ecdsa.PrivateKey).PublicKey},
		{jose.RS256, &ec.priv.(*ecdsa.PrivateKey).PublicKey},
		{jose.PS256, ed.priv.(ed25519.PrivateKey).Public()},
		{jose.HS256, &rs.priv.(*rsa.PrivateKey).PublicKey},
	}
	for _, tc := range cases {
		if verifyWith(tc.alg, tc.key, "a.b", make([]byte, 256)) {
			t.Errorf("%s with a %T: verified", tc.alg, tc.key)
		}
	}
}
