package mockidp

import (
	"crypto"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// DPoP at the token endpoint (RFC 9449 §5): a client that sends a DPoP proof gets an access
// token bound to the proof's key (cnf.jkt) and token_type DPoP. The proof is checked as a
// real authorization server checks it: typ dpop+jwt, an asymmetric alg, the public jwk that
// verifies it, htm POST, htu the token endpoint's URL, iat within a minute, a jti never seen
// before. A bad proof is a 400 invalid_dpop_proof.

// dpopAlgs are the proof algorithms the mock accepts (and advertises in discovery).
var dpopAlgs = []jose.SignatureAlgorithm{jose.ES256, jose.ES384, jose.EdDSA, jose.RS256, jose.PS256}

const dpopProofWindow = time.Minute

// dpopBinding returns the thumbprint a token for r is to be bound to: "" when r carries no
// DPoP proof.
func (s *Server) dpopBinding(r *http.Request) (string, *apiError) {
	proofs := r.Header.Values("DPoP")
	if len(proofs) == 0 {
		return "", nil
	}
	bad := func(description string) *apiError {
		return &apiError{status: http.StatusBadRequest, code: "invalid_dpop_proof", description: description}
	}
	if len(proofs) > 1 {
		return "", bad("send one DPoP header")
	}
	jws, err := jose.ParseSignedCompact(proofs[0], dpopAlgs)
	if err != nil || len(jws.Signatures) != 1 {
		return "", bad("the DPoP proof is not a JWS signed with a supported algorithm")
	}
	h := jws.Signatures[0].Protected
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != "dpop+jwt" {
		return "", bad("typ must be dpop+jwt")
	}
	if h.JSONWebKey == nil || !h.JSONWebKey.IsPublic() {
		return "", bad("the proof must carry a public jwk")
	}
	payload, err := jws.Verify(h.JSONWebKey)
	if err != nil {
		return "", bad("the proof's signature does not verify")
	}
	var claims struct {
		JTI string  `json:"jti"`
		HTM string  `json:"htm"`
		HTU string  `json:"htu"`
		IAT float64 `json:"iat"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.JTI == "" || claims.IAT == 0 {
		return "", bad("jti, htm, htu and iat are required")
	}
	want := s.issuerFor(r) + r.URL.Path
	if claims.HTM != http.MethodPost || !sameURL(claims.HTU, want) {
		return "", bad("htm and htu must name POST " + want)
	}
	if d := time.Since(time.Unix(int64(claims.IAT), 0)); d > dpopProofWindow || d < -dpopProofWindow {
		return "", bad("iat is not recent")
	}
	s.mu.Lock()
	replayed := s.dpopJTIs[claims.JTI]
	s.dpopJTIs[claims.JTI] = true
	s.mu.Unlock()
	if replayed {
		return "", bad("the proof was used before")
	}
	thumb, err := h.JSONWebKey.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", bad("the jwk has no thumbprint")
	}
	return base64.RawURLEncoding.EncodeToString(thumb), nil
}

// sameURL compares two URLs without their query and fragment.
func sameURL(a, b string) bool {
	ua, errA := url.Parse(a)
	ub, errB := url.Parse(b)
	return errA == nil && errB == nil && ua.Scheme == ub.Scheme && ua.Host == ub.Host && ua.EscapedPath() == ub.EscapedPath()
}
