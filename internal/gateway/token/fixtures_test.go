package token

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

// Fixtures shared by the package's tests: keys, a clock, a JWKS server, a factory. Keys are
// fixed PEM files in testdata, so tokens are byte-identical across runs and fuzz workers.

const (
	testIssuer   = "https://idp.example.test"
	testAudience = "api://orders"
)

// testStart is the tests' "now": fixed, so that signed tokens are reproducible.
var testStart = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

// fakeClock is a settable clock for the factory (and its JWKS rate limit).
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(testStart.UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// testKey is a signing key with the kid and alg it is published under.
type testKey struct {
	kid  string
	alg  jose.SignatureAlgorithm
	priv crypto.Signer
}

var keyFiles sync.Map // file name → crypto.Signer

func loadKey(t testing.TB, file, kid string, alg jose.SignatureAlgorithm) *testKey {
	t.Helper()
	if k, ok := keyFiles.Load(file); ok {
		return &testKey{kid: kid, alg: alg, priv: k.(crypto.Signer)}
	}
	b, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s: no PEM block", file)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	keyFiles.Store(file, k)
	return &testKey{kid: kid, alg: alg, priv: k.(crypto.Signer)}
}

// rsaKey returns RSA test key a, b or c published as kid with RS256.
func rsaKey(t testing.TB, which, kid string) *testKey {
	return loadKey(t, "rsa_"+which+".pem", kid, jose.RS256)
}

func (k *testKey) public() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.priv.Public(), KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"}
}

// signJWT signs claims with k (kid header = k.kid unless empty) and extra headers.
func signJWT(t testing.TB, k *testKey, claims map[string]any, headers map[jose.HeaderKey]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	for h, v := range headers {
		opts = opts.WithHeader(h, v)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: k.alg, Key: jose.JSONWebKey{Key: k.priv, KeyID: k.kid}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// validClaims are the claims of a valid token issued at now.
func validClaims(now time.Time) map[string]any {
	return map[string]any{
		"iss":       testIssuer,
		"aud":       testAudience,
		"sub":       "user-1",
		"client_id": "app-1",
		"scope":     "orders:read orders:write",
		"pol":       "gold",
		"iat":       now.Unix(),
		"exp":       now.Add(10 * time.Minute).Unix(),
	}
}

// jwksServer is an IdP's JWKS endpoint that counts the requests it receives.
type jwksServer struct {
	*httptest.Server
	hits atomic.Int64

	mu           sync.Mutex
	keys         []jose.JSONWebKey
	status       int
	cacheControl string
	delay        time.Duration
	body         []byte // when set, served verbatim
}

func startJWKS(t testing.TB, keys ...*testKey) *jwksServer {
	s := &jwksServer{status: http.StatusOK}
	s.setKeys(keys...)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		if r.Method != http.MethodGet {
			t.Errorf("JWKS request method = %s, want GET", r.Method)
		}
		s.mu.Lock()
		status, keys, cc, delay, body := s.status, s.keys, s.cacheControl, s.delay, s.body
		s.mu.Unlock()
		time.Sleep(delay)
		if status != http.StatusOK {
			http.Error(w, "down", status)
			return
		}
		if cc != "" {
			w.Header().Set("Cache-Control", cc)
		}
		w.Header().Set("Content-Type", "application/json")
		if body != nil {
			_, _ = w.Write(body)
			return
		}
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: keys})
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) setKeys(keys ...*testKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = nil
	for _, k := range keys {
		s.keys = append(s.keys, k.public())
	}
}

func (s *jwksServer) setStatus(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status = status
}

func (s *jwksServer) set(f func(s *jwksServer)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

// newTestFactory returns a factory on clock with its own metrics registry.
func newTestFactory(t testing.TB, clock *fakeClock, mod ...func(*FactoryOptions)) (*Factory, *prometheus.Registry) {
	reg := prometheus.NewRegistry()
	opts := FactoryOptions{Registerer: reg, Now: clock.Now}
	for _, m := range mod {
		m(&opts)
	}
	f := NewFactory(opts)
	t.Cleanup(f.Close)
	return f, reg
}

// jwtSetup is the usual world of a JWT test: a fake clock, RSA key "a" served as a JWKS, and a
// factory on that clock with mod applied.
func jwtSetup(t testing.TB, mod ...func(*FactoryOptions)) (*fakeClock, *testKey, *jwksServer, *Factory) {
	t.Helper()
	clock := newFakeClock()
	key := rsaKey(t, "a", "a")
	srv := startJWKS(t, key)
	f, _ := newTestFactory(t, clock, mod...)
	return clock, key, srv, f
}

func noTokenCache(o *FactoryOptions) { o.TokenCacheTTL = -1 }

func jwtAPI(jwksURL string) adminapi.API {
	return adminapi.API{
		Name: "orders", ListenPath: "/orders", UpstreamURL: "http://127.0.0.1:1",
		JWT: &adminapi.JWTValidation{Issuer: testIssuer, JWKSURI: jwksURL, Audiences: []string{testAudience}},
	}
}

func validatorFor(t testing.TB, f *Factory, api adminapi.API) Validator {
	t.Helper()
	v, err := f.ForAPI(api)
	if err != nil {
		t.Fatalf("ForAPI: %v", err)
	}
	return v
}

// refusalOf fails the test unless err is an *Error with code, and returns it.
func refusalOf(t testing.TB, err error, code Code) *Error {
	t.Helper()
	var te *Error
	if !errors.As(err, &te) {
		t.Fatalf("error = %v (%T), want *Error %s", err, err, code)
	}
	if te.Code != code {
		t.Fatalf("code = %q (reason %q), want %q", te.Code, te.Reason, code)
	}
	return te
}

// wantCode fails the test unless err is an *Error with code.
func wantCode(t testing.TB, err error, code Code) {
	t.Helper()
	_ = refusalOf(t, err, code)
}

func mustValidate(t testing.TB, v Validator, token string) *Identity {
	t.Helper()
	id, err := v.Validate(context.Background(), token)
	if err != nil {
		t.Fatalf("valid token refused: %v", err)
	}
	return id
}

// counterValue reads one series of a counter vector.
func counterValue(t testing.TB, c *prometheus.CounterVec, result string) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.WithLabelValues(result).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// waitFor polls cond for up to 5s (background refreshes run in goroutines).
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitForIdleJWKS waits until no background fetch of uri's JWKS is in flight. A refresh that
// falls due while one runs (the prefetch of ForAPI, say) is skipped until the next token, so
// a test that expects one token to trigger a refresh must start from an idle cache.
func waitForIdleJWKS(t testing.TB, f *Factory, uri string) {
	t.Helper()
	waitFor(t, "background JWKS fetches to finish", func() bool { return f.jwksFor(uri).background.Load() == 0 })
}
