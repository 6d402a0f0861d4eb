package gateway

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/mockidp"
)

// dpopClient holds a client's proof key.
type dpopClient struct {
	t    *testing.T
	priv *ecdsa.PrivateKey
}

func newDPoPClient(t *testing.T) *dpopClient {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &dpopClient{t: t, priv: priv}
}

// proof is a DPoP proof for method and u; accessToken "" leaves out ath (token endpoint).
func (c *dpopClient) proof(method, u, accessToken string, iat time.Time, jti string) string {
	claims := map[string]any{"jti": jti, "htm": method, "htu": u, "iat": iat.Unix()}
	if accessToken != "" {
		h := sha256.Sum256([]byte(accessToken))
		claims["ath"] = base64.RawURLEncoding.EncodeToString(h[:])
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: c.priv}, (&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt"))
	if err != nil {
		c.t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		c.t.Fatal(err)
	}
	s, _ := jws.CompactSerialize()
	return s
}

// nextJTI is a fresh proof id.
func nextJTI() string { return rand.Text() }

// TestDPoPBoundTokens: the mock IdP binds a token to the client's key when the client sends a
// proof to its token endpoint; the gateway (sender_constraint dpop, real validators) takes it
// with a valid proof and refuses every way of presenting it without one.
func TestDPoPBoundTokens(t *testing.T) {
	idp := mockidp.NewTestServer(t, mockidp.Options{})
	rec, err := idp.RegisterClient(map[string]any{"client_name": "app", "grant_types": []any{"client_credentials"},
		"response_types": []any{}, "scope": "read", "dpop_bound_access_tokens": true})
	if err != nil {
		t.Fatal(err)
	}
	client := newDPoPClient(t)
	tokenAnswer := clientToken(t, http.DefaultClient, idp, rec, nil, "DPoP", client.proof("POST", idp.TokenEndpoint(), "", time.Now(), nextJTI()))
	if tokenAnswer.TokenType != "DPoP" {
		t.Fatalf("token answer: %+v; want token_type DPoP", tokenAnswer)
	}
	at := tokenAnswer.AccessToken

	h := newRealHarness(t)
	h.protectWithIdP(idp, rec.ClientID, adminapi.API{Name: "dpop", ListenPath: "/dpop", SenderConstraint: adminapi.SenderConstraintDPoP})
	target := h.proxy.URL + "/dpop/orders/1"
	send := func(method, scheme, tok string, proofs ...string) *http.Response {
		req, _ := http.NewRequest(method, target+"?page=2", nil)
		if tok != "" {
			req.Header.Set("Authorization", scheme+" "+tok)
		}
		for _, p := range proofs {
			req.Header.Add("DPoP", p)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	now := time.Now()
	good := client.proof("GET", target, at, now, nextJTI())
	expect(t, send("GET", "DPoP", at, good), http.StatusOK)

	other := newDPoPClient(t)
	for name, tc := range map[string]struct {
		scheme string
		proofs []string
		code   string
	}{
		"replayed proof":         {"DPoP", []string{good}, "invalid_dpop_proof"},
		"as Bearer":              {"Bearer", nil, "invalid_token"},
		"as Bearer with a proof": {"Bearer", []string{client.proof("GET", target, at, now, nextJTI())}, "invalid_token"},
		"no proof":               {"DPoP", nil, "invalid_dpop_proof"},
		"two proofs":             {"DPoP", []string{client.proof("GET", target, at, now, nextJTI()), client.proof("GET", target, at, now, nextJTI())}, "invalid_dpop_proof"},
		"another method":         {"DPoP", []string{client.proof("POST", target, at, now, nextJTI())}, "invalid_dpop_proof"},
		"another URL":            {"DPoP", []string{client.proof("GET", h.proxy.URL+"/dpop/orders/2", at, now, nextJTI())}, "invalid_dpop_proof"},
		"another key":            {"DPoP", []string{other.proof("GET", target, at, now, nextJTI())}, "invalid_dpop_proof"},
		"stale iat":              {"DPoP", []string{client.proof("GET", target, at, now.Add(-2*time.Minute), nextJTI())}, "invalid_dpop_proof"},
		"wrong ath":              {"DPoP", []string{client.proof("GET", target, at+"x", now, nextJTI())}, "invalid_dpop_proof"},
	} {
		resp := send("GET", tc.scheme, at, tc.proofs...)
		expect(t, resp, http.StatusUnauthorized)
		challenge := resp.Header.Get("WWW-Authenticate")
		if !strings.HasPrefix(challenge, "DPoP algs=") || !strings.Contains(challenge, `error="`+tc.code+`"`) {
			t.Errorf("%s: WWW-Authenticate %q, want a DPoP challenge with error=%q", name, challenge, tc.code)
		}
	}

	// the decision endpoint checks the proof against the forwarded request (htm, htu)
	decide := func(proof string) int {
		resp := h.getAs("GET", "/_idpgate/decide", "", "Authorization", "DPoP "+at, "DPoP", proof,
			"X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/dpop/orders/1?page=2",
			"X-Forwarded-Host", strings.TrimPrefix(h.proxy.URL, "http://"), "X-Forwarded-Proto", "http")
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := decide(client.proof("GET", target, at, time.Now(), nextJTI())); got != http.StatusOK {
		t.Errorf("decision with a proof for the forwarded request: %d, want 200", got)
	}
	if got := decide(client.proof("GET", h.proxy.URL+"/_idpgate/decide", at, time.Now(), nextJTI())); got != http.StatusUnauthorized {
		t.Errorf("decision with a proof for the decision URL itself: %d, want 401", got)
	}

	// an unbound token of another client is refused by this API, with the DPoP challenge
	plain, err := idp.RegisterClient(map[string]any{"client_name": "plain", "grant_types": []any{"client_credentials"}, "response_types": []any{}})
	if err != nil {
		t.Fatal(err)
	}
	unbound := idp.MintToken(map[string]any{"sub": plain.ClientID, "client_id": rec.ClientID, "aud": []string{"api://default"}})
	resp := send("GET", "Bearer", unbound)
	expect(t, resp, http.StatusUnauthorized)
	if c := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(c, "DPoP") {
		t.Errorf("an unbound token at a DPoP-only API: WWW-Authenticate %q", c)
	}
	resp = send("GET", "", "")
	expect(t, resp, http.StatusUnauthorized)
	if c := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(c, "DPoP algs=") {
		t.Errorf("no token at a DPoP-only API: WWW-Authenticate %q", c)
	}

	// the mock IdP refuses a replayed or misaddressed proof at its token endpoint
	for name, p := range map[string]string{
		"wrong htu": client.proof("POST", idp.URL()+"/elsewhere", "", time.Now(), nextJTI()),
		"wrong htm": client.proof("GET", idp.TokenEndpoint(), "", time.Now(), nextJTI()),
	} {
		if body := expect(t, tokenRequest(t, http.DefaultClient, idp, rec, nil, "DPoP", p), http.StatusBadRequest); !strings.Contains(string(body), "invalid_dpop_proof") {
			t.Errorf("mock token endpoint, %s: %s", name, body)
		}
	}
}
