package token

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

const (
	introspectionClient = "gateway:1" // a ':' must be form-encoded inside Basic auth
	introspectionSecret = "s3cret/+=value"
)

// introspectionServer is an RFC 7662 endpoint that checks what it receives and counts calls.
type introspectionServer struct {
	*httptest.Server
	hits atomic.Int64

	mu      sync.Mutex
	answers map[string]map[string]any // token → answer; unknown tokens are inactive
	status  int
	delay   time.Duration
}

func startIntrospection(t *testing.T) *introspectionServer {
	s := &introspectionServer{answers: map[string]map[string]any{}, status: http.StatusOK}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			t.Errorf("introspection request: %s %s", r.Method, r.Header.Get("Content-Type"))
		}
		id, secret, ok := r.BasicAuth()
		if uid, _ := url.QueryUnescape(id); !ok || uid != introspectionClient {
			t.Errorf("basic auth client id = %q (ok %v), want %q form-encoded", id, ok, introspectionClient)
		}
		if usecret, _ := url.QueryUnescape(secret); usecret != introspectionSecret {
			t.Errorf("basic auth secret = %q", secret)
		}
		if err := r.ParseForm(); err != nil {
			t.Errorf("form: %v", err)
		}
		s.mu.Lock()
		answer, known := s.answers[r.PostForm.Get("token")]
		status, delay := s.status, s.delay
		s.mu.Unlock()
		time.Sleep(delay)
		if status != http.StatusOK {
			http.Error(w, "down", status)
			return
		}
		if !known {
			answer = map[string]any{"active": false}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(answer)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *introspectionServer) answer(token string, a map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answers[token] = a
}

