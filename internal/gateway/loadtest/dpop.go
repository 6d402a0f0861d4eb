package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// dpopClient makes the bench client's DPoP key and an access token bound to it, signed by
// the bench IdP's key; the key travels to the driver as base64 PKCS #8.
func dpopClient(idpKey *rsa.PrivateKey, issuer string) (key, token string, err error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	thumb, err := (&jose.JSONWebKey{Key: &priv.PublicKey}).Thumbprint(crypto.SHA256)
	if err != nil {
		return "", "", err
	}
	token, err = mint(idpKey, issuer, map[string]any{"cnf": map[string]any{"jkt": base64.RawURLEncoding.EncodeToString(thumb)}})
	if err != nil {
		return "", "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	return base64.StdEncoding.EncodeToString(der), token, err
}

// dpopSigner gives each request a fresh proof, as a DPoP client does. The proofs are signed
// before the measured run (presign): a client signs on its own machine, and signing here, on
// the cores the gateway is measured on, would charge the gateway for the client's work. A
// request that finds the pool empty signs its proof itself, and the run reports how many did.
type dpopSigner struct {
	signer jose.Signer
	token  string
	ath    string

	pool   []string
	next   atomic.Int64
	inline atomic.Int64
}

// presign fills the pool with n proofs for GET url, each with its own jti and the current iat
// (the gateway accepts a proof for DPoPProofMaxAge, far longer than a run).
func (d *dpopSigner) presign(n int, url string) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	d.pool = make([]string, n)
	for i := range d.pool {
		d.pool[i] = d.sign(req)
	}
	d.next.Store(0)
	d.inline.Store(0)
}

func newDPoPSigner(key, token string) (*dpopSigner, error) {
	der, err := base64.StdEncoding.DecodeString(key)
	if err != nil {
		return nil, err
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: priv}, (&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt"))
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(token))
	return &dpopSigner{signer: signer, token: token, ath: base64.RawURLEncoding.EncodeToString(sum[:])}, nil
}

func (d *dpopSigner) prepare(req *http.Request) {
	proof := ""
	if i := d.next.Add(1) - 1; i < int64(len(d.pool)) {
		proof = d.pool[i]
	} else {
		d.inline.Add(1)
		proof = d.sign(req)
	}
	req.Header.Set("Authorization", "DPoP "+d.token)
	req.Header.Set("DPoP", proof)
}

func (d *dpopSigner) sign(req *http.Request) string {
	jti := make([]byte, 12)
	_, _ = rand.Read(jti)
	u := *req.URL
	u.RawQuery = ""
	payload, _ := json.Marshal(map[string]any{"jti": base64.RawURLEncoding.EncodeToString(jti), "htm": req.Method,
		"htu": u.String(), "iat": time.Now().Unix(), "ath": d.ath})
	jws, err := d.signer.Sign(payload)
	if err != nil {
		panic(fmt.Sprintf("signing a DPoP proof: %v", err))
	}
	proof, _ := jws.CompactSerialize()
	return proof
}
