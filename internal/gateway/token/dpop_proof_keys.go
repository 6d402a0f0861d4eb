package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"math/big"
	"strings"
	"sync"

	jose "github.com/go-jose/go-jose/v4"
)

// A DPoP client sends the same protected header (typ, alg, its public jwk) with every proof.
// proofKeys remembers, per exact header segment, what go-jose found in it the first time a
// proof with that header verified and matched its token's cnf.jkt: the algorithm, the key and
// its thumbprint. Later proofs with that header skip the header's JSON, the JWK's parsing and
// the thumbprint, and pay only for their signature, checked by verifyWith exactly as go-jose
// checks it. Only headers that passed every key check are remembered, and only after a token
// bound to that key came with them, so an unauthenticated sender cannot fill the cache.

// maxProofKeys bounds the cache; when full it starts again empty (the cost is one go-jose
// parse per client key afterwards, not a refusal).
const maxProofKeys = 4096

type proofKey struct {
	alg jose.SignatureAlgorithm
	key crypto.PublicKey
	jkt string
}

type proofKeys struct {
	mu sync.RWMutex
	m  map[string]*proofKey
}

func newProofKeys() *proofKeys { return &proofKeys{m: map[string]*proofKey{}} }

func (c *proofKeys) get(header string) *proofKey {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.m[header]
}

func (c *proofKeys) put(header string, k *proofKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxProofKeys {
		clear(c.m)
	}
	c.m[strings.Clone(header)] = k // not a slice of the whole proof, which it would keep alive
}

// verifyWith reports whether sig is alg's signature of signingInput under key, with
// go-jose's rules (asymmetric.go): fixed-size r||s on the curve alg names for ECDSA,
// PKCS #1 v1.5 or PSS for RSA, Ed25519 for EdDSA.
func verifyWith(alg jose.SignatureAlgorithm, key crypto.PublicKey, signingInput string, sig []byte) bool {
	switch alg {
	case jose.ES256, jose.ES384, jose.ES512:
		pub, ok := key.(*ecdsa.PublicKey)
		if !ok {
			return false
		}
		curve, size, hash := elliptic.P256(), 32, crypto.SHA256
		switch alg {
		case jose.ES384:
			curve, size, hash = elliptic.P384(), 48, crypto.SHA384
		case jose.ES512:
			curve, size, hash = elliptic.P521(), 66, crypto.SHA512
		}
		if pub.Curve != curve || len(sig) != 2*size {
			return false
		}
		r, s := new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:])
		return ecdsa.Verify(pub, digest(hash, signingInput), r, s)
	case jose.EdDSA:
		pub, ok := key.(ed25519.PublicKey)
		return ok && len(pub) == ed25519.PublicKeySize && ed25519.Verify(pub, []byte(signingInput), sig)
	case jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512:
		pub, ok := key.(*rsa.PublicKey)
		if !ok {
			return false
		}
		hash := crypto.SHA256
		switch alg {
		case jose.RS384, jose.PS384:
			hash = crypto.SHA384
		case jose.RS512, jose.PS512:
			hash = crypto.SHA512
		}
		if alg == jose.RS256 || alg == jose.RS384 || alg == jose.RS512 {
			return rsa.VerifyPKCS1v15(pub, hash, digest(hash, signingInput), sig) == nil
		}
		return rsa.VerifyPSS(pub, hash, digest(hash, signingInput), sig, nil) == nil
	}
	return false
}

func digest(h crypto.Hash, s string) []byte {
	w := h.New()
	_, _ = w.Write([]byte(s))
	return w.Sum(nil)
}
