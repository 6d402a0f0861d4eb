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

// dpopSigner signs a fresh proof for each request, as a DPoP client does.
type dpopSigner struct {
	signer jose.Signer
	token  string
	ath    string
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
	req.Header.Set("Authorization", "DPoP "+d.token)
	req.Header.Set("DPoP", proof)
}
