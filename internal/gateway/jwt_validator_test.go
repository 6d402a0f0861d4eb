package gateway

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

func TestJWTValidTokenIdentity(t *testing.T) {
	clock := ttNewClock()
	key := ttRSA(t, "a", "a")
	srv := ttStartJWKS(t, key)
	f, _ := ttFactory(t, clock)
	v := ttValidator(t, f, ttJWTAPI(srv.URL))

	claims := ttClaims(clock.Now())
	claims["tenant"] = "acme"
	id := ttMustValidate(t, v, ttSign(t, key, claims, nil))
	if id.Subject != "user-1" || id.ClientID != "app-1" {
		t.Errorf("subject, client = %q, %q; want user-1, app-1", id.Subject, id.ClientID)
	}
	if !slices.Equal(id.Scopes, []string{"orders:read", "orders:write"}) {
		t.Errorf("scopes = %q", id.Scopes)
	}
	if !slices.Equal(id.Policies, []string{"gold"}) {
		t.Errorf("policies = %q", id.Policies)
	}
	if !id.IssuedAt.Equal(clock.Now()) || !id.ExpiresAt.Equal(clock.Now().Add(10*time.Minute)) {
		t.Errorf("iat, exp = %s, %s", id.IssuedAt, id.ExpiresAt)
	}
	if id.Claims["tenant"] != "acme" || id.Claims["iss"] != ttIssuer {
		t.Errorf("claims = %v", id.Claims)
	}
}

func TestJWTIdentityClaimMapping(t *testing.T) {
	clock := ttNewClock()
	key := ttRSA(t, "a", "a")
	srv := ttStartJWKS(t, key)
	f, _ := ttFactory(t, clock)

	for _, tc := range []struct {
		name   string
		cfg    func(*adminapi.JWTValidation)
		claims map[string]any
		check  func(*Identity) bool
	}{
		{"cid when no client_id", nil, map[string]any{"client_id": nil, "cid": "okta-app"},
			func(id *Identity) bool { return id.ClientID == "okta-app" }},
		{"azp last", nil, map[string]any{"client_id": nil, "azp": "kc-app"},
			func(id *Identity) bool { return id.ClientID == "kc-app" }},
		{"configured client id claim", func(c *adminapi.JWTValidation) { c.ClientIDClaim = "appid" },
			map[string]any{"appid": "azure-app"}, func(id *Identity) bool { return id.ClientID == "azure-app" }},
		{"configured identity claim", func(c *adminapi.JWTValidation) { c.IdentityClaim = "email" },
			map[string]any{"email": "a@example.test"}, func(id *Identity) bool { return id.Subject == "a@example.test" }},
		{"scp array", nil, map[string]any{"scope": nil, "scp": []string{"a", "b"}},
			func(id *Identity) bool { return slices.Equal(id.Scopes, []string{"a", "b"}) }},
		{"scp string", nil, map[string]any{"scope": nil, "scp": "a b"},
			func(id *Identity) bool { return slices.Equal(id.Scopes, []string{"a", "b"}) }},
		{"policy array", nil, map[string]any{"pol": []string{"gold", "silver"}},
			func(id *Identity) bool { return slices.Equal(id.Policies, []string{"gold", "silver"}) }},
		{"configured policy claim", func(c *adminapi.JWTValidation) { c.PolicyClaim = "plan" },
			map[string]any{"plan": "free"}, func(id *Identity) bool { return slices.Equal(id.Policies, []string{"free"}) }},
		{"no iat", nil, map[string]any{"iat": nil},
			func(id *Identity) bool { return id.IssuedAt.IsZero() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := ttJWTAPI(srv.URL)
			if tc.cfg != nil {
				tc.cfg(api.JWT)
			}
			claims := ttClaims(clock.Now())
			for k, val := range tc.claims {
				if val == nil {
					delete(claims, k)
				} else {
					claims[k] = val
				}
			}
			id := ttMustValidate(t, ttValidator(t, f, api), ttSign(t, key, claims, nil))
			if !tc.check(id) {
				t.Errorf("identity %+v does not match", id)
			}
		})
	}
}

