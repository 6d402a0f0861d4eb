package token

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

func TestJWKSParseKeepsOnlyAsymmetricSigningKeys(t *testing.T) {
	rsa := rsaKey(t, "a", "rsa").public()
	ec := loadKey(t, "ec_p256.pem", "ec", jose.ES256).public()
	ed := loadKey(t, "ed25519.pem", "ed", jose.EdDSA).public()
	enc := rsaKey(t, "b", "enc").public()
	enc.Use = "enc"
	weak := loadKey(t, "rsa_weak_1024.pem", "weak", jose.RS256).public()
	private := jose.JSONWebKey{Key: rsaKey(t, "c", "").priv, KeyID: "private", Use: "sig"}

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
	clock := newFakeClock()
	srv := startJWKS(t, rsaKey(t, "a", "a"))
	f, reg := newTestFactory(t, clock)
	api := jwtAPI(srv.URL)
	v1 := validatorFor(t, f, api)
	waitFor(t, "the prefetch", func() bool { return f.jwksFor(srv.URL).current() != nil })

	other := jwtAPI(srv.URL)
	other.JWT.Audiences = []string{"api://other"}
	v2 := validatorFor(t, f, other)

	claims := validClaims(clock.Now())
	claims["aud"] = []string{testAudience, "api://other"}
	tok := signJWT(t, rsaKey(t, "a", "a"), claims, nil)
	mustValidate(t, v1, tok)
	mustValidate(t, v2, tok)
	if n := srv.hits.Load(); n != 1 {
		t.Errorf("JWKS fetched %d times, want 1 (one cache per jwks_uri)", n)
	}
	if got := counterValue(t, f.jwksFetches, "success"); got != 1 {
		t.Errorf("idpgate_jwks_fetches_total{result=success} = %v, want 1", got)
	}
	families, err := reg.Gather()
	series := 0
	for _, fam := range families {
		series += len(fam.GetMetric())
	}
	if err != nil || len(families) != 3 || series != 6 {
		t.Errorf("registry holds %d families, %d series (%v); want 3 families (jwks, introspection, refused cache), 6 series", len(families), series, err)
	}
}

