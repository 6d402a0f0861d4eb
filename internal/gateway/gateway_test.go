package gateway

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/store"
)

// TestNewWithRealValidators assembles the gateway the way `idpgate serve` and the provider's
// acceptance tests do (New, the real token.Factory, RS256 tokens from a local JWKS) and
// checks the whole request path end to end.
func TestNewWithRealValidators(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(jwks)
	}))
	defer idp.Close()
	mint := func(claims map[string]any) string {
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithHeader("kid", "k1"))
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		base := map[string]any{"iss": idp.URL, "aud": "orders-api", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "sub": "alice"}
		for k, v := range claims {
			base[k] = v
		}
		tok, err := jwt.Signed(signer).Claims(base).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}

	h := newRealHarness(t)
	adminSrv := h.adminSrv
	up := newEchoUpstream(t)

	api := h.createAPI(adminapi.API{Name: "orders", ListenPath: "/orders", UpstreamURL: up.URL,
		JWT: &adminapi.JWTValidation{Issuer: idp.URL, JWKSURI: idp.URL, Audiences: []string{"orders-api"}, RequiredScopes: []string{"orders:read"}}})
	h.createPolicy(adminapi.Policy{Name: "gold", ClientIDs: []string{"app"},
		AccessRights: []adminapi.AccessRight{{APIID: api.ID, Methods: []string{"GET"}}}})

	get := func(token string) *http.Response { return h.do("GET", "/orders/1", token) }
	good := mint(map[string]any{"client_id": "app", "scope": "orders:read"})
	e := decodeEcho(t, expect(t, get(good), http.StatusOK))
	if e.Header[adminapi.HeaderSubject][0] != "alice" || e.Header[adminapi.HeaderClientID][0] != "app" {
		t.Errorf("identity headers: %v", e.Header)
	}
	expect(t, get(good), http.StatusOK) // the second time from the verified-token cache
	expect(t, get(""), http.StatusUnauthorized)
	expect(t, get(good[:len(good)-4]+"AAAA"), http.StatusUnauthorized)
	expect(t, get(mint(map[string]any{"client_id": "app", "scope": "orders:read", "aud": "other"})), http.StatusUnauthorized)
	expect(t, get(mint(map[string]any{"client_id": "app"})), http.StatusForbidden)                              // API scope missing
	expect(t, get(mint(map[string]any{"client_id": "intruder", "scope": "orders:read"})), http.StatusForbidden) // no policy
	expect(t, get(mint(map[string]any{"pol": "gold", "scope": "orders:read"})), http.StatusOK)                  // Tyk-style policy claim

	resp, err := http.Get(adminSrv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	text := string(expect(t, resp, http.StatusOK))
	for _, want := range []string{`idpgate_requests_total{api="orders",outcome="forwarded"} 3`, `idpgate_jwks_fetches_total{result="success"}`} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(adminSrv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		expect(t, resp, http.StatusOK)
	}
}

func TestNewRequiresOptions(t *testing.T) {
	if _, err := New(Options{AdminToken: "x"}); err == nil || !strings.Contains(err.Error(), "DataDir or Options.RedisURL") {
		t.Errorf("missing DataDir: %v", err)
	}
	if _, err := New(Options{DataDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "AdminToken") {
		t.Errorf("missing AdminToken: %v", err)
	}
}

// TestStoreFileIsExclusive: a second gateway on the same data directory fails clearly
// instead of corrupting the file.
func TestStoreFileIsExclusive(t *testing.T) {
	h := newHarness(t)
	defer func(old time.Duration) { store.BoltLockTimeout = old }(store.BoltLockTimeout)
	store.BoltLockTimeout = 100 * time.Millisecond
	_, err := store.OpenBolt(h.dir)
	if err == nil || !strings.Contains(err.Error(), "locked") {
		t.Errorf("second open: %v", err)
	}
}

// TestReadyzFailsOnceTheStoreIsClosed: readiness reflects the store, not just the process.
func TestReadyzFailsOnceTheStoreIsClosed(t *testing.T) {
	g, err := New(Options{DataDir: t.TempDir(), AdminToken: "readyz-test-token"})
	if err != nil {
		t.Fatal(err)
	}
	admin := httptest.NewServer(g.AdminHandler())
	defer admin.Close()
	readyz := func() int {
		resp, err := http.Get(admin.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := readyz(); got != http.StatusOK {
		t.Fatalf("/readyz of an open gateway: HTTP %d, want 200", got)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readyz(); got != http.StatusServiceUnavailable {
		t.Errorf("/readyz after Close: HTTP %d, want 503", got)
	}
}
