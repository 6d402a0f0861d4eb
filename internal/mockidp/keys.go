package mockidp

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"net/http"
	"sync"

	"github.com/go-jose/go-jose/v4"
)

// signingKey is one RS256 key with its kid.
type signingKey struct {
	kid string
	key *rsa.PrivateKey
}

// keyRing holds the current signing key and the one it replaced, so that tokens signed
// just before a rotation still verify (what real IdPs do while clients refresh their JWKS).
type keyRing struct {
	mu       sync.RWMutex
	current  signingKey
	previous *signingKey
}

func newKeyRing() *keyRing {
	return &keyRing{current: generateSigningKey()}
}

// generateSigningKey makes a 2048-bit RSA key whose kid is its RFC 7638 thumbprint.
func generateSigningKey() signingKey {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(fmt.Sprintf("mockidp: generating RSA key: %v", err))
	}
	jwk := jose.JSONWebKey{Key: key.Public()}
	thumb, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		panic(fmt.Sprintf("mockidp: key thumbprint: %v", err))
	}
	return signingKey{kid: base64.RawURLEncoding.EncodeToString(thumb), key: key}
}

func (k *keyRing) signing() signingKey {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.current
}

// rotate makes a new current key; the old current one stays published, the one before
// it is dropped.
func (k *keyRing) rotate() {
	next := generateSigningKey()
	k.mu.Lock()
	defer k.mu.Unlock()
	prev := k.current
	k.previous = &prev
	k.current = next
}

// published returns the keys in the JWKS, current first.
func (k *keyRing) published() []signingKey {
	k.mu.RLock()
	defer k.mu.RUnlock()
	keys := []signingKey{k.current}
	if k.previous != nil {
		keys = append(keys, *k.previous)
	}
	return keys
}

func (k *keyRing) jwks() jose.JSONWebKeySet {
	var set jose.JSONWebKeySet
	for _, sk := range k.published() {
		set.Keys = append(set.Keys, jose.JSONWebKey{
			Key:       sk.key.Public(),
			KeyID:     sk.kid,
			Algorithm: string(jose.RS256),
			Use:       "sig",
		})
	}
	return set
}

// publicKey returns the published public key with this kid.
func (k *keyRing) publicKey(kid string) (*rsa.PublicKey, bool) {
	for _, sk := range k.published() {
		if sk.kid == kid {
			return &sk.key.PublicKey, true
		}
	}
	return nil, false
}

// RotateKeys makes a new current signing key. The previous key stays in the JWKS (and
// verifies for introspection) until the next rotation.
func (s *Server) RotateKeys() { s.keys.rotate() }

// SigningKey returns the current signing key and its kid, e.g. for a test that forges tokens.
func (s *Server) SigningKey() (kid string, key *rsa.PrivateKey) {
	sk := s.keys.signing()
	return sk.kid, sk.key
}

func (s *Server) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Cache-Control", "max-age=60")
	writeJSON(w, http.StatusOK, s.keys.jwks())
}