func TestJWKSUnknownKidConcurrentRequestsCauseOneFetch(t *testing.T) {
	clock := newFakeClock()
	srv := startJWKS(t, rsaKey(t, "a", "a"))
	f, _ := newTestFactory(t, clock)
	v := validatorFor(t, f, jwtAPI(srv.URL))
	mustValidate(t, v, signJWT(t, rsaKey(t, "a", "a"), validClaims(clock.Now()), nil))
	before := srv.hits.Load()
	srv.set(func(s *jwksServer) { s.delay = 50 * time.Millisecond })
	clock.Advance(jwksDefaultMinRefetch) // the rate limit allows exactly one refetch now

	unknown := signJWT(t, rsaKey(t, "c", "not-published"), validClaims(clock.Now()), nil)
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
			var te *Error
			if errors.As(err, &te) && te.Code == CodeInvalid {
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
	clock := newFakeClock()
	keyA := rsaKey(t, "a", "a")
	srv := startJWKS(t, keyA)
	// No token cache: every Validate really verifies with the cached JWKS key.
	f, _ := newTestFactory(t, clock, noTokenCache)
	v := validatorFor(t, f, jwtAPI(srv.URL))
	mustValidate(t, v, signJWT(t, keyA, validClaims(clock.Now()), nil))

	srv.setStatus(http.StatusInternalServerError)
	clock.Advance(jwksDefaultMaxAge + time.Second) // refresh due → fails in the background
	mustValidate(t, v, signJWT(t, keyA, validClaims(clock.Now()), nil))
	waitFor(t, "the failed refresh", func() bool { return counterValue(t, f.jwksFetches, "error") == 1 })
	mustValidate(t, v, signJWT(t, keyA, validClaims(clock.Now()), nil))

	// The IdP vanishes altogether; an unknown kid now cannot be resolved → 401 (a forged kid
	// must not make the API look unavailable; the failed refetch is logged and counted), but
	// tokens signed by the cached key still pass.
	srv.Close()
	clock.Advance(time.Minute)
	errorsBefore := counterValue(t, f.jwksFetches, "error")
	_, err := v.Validate(context.Background(), signJWT(t, rsaKey(t, "b", "b"), validClaims(clock.Now()), nil))
	if te := refusalOf(t, err, CodeInvalid); !strings.Contains(te.Reason, "could not be refreshed") {
		t.Errorf("reason %q does not say the JWKS could not be refreshed", te.Reason)
	}
	if counterValue(t, f.jwksFetches, "error") != errorsBefore+1 {
		t.Error("the failed refetch for the unknown kid was not counted")
	}
	mustValidate(t, v, signJWT(t, keyA, validClaims(clock.Now()), nil))
}

func TestJWKSRotatedKeyPickedUpAfterRefetch(t *testing.T) {
	clock, keyA, srv, f := jwtSetup(t)
	keyB, keyC := rsaKey(t, "b", "b"), rsaKey(t, "c", "c")
	v := validatorFor(t, f, jwtAPI(srv.URL))
	mustValidate(t, v, signJWT(t, keyA, validClaims(clock.Now()), nil))

	srv.setKeys(keyA, keyB) // the IdP rotates in kid b
	clock.Advance(jwksDefaultMinRefetch)
	mustValidate(t, v, signJWT(t, keyB, validClaims(clock.Now()), nil))
	if n := srv.hits.Load(); n != 2 {
		t.Fatalf("JWKS fetched %d times, want 2 (initial + one refetch for kid b)", n)
	}

	// Another new kid within the rate-limit window: no fetch, refused.
	srv.setKeys(keyA, keyB, keyC)
	clock.Advance(5 * time.Second)
	_, err := v.Validate(context.Background(), signJWT(t, keyC, validClaims(clock.Now()), nil))
	wantCode(t, err, CodeInvalid)
	if n := srv.hits.Load(); n != 2 {
		t.Fatalf("JWKS fetched %d times within the refetch interval, want 2", n)
	}
	// Once the interval has passed, the refetch finds it.
	clock.Advance(jwksDefaultMinRefetch)
	mustValidate(t, v, signJWT(t, keyC, validClaims(clock.Now()), nil))
	if n := srv.hits.Load(); n != 3 {
		t.Fatalf("JWKS fetched %d times, want 3", n)
	}
}

// TestJWKSUnknownKidSoonAfterAnotherFetch: a key the IdP publishes just after the gateway's
// fetch (Hydra publishes its first access-token key at its first issuance) is fetched for the
// first token that needs it, a second later, not a refetch interval later; unknown kids stay
// limited to one fetch per interval among themselves, and no two fetches are closer than a
// second.
func TestJWKSUnknownKidSoonAfterAnotherFetch(t *testing.T) {
	clock, keyA, srv, f := jwtSetup(t)
	keyB, keyC := rsaKey(t, "b", "b"), rsaKey(t, "c", "c")
	v := validatorFor(t, f, jwtAPI(srv.URL))
	mustValidate(t, v, signJWT(t, keyA, validClaims(clock.Now()), nil))
	waitForIdleJWKS(t, f, srv.URL)
	srv.setKeys(keyA, keyB) // published right after the gateway's fetch

	clock.Advance(jwksColdRetry / 2)
	_, err := v.Validate(context.Background(), signJWT(t, keyB, validClaims(clock.Now()), nil))
	wantCode(t, err, CodeInvalid)
	if n := srv.hits.Load(); n != 1 {
		t.Fatalf("JWKS fetched %d times within a second of the last fetch, want 1", n)
	}

	clock.Advance(jwksColdRetry / 2)
	mustValidate(t, v, signJWT(t, keyB, validClaims(clock.Now()), nil))
	if n := srv.hits.Load(); n != 2 {
		t.Fatalf("JWKS fetched %d times, want 2 (the first unknown kid a second after the last fetch refetches)", n)
	}

	srv.setKeys(keyA, keyB, keyC)
	clock.Advance(2 * time.Second)
	_, err = v.Validate(context.Background(), signJWT(t, keyC, validClaims(clock.Now()), nil))
	wantCode(t, err, CodeInvalid)
	if n := srv.hits.Load(); n != 2 {
		t.Fatalf("JWKS fetched %d times: a second unknown kid within the refetch interval of the first fetched again", n)
	}
	clock.Advance(jwksDefaultMinRefetch)
	mustValidate(t, v, signJWT(t, keyC, validClaims(clock.Now()), nil))
}

func TestJWKSKeyRemovalInvalidatesCachedTokens(t *testing.T) {
	clock := newFakeClock()
	keyA, keyB := rsaKey(t, "a", "a"), rsaKey(t, "b", "b")
	srv := startJWKS(t, keyA, keyB)
	f, _ := newTestFactory(t, clock)
	v := validatorFor(t, f, jwtAPI(srv.URL))
	claims := validClaims(clock.Now())
	claims["exp"] = clock.Now().Add(time.Hour).Unix()
	tokA, tokB := signJWT(t, keyA, claims, nil), signJWT(t, keyB, claims, nil)
	mustValidate(t, v, tokA)
	mustValidate(t, v, tokB)
	if f.verified.count() != 2 {
		t.Fatalf("cache holds %d entries, want 2", f.verified.count())
	}

	// Same document at the next refresh: the cached entries stay usable.
	clock.Advance(jwksDefaultMaxAge + time.Second)
	mustValidate(t, v, tokA)
	waitFor(t, "the periodic refresh", func() bool { return srv.hits.Load() == 2 })
	waitForIdleJWKS(t, f, srv.URL)
	hitsBefore := srv.hits.Load()
	mustValidate(t, v, tokA)
	if srv.hits.Load() != hitsBefore {
		t.Fatal("an unchanged JWKS must not cost a refetch")
	}

	// The IdP withdraws key b: after the next refresh, tokB is refused although cached.
	srv.setKeys(keyA)
	clock.Advance(jwksDefaultMaxAge + time.Second)
	mustValidate(t, v, tokA) // triggers the background refresh
	waitFor(t, "the refresh that drops kid b", func() bool {
		set := f.jwksFor(srv.URL).current()
		return set != nil && len(set.keys) == 1
	})
	_, err := v.Validate(context.Background(), tokB)
	wantCode(t, err, CodeInvalid)
	mustValidate(t, v, tokA)
}

func TestJWKSUnavailableBeforeFirstFetch(t *testing.T) {
	clock := newFakeClock()
	srv := startJWKS(t, rsaKey(t, "a", "a"))
	srv.setStatus(http.StatusServiceUnavailable)
	f, _ := newTestFactory(t, clock)
	v := validatorFor(t, f, jwtAPI(srv.URL))
	tok := signJWT(t, rsaKey(t, "a", "a"), validClaims(clock.Now()), nil)
	_, err := v.Validate(context.Background(), tok)
	wantCode(t, err, CodeUnavailable)

	// While nothing is cached, retries come after at most jwksColdRetry, not the full interval.
	srv.setStatus(http.StatusOK)
	clock.Advance(jwksColdRetry)
	mustValidate(t, v, tok)
}

func TestJWKSOversizedOrInvalidDocumentIsAFailedFetch(t *testing.T) {
	for name, body := range map[string][]byte{
		"oversized": []byte(`{"keys":[],"pad":"` + strings.Repeat("x", jwksMaxBodyBytes) + `"}`),
		"not json":  []byte("<html>"),
		"no keys":   []byte(`{"keys":[]}`),
	} {
		t.Run(name, func(t *testing.T) {
			clock := newFakeClock()
			srv := startJWKS(t)
			srv.set(func(s *jwksServer) { s.body = body })
			f, _ := newTestFactory(t, clock)
			v := validatorFor(t, f, jwtAPI(srv.URL))
			_, err := v.Validate(context.Background(), signJWT(t, rsaKey(t, "a", "a"), validClaims(clock.Now()), nil))
			wantCode(t, err, CodeUnavailable)
		})
	}
}

func TestJWKSRefreshHonoursMaxAge(t *testing.T) {
	clock, keyA, srv, f := jwtSetup(t, noTokenCache)
	srv.set(func(s *jwksServer) { s.cacheControl = "max-age=120" })
	v := validatorFor(t, f, jwtAPI(srv.URL))
	mustValidate(t, v, signJWT(t, keyA, validClaims(clock.Now()), nil))

	clock.Advance(100 * time.Second)
	mustValidate(t, v, signJWT(t, keyA, validClaims(clock.Now()), nil))
	time.Sleep(20 * time.Millisecond)
	if n := srv.hits.Load(); n != 1 {
		t.Fatalf("JWKS fetched %d times before max-age, want 1", n)
	}
	waitForIdleJWKS(t, f, srv.URL)
	clock.Advance(30 * time.Second)
	mustValidate(t, v, signJWT(t, keyA, validClaims(clock.Now()), nil))
	waitFor(t, "the refresh after max-age", func() bool { return srv.hits.Load() == 2 })
}

// TestJWKSLatePrefetchDoesNotFetchAgain: a prefetch goroutine that runs only after a request
// fetched the keys (a busy machine schedules it late) and after the refetch interval passed
// fetches nothing: the keys it was started for are known. inBackground is called here as
// prefetch calls it, at the moment such a late goroutine would run.
func TestJWKSLatePrefetchDoesNotFetchAgain(t *testing.T) {
	clock, keyA, srv, f := jwtSetup(t, noTokenCache)
	srv.set(func(s *jwksServer) { s.cacheControl = "max-age=120" })
	v := validatorFor(t, f, jwtAPI(srv.URL))
	mustValidate(t, v, signJWT(t, keyA, validClaims(clock.Now()), nil))
	waitForIdleJWKS(t, f, srv.URL)
	c := f.jwksFor(srv.URL)
	clock.Advance(time.Minute) // past the refetch interval, before max-age

	c.inBackground(c.keysUnknown)
	waitForIdleJWKS(t, f, srv.URL)
	if n := srv.hits.Load(); n != 1 {
		t.Fatalf("JWKS fetched %d times, want 1: the late prefetch fetched keys already known", n)
	}
}

func TestJWKSCandidates(t *testing.T) {
	keys := []*testKey{rsaKey(t, "a", "a"), rsaKey(t, "b", "b"), loadKey(t, "ec_p256.pem", "ec", jose.ES256)}
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
	clock, key, srv, f := jwtSetup(t, noTokenCache)
	srv.set(func(s *jwksServer) { s.delay = 50 * time.Millisecond })
	v := validatorFor(t, f, jwtAPI(srv.URL)) // starts the prefetch
	tok := signJWT(t, key, validClaims(clock.Now()), nil)
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

// TestRetainDropsUnusedJWKSCaches: the caches of jwks_uris no API names any more go; the
// others, and validators already built, stay.
func TestRetainDropsUnusedJWKSCaches(t *testing.T) {
	clock := newFakeClock()
	key := rsaKey(t, "a", "a")
	one, two := startJWKS(t, key), startJWKS(t, key)
	f, _ := newTestFactory(t, clock)
	apiOne, apiTwo := jwtAPI(one.URL), jwtAPI(two.URL)
	v := validatorFor(t, f, apiOne)
	validatorFor(t, f, apiTwo)
	if n := f.jwksCaches(); n != 2 {
		t.Fatalf("%d caches, want 2", n)
	}
	f.Retain([]adminapi.API{apiTwo, {Name: "introspected", Introspection: &adminapi.Introspection{Endpoint: one.URL}}})
	if n := f.jwksCaches(); n != 1 {
		t.Errorf("after Retain: %d caches, want 1 (only %s is used)", n, two.URL)
	}
	mustValidate(t, v, signJWT(t, key, validClaims(clock.Now()), nil)) // built before: still works
	f.Retain(nil)
	if n := f.jwksCaches(); n != 0 {
		t.Errorf("after Retain(nil): %d caches", n)
	}
}