func TestJWTRequiredScopes(t *testing.T) {
	clock := ttNewClock()
	key := ttRSA(t, "a", "a")
	srv := ttStartJWKS(t, key)
	f, _ := ttFactory(t, clock)
	api := ttJWTAPI(srv.URL)
	api.JWT.RequiredScopes = []string{"orders:read", "orders:admin"}
	v := ttValidator(t, f, api)
	tok := ttSign(t, key, ttClaims(clock.Now()), nil)
	for i := range 2 { // uncached, then cached: both refuse
		_, err := v.Validate(context.Background(), tok)
		te := ttWantCode(t, err, tokenCodeInsufficientScope)
		if !strings.Contains(te.Reason, "orders:admin") {
			t.Errorf("attempt %d: reason %q does not name the missing scope", i, te.Reason)
		}
	}
	api.JWT.RequiredScopes = []string{"orders:read"}
	ttMustValidate(t, ttValidator(t, f, api), tok)
}

func TestJWTTypHeader(t *testing.T) {
	clock := ttNewClock()
	key := ttRSA(t, "a", "a")
	srv := ttStartJWKS(t, key)
	f, _ := ttFactory(t, clock)
	v := ttValidator(t, f, ttJWTAPI(srv.URL))
	for typ, ok := range map[string]bool{"at+jwt": true, "AT+JWT": true, "application/at+jwt": true, "jwt": true, "JOSE": false, "id_token+jwt": false} {
		tok := ttSign(t, key, ttClaims(clock.Now()), map[jose.HeaderKey]any{jose.HeaderType: typ})
		_, err := v.Validate(context.Background(), tok)
		if ok && err != nil {
			t.Errorf("typ %q refused: %v", typ, err)
		}
		if !ok {
			ttWantCode(t, err, tokenCodeInvalid)
		}
	}
}

func TestJWTWithoutKidUsesTheSingleMatchingKey(t *testing.T) {
	clock := ttNewClock()
	noKid := ttRSA(t, "a", "")
	srv := ttStartJWKS(t, ttRSA(t, "a", "a"), ttLoadKey(t, "ec_p256.pem", "ec", jose.ES256))
	f, _ := ttFactory(t, clock)
	ttMustValidate(t, ttValidator(t, f, ttJWTAPI(srv.URL)), ttSign(t, noKid, ttClaims(clock.Now()), nil))

	// Two RSA keys: a token without kid is ambiguous.
	srv2 := ttStartJWKS(t, ttRSA(t, "a", "a"), ttRSA(t, "b", "b"))
	_, err := ttValidator(t, f, ttJWTAPI(srv2.URL)).Validate(context.Background(), ttSign(t, noKid, ttClaims(clock.Now()), nil))
	ttWantCode(t, err, tokenCodeInvalid)
}

func TestJWTAlgorithmAllowList(t *testing.T) {
	clock := ttNewClock()
	rsa := ttRSA(t, "a", "rsa")
	ps := ttLoadKey(t, "rsa_b.pem", "ps", jose.PS256)
	ec := ttLoadKey(t, "ec_p256.pem", "ec", jose.ES256)
	ed := ttLoadKey(t, "ed25519.pem", "ed", jose.EdDSA)
	srv := ttStartJWKS(t, rsa, ps, ec, ed)
	f, _ := ttFactory(t, clock)

	api := ttJWTAPI(srv.URL)
	api.JWT.AllowedAlgorithms = []string{"PS256", "ES256", "EdDSA"}
	v := ttValidator(t, f, api)
	for _, k := range []*ttKey{ps, ec, ed} {
		ttMustValidate(t, v, ttSign(t, k, ttClaims(clock.Now()), nil))
	}
	_, err := v.Validate(context.Background(), ttSign(t, rsa, ttClaims(clock.Now()), nil))
	ttWantCode(t, err, tokenCodeInvalid) // RS256 not in this API's list

	// Default list is RS256 only.
	v = ttValidator(t, f, ttJWTAPI(srv.URL))
	ttMustValidate(t, v, ttSign(t, rsa, ttClaims(clock.Now()), nil))
	_, err = v.Validate(context.Background(), ttSign(t, ec, ttClaims(clock.Now()), nil))
	ttWantCode(t, err, tokenCodeInvalid)
}