func (s *introspectionServer) set(f func(*introspectionServer)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

// introspecting is an introspection server, and a validator on a fake clock for an API that
// asks it, caching its answers for cacheTTL.
func introspecting(t *testing.T, cacheTTL time.Duration) (*fakeClock, *introspectionServer, *Factory, Validator) {
	t.Helper()
	clock := newFakeClock()
	srv := startIntrospection(t)
	f, _ := newTestFactory(t, clock)
	return clock, srv, f, validatorFor(t, f, introspectionAPI(srv.URL, cacheTTL))
}

func introspectionAPI(endpoint string, cacheTTL time.Duration) adminapi.API {
	ttl := adminapi.Duration(cacheTTL)
	return adminapi.API{
		Name: "orders", ListenPath: "/orders", UpstreamURL: "http://127.0.0.1:1",
		Introspection: &adminapi.Introspection{
			Endpoint: endpoint, ClientID: introspectionClient, ClientSecret: introspectionSecret, CacheTTL: &ttl,
		},
	}
}

func activeAnswer(now time.Time, exp time.Duration) map[string]any {
	return map[string]any{
		"active": true, "sub": "user-1", "client_id": "app-1", "scope": "orders:read orders:write",
		"exp": now.Add(exp).Unix(), "iat": now.Unix(), "pol": []string{"gold"}, "tenant": "acme",
	}
}

func TestIntrospectActiveTokenIdentity(t *testing.T) {
	clock := newFakeClock()
	srv := startIntrospection(t)
	srv.answer("opaque-1", activeAnswer(clock.Now(), time.Hour))
	f, _ := newTestFactory(t, clock)
	id := mustValidate(t, validatorFor(t, f, introspectionAPI(srv.URL, time.Minute)), "opaque-1")
	if id.Subject != "user-1" || id.ClientID != "app-1" || !slices.Equal(id.Scopes, []string{"orders:read", "orders:write"}) ||
		!slices.Equal(id.Policies, []string{"gold"}) || id.Claims["tenant"] != "acme" ||
		!id.ExpiresAt.Equal(clock.Now().Add(time.Hour)) || !id.IssuedAt.Equal(clock.Now()) {
		t.Errorf("identity = %+v", id)
	}
	if got := counterValue(t, f.introspectReqs, "active"); got != 1 {
		t.Errorf("idpgate_introspection_requests_total{result=active} = %v, want 1", got)
	}
}

// TestIntrospectInactiveIsRefusedAndRememberedBriefly: an inactive (or expired) answer is
// remembered for RefusedTokenTTL, so repeating a bad token does not repeat the call; the
// memory expires, and can be switched off.
func TestIntrospectInactiveIsRefusedAndRememberedBriefly(t *testing.T) {
	clock, srv, f, v := introspecting(t, time.Minute)
	for range 3 {
		_, err := v.Validate(context.Background(), "revoked")
		wantCode(t, err, CodeInvalid)
	}
	if n := srv.hits.Load(); n != 1 {
		t.Errorf("endpoint asked %d times for one inactive token, want 1", n)
	}
	if got := counterValue(t, f.refusedHits, "hit"); got != 2 {
		t.Errorf("refused cache hits %v, want 2", got)
	}
	clock.Advance(refusedTokenDefaultTTL + time.Second)
	_, err := v.Validate(context.Background(), "revoked")
	wantCode(t, err, CodeInvalid)
	if n := srv.hits.Load(); n != 2 {
		t.Errorf("after the refused TTL the endpoint was asked %d times in all, want 2", n)
	}
	// The IdP says active but exp has passed: refused anyway, and remembered as well.
	srv.answer("stale", activeAnswer(clock.Now(), -time.Second))
	for range 2 {
		_, err = v.Validate(context.Background(), "stale")
		wantCode(t, err, CodeInvalid)
	}
	if n := srv.hits.Load(); n != 3 {
		t.Errorf("endpoint asked %d times in all, want 3 (the expired answer is remembered)", n)
	}

	off, _ := newTestFactory(t, clock, func(o *FactoryOptions) { o.RefusedTokenTTL = -1 })
	v = validatorFor(t, off, introspectionAPI(srv.URL, time.Minute))
	for range 2 {
		_, err := v.Validate(context.Background(), "revoked-too")
		wantCode(t, err, CodeInvalid)
	}
	if n := srv.hits.Load(); n != 5 {
		t.Errorf("with RefusedTokenTTL -1 the endpoint was asked %d times in all, want 5", n)
	}
}

// An active answer whose nbf lies ahead is refused, and neither cached nor remembered as
// refused: once nbf has passed, the same token is asked about again and accepted.
func TestIntrospectNotYetValidIsRefusedUntilNbf(t *testing.T) {
	clock, srv, _, v := introspecting(t, time.Minute)
	answer := activeAnswer(clock.Now(), time.Hour)
	answer["nbf"] = clock.Now().Add(2 * time.Second).Unix() // sooner than refusedTokenDefaultTTL
	srv.answer("early", answer)
	_, err := v.Validate(context.Background(), "early")
	if te := refusalOf(t, err, CodeInvalid); !strings.Contains(te.Reason, "nbf") {
		t.Errorf("reason %q does not name nbf", te.Reason)
	}
	clock.Advance(3 * time.Second)
	mustValidate(t, v, "early")
	if n := srv.hits.Load(); n != 2 {
		t.Errorf("endpoint asked %d times, want 2 (the early refusal must not be remembered)", n)
	}
}

func TestIntrospectCacheBoundedByTTLAndExp(t *testing.T) {
	clock, srv, _, v := introspecting(t, time.Minute)
	srv.answer("long", activeAnswer(clock.Now(), time.Hour))

	mustValidate(t, v, "long")
	mustValidate(t, v, "long")
	if n := srv.hits.Load(); n != 1 {
		t.Fatalf("endpoint asked %d times for one token within cache_ttl, want 1", n)
	}
	clock.Advance(61 * time.Second)
	mustValidate(t, v, "long")
	if n := srv.hits.Load(); n != 2 {
		t.Fatalf("endpoint asked %d times after cache_ttl, want 2", n)
	}

	srv.answer("short", activeAnswer(clock.Now(), 10*time.Second))
	mustValidate(t, v, "short")
	clock.Advance(5 * time.Second)
	mustValidate(t, v, "short")
	if n := srv.hits.Load(); n != 3 {
		t.Fatalf("endpoint asked %d times, want 3", n)
	}
	clock.Advance(6 * time.Second) // past exp: the cache must not answer, the IdP's answer is stale
	_, err := v.Validate(context.Background(), "short")
	wantCode(t, err, CodeInvalid)
	if n := srv.hits.Load(); n != 4 {
		t.Fatalf("endpoint asked %d times, want 4 (cache entry ended at exp)", n)
	}
}

func TestIntrospectCacheTTLZeroDisablesCache(t *testing.T) {
	clock, srv, _, v := introspecting(t, 0)
	srv.answer("opaque", activeAnswer(clock.Now(), time.Hour))
	for range 3 {
		mustValidate(t, v, "opaque")
	}
	if n := srv.hits.Load(); n != 3 {
		t.Errorf("endpoint asked %d times, want 3 with cache_ttl 0", n)
	}
}

func TestIntrospectCacheKeyedByEndpoint(t *testing.T) {
	clock := newFakeClock()
	a, b := startIntrospection(t), startIntrospection(t)
	a.answer("shared", activeAnswer(clock.Now(), time.Hour))
	f, _ := newTestFactory(t, clock)
	mustValidate(t, validatorFor(t, f, introspectionAPI(a.URL, time.Minute)), "shared")
	// b has never heard of the token: a's cached answer must not leak into b's API.
	_, err := validatorFor(t, f, introspectionAPI(b.URL, time.Minute)).Validate(context.Background(), "shared")
	wantCode(t, err, CodeInvalid)
	if b.hits.Load() != 1 {
		t.Errorf("endpoint b asked %d times, want 1", b.hits.Load())
	}
}

func TestIntrospectConcurrentLookupsShareOneRequest(t *testing.T) {
	clock, srv, _, v := introspecting(t, 0) // even without a cache
	srv.answer("opaque", activeAnswer(clock.Now(), time.Hour))
	srv.set(func(s *introspectionServer) { s.delay = 100 * time.Millisecond })
	var wg sync.WaitGroup
	var ok atomic.Int64
	for range 50 {
		wg.Go(func() {
			if _, err := v.Validate(context.Background(), "opaque"); err == nil {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 50 || srv.hits.Load() != 1 {
		t.Errorf("%d of 50 accepted with %d requests to the endpoint; want 50 with 1", ok.Load(), srv.hits.Load())
	}
}

func TestIntrospectEndpointDownIsUnavailableAndNotCached(t *testing.T) {
	clock, srv, f, v := introspecting(t, time.Minute)
	srv.answer("opaque", activeAnswer(clock.Now(), time.Hour))
	srv.set(func(s *introspectionServer) { s.status = http.StatusBadGateway })
	_, err := v.Validate(context.Background(), "opaque")
	te := refusalOf(t, err, CodeUnavailable)
	if strings.Contains(te.Reason, introspectionSecret) || strings.Contains(te.Reason, "opaque") || strings.Contains(te.Description, "502") {
		t.Errorf("error leaks the secret, the token or internals: %+v", te)
	}
	srv.set(func(s *introspectionServer) { s.status = http.StatusOK })
	mustValidate(t, v, "opaque")

	srv.Close()
	_, err = validatorFor(t, f, introspectionAPI(srv.URL, time.Minute)).Validate(context.Background(), "other")
	wantCode(t, err, CodeUnavailable)
	if got := counterValue(t, f.introspectReqs, "error"); got != 2 {
		t.Errorf("idpgate_introspection_requests_total{result=error} = %v, want 2", got)
	}
}

func TestIntrospectRequiredScopesAndGarbage(t *testing.T) {
	clock := newFakeClock()
	srv := startIntrospection(t)
	srv.answer("opaque", activeAnswer(clock.Now(), time.Hour))
	f, _ := newTestFactory(t, clock)
	api := introspectionAPI(srv.URL, time.Minute)
	api.Introspection.RequiredScopes = []string{"orders:admin"}
	v := validatorFor(t, f, api)
	_, err := v.Validate(context.Background(), "opaque")
	if te := refusalOf(t, err, CodeInsufficientScope); !slices.Equal(te.Scopes, []string{"orders:admin"}) {
		t.Errorf("scopes %q, want the API's required scopes", te.Scopes)
	}

	hits := srv.hits.Load()
	for _, garbage := range []string{"", "a b", "tok\x00en", "=abc", strings.Repeat("a", maxTokenBytes+1)} {
		_, err := v.Validate(context.Background(), garbage)
		wantCode(t, err, CodeInvalid)
	}
	if srv.hits.Load() != hits {
		t.Error("malformed tokens were sent to the IdP")
	}
}

func TestIntrospectDoesNotFollowRedirects(t *testing.T) {
	clock := newFakeClock()
	var elsewhere atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		_ = json.NewEncoder(w).Encode(map[string]any{"active": true, "exp": clock.Now().Add(time.Hour).Unix()})
	}))
	defer target.Close()
	redirector := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusTemporaryRedirect))
	defer redirector.Close()
	f, _ := newTestFactory(t, clock)
	_, err := validatorFor(t, f, introspectionAPI(redirector.URL, time.Minute)).Validate(context.Background(), "opaque")
	wantCode(t, err, CodeUnavailable)
	if elsewhere.Load() != 0 {
		t.Error("the token was re-posted to the redirect target")
	}
}
