package gateway

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
	"strings"
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

// Test helpers shared by the token-validation tests (prefix tt). Keys are fixed PEM files
// in testdata, so tokens are byte-identical across runs and fuzz workers.

const (
	ttIssuer   = "https://idp.example.test"
	ttAudience = "api://orders"
)

// ttStart is the tests' "now": fixed, so that signed tokens are reproducible.
var ttStart = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

// ttClock is a settable clock for the factory (and its JWKS rate limit).
type ttClock struct{ ns atomic.Int64 }

func ttNewClock() *ttClock {
	c := &ttClock{}
	c.ns.Store(ttStart.UnixNano())
	return c
}

func (c *ttClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *ttClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// ttKey is a signing key with the kid and alg it is published under.
type ttKey struct {
	kid  string
	alg  jose.SignatureAlgorithm
	priv crypto.Signer
}

var ttKeyFiles sync.Map // file name → crypto.Signer

func ttLoadKey(t testing.TB, file, kid string, alg jose.SignatureAlgorithm) *ttKey {
	t.Helper()
	if k, ok := ttKeyFiles.Load(file); ok {
		return &ttKey{kid: kid, alg: alg, priv: k.(crypto.Signer)}
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
	ttKeyFiles.Store(file, k)
	return &ttKey{kid: kid, alg: alg, priv: k.(crypto.Signer)}
}

// ttRSA returns RSA test key a, b or c published as kid with RS256.
func ttRSA(t testing.TB, which, kid string) *ttKey {
	return ttLoadKey(t, "rsa_"+which+".pem", kid, jose.RS256)
}

func (k *ttKey) public() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.priv.Public(), KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"}
}

// ttSign signs claims with k (kid header = k.kid unless empty) and extra headers.
func ttSign(t testing.TB, k *ttKey, claims map[string]any, headers map[jose.HeaderKey]any) string {
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

// ttClaims are the claims of a valid token issued at now.
func ttClaims(now time.Time) map[string]any {
	return map[string]any{
		"iss":       ttIssuer,
		"aud":       ttAudience,
		"sub":       "user-1",
		"client_id": "app-1",
		"scope":     "orders:read orders:write",
		"pol":       "gold",
		"iat":       now.Unix(),
		"exp":       now.Add(10 * time.Minute).Unix(),
	}
}

// ttJWKSServer is an IdP's JWKS endpoint that counts the requests it receives.
type ttJWKSServer struct {
	*httptest.Server
	hits atomic.Int64

	mu           sync.Mutex
	keys         []jose.JSONWebKey
	status       int
	cacheControl string
	delay        time.Duration
	body         []byte // when set, served verbatim
}

func ttStartJWKS(t testing.TB, keys ...*ttKey) *ttJWKSServer {
	s := &ttJWKSServer{status: http.StatusOK}
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

func (s *ttJWKSServer) setKeys(keys ...*ttKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = nil
	for _, k := range keys {
		s.keys = append(s.keys, k.public())
	}
}

func (s *ttJWKSServer) setStatus(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status = status
}

func (s *ttJWKSServer) set(f func(s *ttJWKSServer)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

// ttFactory returns a factory on clock with its own metrics registry.
func ttFactory(t testing.TB, clock *ttClock, mod ...func(*ValidatorFactoryOptions)) (*ValidatorFactory, *prometheus.Registry) {
	reg := prometheus.NewRegistry()
	opts := ValidatorFactoryOptions{Registerer: reg, Now: clock.Now}
	for _, m := range mod {
		m(&opts)
	}
	f := NewValidatorFactory(opts)
	t.Cleanup(f.Close)
	return f, reg
}

func ttNoTokenCache(o *ValidatorFactoryOptions) { o.TokenCacheTTL = -1 }

func ttJWTAPI(jwksURL string) adminapi.API {
	return adminapi.API{
		Name: "orders", ListenPath: "/orders", UpstreamURL: "http://127.0.0.1:1",
		JWT: &adminapi.JWTValidation{Issuer: ttIssuer, JWKSURI: jwksURL, Audiences: []string{ttAudience}},
	}
}

func ttValidator(t testing.TB, f *ValidatorFactory, api adminapi.API) TokenValidator {
	t.Helper()
	v, err := f.ForAPI(api)
	if err != nil {
		t.Fatalf("ForAPI: %v", err)
	}
	return v
}

// ttWantCode fails unless err is a *TokenError with code.
func ttWantCode(t testing.TB, err error, code string) *TokenError {
	t.Helper()
	var te *TokenError
	if !errors.As(err, &te) {
		t.Fatalf("error = %v (%T), want *TokenError %s", err, err, code)
	}
	if te.Code != code {
		t.Fatalf("code = %q (reason %q), want %q", te.Code, te.Reason, code)
	}
	return te
}

func ttMustValidate(t testing.TB, v TokenValidator, token string) *Identity {
	t.Helper()
	id, err := v.Validate(context.Background(), token)
	if err != nil {
		t.Fatalf("valid token refused: %v", err)
	}
	return id
}

// ttCounter reads one series of a counter vector.
func ttCounter(t testing.TB, c *prometheus.CounterVec, result string) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.WithLabelValues(result).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// ttWaitFor polls cond for up to 5s (background refreshes run in goroutines).
func ttWaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestJWKSParseKeepsOnlyAsymmetricSigningKeys(t *testing.T) {
	rsa := ttRSA(t, "a", "rsa").public()
	ec := ttLoadKey(t, "ec_p256.pem", "ec", jose.ES256).public()
	ed := ttLoadKey(t, "ed25519.pem", "ed", jose.EdDSA).public()
	enc := ttRSA(t, "b", "enc").public()
	enc.Use = "enc"
	weak := ttLoadKey(t, "rsa_weak_1024.pem", "weak", jose.RS256).public()
	private := jose.JSONWebKey{Key: ttRSA(t, "c", "").priv, KeyID: "private", Use: "sig"}

	var raws []json.RawMessage
	for _, k := range []jose.JSONWebKey{rsa, ec, ed, enc, weak, private} {
		b, err := k.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		raws = append(raws, b)
	}
	raws = append(raws,
		json.RawMessage(`{"kty":"oct","kid":"hmac","k":"c2VjcmV0"}`),
		json.RawMessage(`{"kty":"nonsense","kid":"x"}`),
	)
	body, _ := json.Marshal(map[string]any{"keys": raws})

	set, skipped, err := jwksParse(body)
	if err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, k := range set.keys {
		kids = append(kids, k.KeyID)
		if !k.IsPublic() {
			t.Errorf("kid %s: holds private key material", k.KeyID)
		}
	}
	if got, want := strings.Join(kids, ","), "rsa,ec,ed,private"; got != want {
		t.Errorf("kept kids = %s, want %s", got, want)
	}
	if skipped != 4 {
		t.Errorf("skipped = %d, want 4 (enc, weak RSA, oct, unparsable)", skipped)
	}

	if _, _, err := jwksParse([]byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`)); err == nil {
		t.Error("a JWKS without usable keys must be an error (so stale keys are kept)")
	}
	if _, _, err := jwksParse([]byte(`not json`)); err == nil {
		t.Error("garbage must be an error")
	}
}

func TestJWKSMaxAge(t *testing.T) {
	for header, want := range map[string]time.Duration{
		"":                               jwksDefaultMaxAge,
		"public, max-age=600":            10 * time.Minute,
		"max-age=5":                      jwksMinMaxAge,
		"max-age=99999999999999999":      jwksMaxMaxAge,
		"no-store":                       jwksDefaultMaxAge,
		`Max-Age="120", must-revalidate`: 2 * time.Minute,
		"max-age=-3":                     jwksDefaultMaxAge,
	} {
		if got := jwksMaxAge(header); got != want {
			t.Errorf("jwksMaxAge(%q) = %s, want %s", header, got, want)
		}
	}
}

func TestJWKSPrefetchedByForAPIAndSharedAcrossAPIs(t *testing.T) {
	clock := ttNewClock()
	srv := ttStartJWKS(t, ttRSA(t, "a", "a"))
	f, reg := ttFactory(t, clock)
	api := ttJWTAPI(srv.URL)
	v1 := ttValidator(t, f, api)
	ttWaitFor(t, "the prefetch", func() bool { return f.jwksFor(srv.URL).current() != nil })

	other := ttJWTAPI(srv.URL)
	other.JWT.Audiences = []string{"api://other"}
	v2 := ttValidator(t, f, other)

	claims := ttClaims(clock.Now())
	claims["aud"] = []string{ttAudience, "api://other"}
	tok := ttSign(t, ttRSA(t, "a", "a"), claims, nil)
	ttMustValidate(t, v1, tok)
	ttMustValidate(t, v2, tok)
	if n := srv.hits.Load(); n != 1 {
		t.Errorf("JWKS fetched %d times, want 1 (one cache per jwks_uri)", n)
	}
	if got := ttCounter(t, f.jwksFetches, "success"); got != 1 {
		t.Errorf("idpgate_jwks_fetches_total{result=success} = %v, want 1", got)
	}
	families, err := reg.Gather()
	series := 0
	for _, fam := range families {
		series += len(fam.GetMetric())
	}
	if err != nil || len(families) != 2 || series != 5 {
		t.Errorf("registry holds %d families, %d series (%v); want 2 families (jwks, introspection), 5 series", len(families), series, err)
	}
}

func TestJWKSUnknownKidConcurrentRequestsCauseOneFetch(t *testing.T) {
	clock := ttNewClock()
	srv := ttStartJWKS(t, ttRSA(t, "a", "a"))
	f, _ := ttFactory(t, clock)
	v := ttValidator(t, f, ttJWTAPI(srv.URL))
	ttMustValidate(t, v, ttSign(t, ttRSA(t, "a", "a"), ttClaims(clock.Now()), nil))
	before := srv.hits.Load()
	srv.set(func(s *ttJWKSServer) { s.delay = 50 * time.Millisecond })
	clock.Advance(jwksDefaultMinRefetch) // the rate limit allows exactly one refetch now

	unknown := ttSign(t, ttRSA(t, "c", "not-published"), ttClaims(clock.Now()), nil)
	const n = 1000
	var wg sync.WaitGroup
	var invalid atomic.Int64
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := v.Validate(context.Background(), unknown)
			var te *TokenError
			if errors.As(err, &te) && te.Code == tokenCodeInvalid {
				invalid.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	if got := srv.hits.Load() - before; got != 1 {
		t.Errorf("%d concurrent unknown-kid requests caused %d JWKS fetches, want exactly 1", n, got)
	}
	if invalid.Load() != n {
		t.Errorf("%d of %d unknown-kid requests answered invalid_token", invalid.Load(), n)
	}
}

func TestJWKSOutageKeepsCachedKeys(t *testing.T) {
	clock := ttNewClock()
	keyA := ttRSA(t, "a", "a")
	srv := ttStartJWKS(t, keyA)
	// No token cache: every Validate really verifies with the cached JWKS key.
	f, _ := ttFactory(t, clock, ttNoTokenCache)
	v := ttValidator(t, f, ttJWTAPI(srv.URL))
	ttMustValidate(t, v, ttSign(t, keyA, ttClaims(clock.Now()), nil))

	srv.setStatus(http.StatusInternalServerError)
	clock.Advance(jwksDefaultMaxAge + time.Second) // refresh due → fails in the background
	ttMustValidate(t, v, ttSign(t, keyA, ttClaims(clock.Now()), nil))
	ttWaitFor(t, "the failed refresh", func() bool { return ttCounter(t, f.jwksFetches, "error") == 1 })
	ttMustValidate(t, v, ttSign(t, keyA, ttClaims(clock.Now()), nil))

	// The IdP vanishes altogether; an unknown kid now cannot be resolved → 503, but tokens
	// signed by the cached key still pass.
	srv.Close()
	clock.Advance(time.Minute)
	_, err := v.Validate(context.Background(), ttSign(t, ttRSA(t, "b", "b"), ttClaims(clock.Now()), nil))
	ttWantCode(t, err, tokenCodeUnavailable)
	ttMustValidate(t, v, ttSign(t, keyA, ttClaims(clock.Now()), nil))
}

func TestJWKSRotatedKeyPickedUpAfterRefetch(t *testing.T) {
	clock := ttNewClock()
	keyA, keyB, keyC := ttRSA(t, "a", "a"), ttRSA(t, "b", "b"), ttRSA(t, "c", "c")
	srv := ttStartJWKS(t, keyA)
	f, _ := ttFactory(t, clock)
	v := ttValidator(t, f, ttJWTAPI(srv.URL))
	ttMustValidate(t, v, ttSign(t, keyA, ttClaims(clock.Now()), nil))

	srv.setKeys(keyA, keyB) // the IdP rotates in kid b
	clock.Advance(jwksDefaultMinRefetch)
	ttMustValidate(t, v, ttSign(t, keyB, ttClaims(clock.Now()), nil))
	if n := srv.hits.Load(); n != 2 {
		t.Fatalf("JWKS fetched %d times, want 2 (initial + one refetch for kid b)", n)
	}

	// Another new kid within the rate-limit window: no fetch, refused.
	srv.setKeys(keyA, keyB, keyC)
	clock.Advance(5 * time.Second)
	_, err := v.Validate(context.Background(), ttSign(t, keyC, ttClaims(clock.Now()), nil))
	ttWantCode(t, err, tokenCodeInvalid)
	if n := srv.hits.Load(); n != 2 {
		t.Fatalf("JWKS fetched %d times within the refetch interval, want 2", n)
	}
	// Once the interval has passed, the refetch finds it.
	clock.Advance(jwksDefaultMinRefetch)
	ttMustValidate(t, v, ttSign(t, keyC, ttClaims(clock.Now()), nil))
	if n := srv.hits.Load(); n != 3 {
		t.Fatalf("JWKS fetched %d times, want 3", n)
	}
}

func TestJWKSKeyRemovalInvalidatesCachedTokens(t *testing.T) {
	clock := ttNewClock()
	keyA, keyB := ttRSA(t, "a", "a"), ttRSA(t, "b", "b")
	srv := ttStartJWKS(t, keyA, keyB)
	f, _ := ttFactory(t, clock)
	v := ttValidator(t, f, ttJWTAPI(srv.URL))
	claims := ttClaims(clock.Now())
	claims["exp"] = clock.Now().Add(time.Hour).Unix()
	tokA, tokB := ttSign(t, keyA, claims, nil), ttSign(t, keyB, claims, nil)
	ttMustValidate(t, v, tokA)
	ttMustValidate(t, v, tokB)
	if f.verified.count() != 2 {
		t.Fatalf("cache holds %d entries, want 2", f.verified.count())
	}

	// Same document at the next refresh: the cached entries stay usable.
	clock.Advance(jwksDefaultMaxAge + time.Second)
	ttMustValidate(t, v, tokA)
	ttWaitFor(t, "the periodic refresh", func() bool { return srv.hits.Load() == 2 })
	ttWaitFor(t, "the refresh to settle", func() bool { return !f.jwksFor(srv.URL).refreshing.Load() })
	hitsBefore := srv.hits.Load()
	ttMustValidate(t, v, tokA)
	if srv.hits.Load() != hitsBefore {
		t.Fatal("an unchanged JWKS must not cost a refetch")
	}

	// The IdP withdraws key b: after the next refresh, tokB is refused although cached.
	srv.setKeys(keyA)
	clock.Advance(jwksDefaultMaxAge + time.Second)
	ttMustValidate(t, v, tokA) // triggers the background refresh
	ttWaitFor(t, "the refresh that drops kid b", func() bool {
		set := f.jwksFor(srv.URL).current()
		return set != nil && len(set.keys) == 1
	})
	_, err := v.Validate(context.Background(), tokB)
	ttWantCode(t, err, tokenCodeInvalid)
	ttMustValidate(t, v, tokA)
}

func TestJWKSUnavailableBeforeFirstFetch(t *testing.T) {
	clock := ttNewClock()
	srv := ttStartJWKS(t, ttRSA(t, "a", "a"))
	srv.setStatus(http.StatusServiceUnavailable)
	f, _ := ttFactory(t, clock)
	v := ttValidator(t, f, ttJWTAPI(srv.URL))
	tok := ttSign(t, ttRSA(t, "a", "a"), ttClaims(clock.Now()), nil)
	_, err := v.Validate(context.Background(), tok)
	ttWantCode(t, err, tokenCodeUnavailable)

	// While nothing is cached, retries come after at most jwksColdRetry, not the full interval.
	srv.setStatus(http.StatusOK)
	clock.Advance(jwksColdRetry)
	ttMustValidate(t, v, tok)
}

func TestJWKSOversizedOrInvalidDocumentIsAFailedFetch(t *testing.T) {
	for name, body := range map[string][]byte{
		"oversized": []byte(`{"keys":[],"pad":"` + strings.Repeat("x", jwksMaxBodyBytes) + `"}`),
		"not json":  []byte("<html>"),
		"no keys":   []byte(`{"keys":[]}`),
	} {
		t.Run(name, func(t *testing.T) {
			clock := ttNewClock()
			srv := ttStartJWKS(t)
			srv.set(func(s *ttJWKSServer) { s.body = body })
			f, _ := ttFactory(t, clock)
			v := ttValidator(t, f, ttJWTAPI(srv.URL))
			_, err := v.Validate(context.Background(), ttSign(t, ttRSA(t, "a", "a"), ttClaims(clock.Now()), nil))
			ttWantCode(t, err, tokenCodeUnavailable)
		})
	}
}

func TestJWKSRefreshHonoursMaxAge(t *testing.T) {
	clock := ttNewClock()
	keyA := ttRSA(t, "a", "a")
	srv := ttStartJWKS(t, keyA)
	srv.set(func(s *ttJWKSServer) { s.cacheControl = "max-age=120" })
	f, _ := ttFactory(t, clock, ttNoTokenCache)
	v := ttValidator(t, f, ttJWTAPI(srv.URL))
	ttMustValidate(t, v, ttSign(t, keyA, ttClaims(clock.Now()), nil))

	clock.Advance(100 * time.Second)
	ttMustValidate(t, v, ttSign(t, keyA, ttClaims(clock.Now()), nil))
	time.Sleep(20 * time.Millisecond)
	if n := srv.hits.Load(); n != 1 {
		t.Fatalf("JWKS fetched %d times before max-age, want 1", n)
	}
	clock.Advance(30 * time.Second)
	ttMustValidate(t, v, ttSign(t, keyA, ttClaims(clock.Now()), nil))
	ttWaitFor(t, "the refresh after max-age", func() bool { return srv.hits.Load() == 2 })
}

func TestJWKSCandidates(t *testing.T) {
	keys := []*ttKey{ttRSA(t, "a", "a"), ttRSA(t, "b", "b"), ttLoadKey(t, "ec_p256.pem", "ec", jose.ES256)}
	var doc jose.JSONWebKeySet
	for _, k := range keys {
		doc.Keys = append(doc.Keys, k.public())
	}
	body, _ := json.Marshal(doc)
	set, _, err := jwksParse(body)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		kid       string
		alg       jose.SignatureAlgorithm
		want      int
		ambiguous bool
	}{
		{"a", jose.RS256, 1, false},
		{"a", jose.ES256, 0, false},  // an RSA key never verifies ECDSA
		{"a", jose.PS256, 0, false},  // the key's published alg is RS256
		{"ec", jose.ES384, 0, false}, // wrong curve
		{"ec", jose.ES256, 1, false},
		{"", jose.ES256, 1, false}, // no kid, one key fits
		{"", jose.RS256, 0, true},  // no kid, two keys fit
		{"zz", jose.RS256, 0, false},
	} {
		got, ambiguous := set.candidates(tc.kid, tc.alg)
		if len(got) != tc.want || ambiguous != tc.ambiguous {
			t.Errorf("candidates(%q, %s) = %d keys, ambiguous %v; want %d, %v", tc.kid, tc.alg, len(got), ambiguous, tc.want, tc.ambiguous)
		}
	}
}

func TestJWKSColdStartConcurrentRequestsCauseOneFetch(t *testing.T) {
	clock := ttNewClock()
	key := ttRSA(t, "a", "a")
	srv := ttStartJWKS(t, key)
	srv.set(func(s *ttJWKSServer) { s.delay = 50 * time.Millisecond })
	f, _ := ttFactory(t, clock, ttNoTokenCache)
	v := ttValidator(t, f, ttJWTAPI(srv.URL)) // starts the prefetch
	tok := ttSign(t, key, ttClaims(clock.Now()), nil)
	var wg sync.WaitGroup
	var ok atomic.Int64
	for range 200 {
		wg.Go(func() {
			if _, err := v.Validate(context.Background(), tok); err == nil {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 200 || srv.hits.Load() != 1 {
		t.Errorf("%d of 200 accepted with %d JWKS fetches; want 200 with 1", ok.Load(), srv.hits.Load())
	}
}