func TestJWTLeeway(t *testing.T) {
	clock := ttNewClock()
	key := ttRSA(t, "a", "a")
	srv := ttStartJWKS(t, key)
	f, _ := ttFactory(t, clock, ttNoTokenCache)
	v := ttValidator(t, f, ttJWTAPI(srv.URL)) // default leeway 30s
	now := clock.Now()
	for _, tc := range []struct {
		name  string
		claim string
		at    time.Time
		ok    bool
	}{
		{"exp 20s ago", "exp", now.Add(-20 * time.Second), true},
		{"exp 40s ago", "exp", now.Add(-40 * time.Second), false},
		{"nbf in 20s", "nbf", now.Add(20 * time.Second), true},
		{"nbf in 40s", "nbf", now.Add(40 * time.Second), false},
		{"iat in 20s", "iat", now.Add(20 * time.Second), true},
		{"iat in 40s", "iat", now.Add(40 * time.Second), false},
	} {
		claims := ttClaims(now)
		claims[tc.claim] = tc.at.Unix()
		_, err := v.Validate(context.Background(), ttSign(t, key, claims, nil))
		if tc.ok && err != nil {
			t.Errorf("%s: refused: %v", tc.name, err)
		}
		if !tc.ok && err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}

	api := ttJWTAPI(srv.URL)
	api.JWT.Leeway = adminapi.Duration(time.Minute)
	claims := ttClaims(now)
	claims["exp"] = now.Add(-40 * time.Second).Unix()
	ttMustValidate(t, ttValidator(t, f, api), ttSign(t, key, claims, nil))
}

func TestJWTCacheHitHonoursExp(t *testing.T) {
	clock := ttNewClock()
	key := ttRSA(t, "a", "a")
	srv := ttStartJWKS(t, key)
	f, _ := ttFactory(t, clock)
	v := ttValidator(t, f, ttJWTAPI(srv.URL))
	claims := ttClaims(clock.Now())
	claims["exp"] = clock.Now().Add(90 * time.Second).Unix()
	tok := ttSign(t, key, claims, nil)
	ttMustValidate(t, v, tok)
	if f.verified.count() != 1 {
		t.Fatalf("token not cached")
	}
	clock.Advance(60 * time.Second)
	ttMustValidate(t, v, tok)
	clock.Advance(61 * time.Second) // exp + 31s: beyond the 30s leeway
	_, err := v.Validate(context.Background(), tok)
	te := ttWantCode(t, err, tokenCodeInvalid)
	if te.Description != "The access token expired." {
		t.Errorf("description = %q", te.Description)
	}
}

func TestJWTCacheTTLBoundsEntries(t *testing.T) {
	clock := ttNewClock()
	key := ttRSA(t, "a", "a")
	srv := ttStartJWKS(t, key)
	f, _ := ttFactory(t, clock, func(o *ValidatorFactoryOptions) { o.TokenCacheTTL = time.Minute })
	v := ttValidator(t, f, ttJWTAPI(srv.URL))
	tok := ttSign(t, key, ttClaims(clock.Now()), nil)
	ttMustValidate(t, v, tok)
	k := tokenCacheKeyFor(&v.(*jwtValidator).fingerprint, tok)
	if _, ok := f.verified.get(k, clock.Now().Add(59*time.Second), f.jwksFor(srv.URL).current()); !ok {
		t.Error("entry missing within the TTL")
	}
	if _, ok := f.verified.get(k, clock.Now().Add(time.Minute), f.jwksFor(srv.URL).current()); ok {
		t.Error("entry still served after the TTL")
	}
}

func TestJWTCacheIsPerConfiguration(t *testing.T) {
	clock := ttNewClock()
	key := ttRSA(t, "a", "a")
	srv := ttStartJWKS(t, key)
	f, _ := ttFactory(t, clock)
	tok := ttSign(t, key, ttClaims(clock.Now()), nil)
	ttMustValidate(t, ttValidator(t, f, ttJWTAPI(srv.URL)), tok)

	other := ttJWTAPI(srv.URL)
	other.JWT.Audiences = []string{"api://billing"}
	_, err := ttValidator(t, f, other).Validate(context.Background(), tok)
	ttWantCode(t, err, tokenCodeInvalid)

	otherIssuer := ttJWTAPI(srv.URL)
	otherIssuer.JWT.Issuer = "https://other.example.test"
	_, err = ttValidator(t, f, otherIssuer).Validate(context.Background(), tok)
	ttWantCode(t, err, tokenCodeInvalid)
}

func TestJWTCacheIsBounded(t *testing.T) {
	clock := ttNewClock()
	key := ttRSA(t, "a", "a")
	srv := ttStartJWKS(t, key)
	f, _ := ttFactory(t, clock, func(o *ValidatorFactoryOptions) { o.TokenCacheSize = 128 })
	v := ttValidator(t, f, ttJWTAPI(srv.URL))
	for i := range 600 {
		claims := ttClaims(clock.Now())
		claims["jti"] = fmt.Sprint(i)
		ttMustValidate(t, v, ttSign(t, key, claims, nil))
	}
	if n := f.verified.count(); n > 128 || n < 64 {
		t.Errorf("cache holds %d entries, want between 64 and the bound 128", n)
	}
}

func TestForAPIRejectsBadConfiguration(t *testing.T) {
	f, _ := ttFactory(t, ttNewClock())
	ttl := func(d time.Duration) *adminapi.Duration { v := adminapi.Duration(d); return &v }
	good := func() adminapi.API { return ttJWTAPI("https://idp.example.test/jwks") }
	for _, tc := range []struct {
		name  string
		mod   func(*adminapi.API)
		field string
	}{
		{"HS256", func(a *adminapi.API) { a.JWT.AllowedAlgorithms = []string{"HS256"} }, "jwt.allowed_algorithms"},
		{"none", func(a *adminapi.API) { a.JWT.AllowedAlgorithms = []string{"RS256", "none"} }, "jwt.allowed_algorithms"},
		{"unknown alg", func(a *adminapi.API) { a.JWT.AllowedAlgorithms = []string{"rs256"} }, "jwt.allowed_algorithms"},
		{"no issuer", func(a *adminapi.API) { a.JWT.Issuer = " " }, "jwt.issuer"},
		{"no jwks", func(a *adminapi.API) { a.JWT.JWKSURI = "" }, "jwt.jwks_uri"},
		{"relative jwks", func(a *adminapi.API) { a.JWT.JWKSURI = "/jwks" }, "jwt.jwks_uri"},
		{"file jwks", func(a *adminapi.API) { a.JWT.JWKSURI = "file:///etc/jwks" }, "jwt.jwks_uri"},
		{"leeway too long", func(a *adminapi.API) { a.JWT.Leeway = adminapi.Duration(10 * time.Minute) }, "jwt.leeway"},
		{"negative leeway", func(a *adminapi.API) { a.JWT.Leeway = adminapi.Duration(-time.Second) }, "jwt.leeway"},
		{"both", func(a *adminapi.API) { a.Introspection = &adminapi.Introspection{} }, "introspection"},
		{"neither", func(a *adminapi.API) { a.JWT = nil }, "jwt"},
		{"introspection without client", func(a *adminapi.API) {
			a.JWT = nil
			a.Introspection = &adminapi.Introspection{Endpoint: "https://idp.example.test/introspect"}
		}, "introspection.client_id"},
		{"introspection bad endpoint", func(a *adminapi.API) {
			a.JWT = nil
			a.Introspection = &adminapi.Introspection{Endpoint: "idp/introspect", ClientID: "gw"}
		}, "introspection.endpoint"},
		{"negative cache ttl", func(a *adminapi.API) {
			a.JWT = nil
			a.Introspection = &adminapi.Introspection{Endpoint: "https://idp.example.test/introspect", ClientID: "gw", CacheTTL: ttl(-time.Second)}
		}, "introspection.cache_ttl"},
	} {
		api := good()
		tc.mod(&api)
		v, err := f.ForAPI(api)
		if err == nil || v != nil {
			t.Errorf("%s: ForAPI accepted the configuration", tc.name)
			continue
		}
		if !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: error %q does not name %s", tc.name, err, tc.field)
		}
	}
	if _, err := f.ForAPI(good()); err != nil {
		t.Errorf("valid configuration refused: %v", err)
	}
}

// The verified-token cache is what lets the gateway keep up with a bare proxy: compare.
func BenchmarkValidateCached(b *testing.B) {
	benchmarkValidate(b, nil)
}

func BenchmarkValidateUncached(b *testing.B) {
	benchmarkValidate(b, ttNoTokenCache)
}

func benchmarkValidate(b *testing.B, mod func(*ValidatorFactoryOptions)) {
	clock := ttNewClock()
	key := ttRSA(b, "a", "a")
	srv := ttStartJWKS(b, key)
	var mods []func(*ValidatorFactoryOptions)
	if mod != nil {
		mods = append(mods, mod)
	}
	f, _ := ttFactory(b, clock, mods...)
	v := ttValidator(b, f, ttJWTAPI(srv.URL))
	tok := ttSign(b, key, ttClaims(clock.Now()), nil)
	ttMustValidate(b, v, tok)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := v.Validate(ctx, tok); err != nil {
				b.Fatal(err)
			}
		}
	})
}
