package token

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

func TestJWTValidTokenIdentity(t *testing.T) {
	clock, key, srv, f := jwtSetup(t)
	v := validatorFor(t, f, jwtAPI(srv.URL))

	claims := validClaims(clock.Now())
	claims["tenant"] = "acme"
	id := mustValidate(t, v, signJWT(t, key, claims, nil))
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
	if id.Claims["tenant"] != "acme" || id.Claims["iss"] != testIssuer {
		t.Errorf("claims = %v", id.Claims)
	}
}

func TestJWTIdentityClaimMapping(t *testing.T) {
	clock, key, srv, f := jwtSetup(t)

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
			api := jwtAPI(srv.URL)
			if tc.cfg != nil {
				tc.cfg(api.JWT)
			}
			claims := validClaims(clock.Now())
			for k, val := range tc.claims {
				if val == nil {
					delete(claims, k)
				} else {
					claims[k] = val
				}
			}
			id := mustValidate(t, validatorFor(t, f, api), signJWT(t, key, claims, nil))
			if !tc.check(id) {
				t.Errorf("identity %+v does not match", id)
			}
		})
	}
}

func TestJWTRequiredScopes(t *testing.T) {
	clock, key, srv, f := jwtSetup(t)
	api := jwtAPI(srv.URL)
	api.JWT.RequiredScopes = []string{"orders:read", "orders:admin"}
	v := validatorFor(t, f, api)
	tok := signJWT(t, key, validClaims(clock.Now()), nil)
	for i := range 2 { // uncached, then cached: both refuse
		_, err := v.Validate(context.Background(), tok)
		te := refusalOf(t, err, CodeInsufficientScope)
		if !strings.Contains(te.Reason, "orders:admin") {
			t.Errorf("attempt %d: reason %q does not name the missing scope", i, te.Reason)
		}
		if !slices.Equal(te.Scopes, api.JWT.RequiredScopes) {
			t.Errorf("attempt %d: scopes %q, want the API's required scopes %q", i, te.Scopes, api.JWT.RequiredScopes)
		}
	}
	api.JWT.RequiredScopes = []string{"orders:read"}
	mustValidate(t, validatorFor(t, f, api), tok)
}

func TestJWTTypHeader(t *testing.T) {
	clock, key, srv, f := jwtSetup(t)
	v := validatorFor(t, f, jwtAPI(srv.URL))
	for typ, ok := range map[string]bool{"at+jwt": true, "AT+JWT": true, "application/at+jwt": true, "jwt": true, "JOSE": false, "id_token+jwt": false} {
		tok := signJWT(t, key, validClaims(clock.Now()), map[jose.HeaderKey]any{jose.HeaderType: typ})
		_, err := v.Validate(context.Background(), tok)
		if ok && err != nil {
			t.Errorf("typ %q refused: %v", typ, err)
		}
		if !ok {
			wantCode(t, err, CodeInvalid)
		}
	}
}

func TestJWTWithoutKidUsesTheSingleMatchingKey(t *testing.T) {
	clock := newFakeClock()
	noKid := rsaKey(t, "a", "")
	srv := startJWKS(t, rsaKey(t, "a", "a"), loadKey(t, "ec_p256.pem", "ec", jose.ES256))
	f, _ := newTestFactory(t, clock)
	mustValidate(t, validatorFor(t, f, jwtAPI(srv.URL)), signJWT(t, noKid, validClaims(clock.Now()), nil))

	// Two RSA keys: a token without kid is ambiguous.
	srv2 := startJWKS(t, rsaKey(t, "a", "a"), rsaKey(t, "b", "b"))
	_, err := validatorFor(t, f, jwtAPI(srv2.URL)).Validate(context.Background(), signJWT(t, noKid, validClaims(clock.Now()), nil))
	wantCode(t, err, CodeInvalid)
}

func TestJWTAlgorithmAllowList(t *testing.T) {
	clock := newFakeClock()
	rsa := rsaKey(t, "a", "rsa")
	ps := loadKey(t, "rsa_b.pem", "ps", jose.PS256)
	ec := loadKey(t, "ec_p256.pem", "ec", jose.ES256)
	ed := loadKey(t, "ed25519.pem", "ed", jose.EdDSA)
	srv := startJWKS(t, rsa, ps, ec, ed)
	f, _ := newTestFactory(t, clock)

	api := jwtAPI(srv.URL)
	api.JWT.AllowedAlgorithms = []string{"PS256", "ES256", "EdDSA"}
	v := validatorFor(t, f, api)
	for _, k := range []*testKey{ps, ec, ed} {
		mustValidate(t, v, signJWT(t, k, validClaims(clock.Now()), nil))
	}
	_, err := v.Validate(context.Background(), signJWT(t, rsa, validClaims(clock.Now()), nil))
	wantCode(t, err, CodeInvalid) // RS256 not in this API's list

	// Default list is RS256 only.
	v = validatorFor(t, f, jwtAPI(srv.URL))
	mustValidate(t, v, signJWT(t, rsa, validClaims(clock.Now()), nil))
	_, err = v.Validate(context.Background(), signJWT(t, ec, validClaims(clock.Now()), nil))
	wantCode(t, err, CodeInvalid)
}

func TestJWTLeeway(t *testing.T) {
	clock, key, srv, f := jwtSetup(t, noTokenCache)
	v := validatorFor(t, f, jwtAPI(srv.URL)) // default leeway 30s
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
		claims := validClaims(now)
		claims[tc.claim] = tc.at.Unix()
		_, err := v.Validate(context.Background(), signJWT(t, key, claims, nil))
		if tc.ok && err != nil {
			t.Errorf("%s: refused: %v", tc.name, err)
		}
		if !tc.ok && err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}

	api := jwtAPI(srv.URL)
	api.JWT.Leeway = adminapi.DurationOf(time.Minute)
	claims := validClaims(now)
	claims["exp"] = now.Add(-40 * time.Second).Unix()
	mustValidate(t, validatorFor(t, f, api), signJWT(t, key, claims, nil))

	// 0s is no leeway at all, not the default: a token expired a second ago is refused,
	// which the default 30s would accept.
	claims["exp"] = now.Add(-time.Second).Unix()
	expired := signJWT(t, key, claims, nil)
	mustValidate(t, validatorFor(t, f, jwtAPI(srv.URL)), expired)
	api.JWT.Leeway = adminapi.DurationOf(0)
	if _, err := validatorFor(t, f, api).Validate(context.Background(), expired); err == nil {
		t.Error("leeway 0s accepted a token expired a second ago")
	}
}

func TestJWTCacheHitHonoursExp(t *testing.T) {
	clock, key, srv, f := jwtSetup(t)
	v := validatorFor(t, f, jwtAPI(srv.URL))
	claims := validClaims(clock.Now())
	claims["exp"] = clock.Now().Add(90 * time.Second).Unix()
	tok := signJWT(t, key, claims, nil)
	mustValidate(t, v, tok)
	if f.verified.count() != 1 {
		t.Fatalf("token not cached")
	}
	clock.Advance(60 * time.Second)
	mustValidate(t, v, tok)
	clock.Advance(61 * time.Second) // exp + 31s: beyond the 30s leeway
	_, err := v.Validate(context.Background(), tok)
	te := refusalOf(t, err, CodeInvalid)
	if te.Description != "The access token expired." {
		t.Errorf("description = %q", te.Description)
	}
}

func TestJWTCacheTTLBoundsEntries(t *testing.T) {
	clock, key, srv, f := jwtSetup(t, func(o *FactoryOptions) { o.TokenCacheTTL = time.Minute })
	v := validatorFor(t, f, jwtAPI(srv.URL))
	tok := signJWT(t, key, validClaims(clock.Now()), nil)
	mustValidate(t, v, tok)
	k := cacheKeyFor(&v.(*jwtValidator).fingerprint, tok)
	if _, ok := f.verified.get(k, clock.Now().Add(59*time.Second), f.jwksFor(srv.URL).current()); !ok {
		t.Error("entry missing within the TTL")
	}
	if _, ok := f.verified.get(k, clock.Now().Add(time.Minute), f.jwksFor(srv.URL).current()); ok {
		t.Error("entry still served after the TTL")
	}
}

func TestJWTCacheIsPerConfiguration(t *testing.T) {
	clock, key, srv, f := jwtSetup(t)
	tok := signJWT(t, key, validClaims(clock.Now()), nil)
	mustValidate(t, validatorFor(t, f, jwtAPI(srv.URL)), tok)

	other := jwtAPI(srv.URL)
	other.JWT.Audiences = []string{"api://billing"}
	_, err := validatorFor(t, f, other).Validate(context.Background(), tok)
	wantCode(t, err, CodeInvalid)

	otherIssuer := jwtAPI(srv.URL)
	otherIssuer.JWT.Issuer = "https://other.example.test"
	_, err = validatorFor(t, f, otherIssuer).Validate(context.Background(), tok)
	wantCode(t, err, CodeInvalid)
}

// Each field of the JWT fingerprint decides acceptance or identity: a token verified and
// cached under one API must be checked afresh by an API that differs in that field alone,
// or it would pass a stricter check, or be mapped to another client (so another policy).
func TestJWTCacheIsPerConfigurationField(t *testing.T) {
	clock := newFakeClock()
	rsa, ec := rsaKey(t, "a", "a"), loadKey(t, "ec_p256.pem", "ec", jose.ES256)
	srv := startJWKS(t, rsa, ec)
	api := func(mod func(*adminapi.JWTValidation)) adminapi.API {
		a := jwtAPI(srv.URL)
		mod(a.JWT)
		return a
	}
	claimsWith := func(extra map[string]any) map[string]any {
		c := validClaims(clock.Now())
		maps.Copy(c, extra)
		return c
	}
	for _, tc := range []struct {
		name          string
		key           *testKey
		claims        map[string]any
		cached, fresh adminapi.API
		// check inspects what the second API answers; nil means it must refuse the token.
		check func(t *testing.T, id *Identity, err error)
	}{
		{
			name: "allowed_algorithms", key: ec, claims: validClaims(clock.Now()),
			cached: api(func(j *adminapi.JWTValidation) { j.AllowedAlgorithms = []string{"RS256", "ES256"} }),
			fresh:  api(func(j *adminapi.JWTValidation) { j.AllowedAlgorithms = []string{"RS256"} }),
		},
		{
			// nbf 90s ahead: inside a 2m leeway, outside a 1s one.
			name: "leeway", key: rsa, claims: claimsWith(map[string]any{"nbf": clock.Now().Add(90 * time.Second).Unix()}),
			cached: api(func(j *adminapi.JWTValidation) { j.Leeway = adminapi.DurationOf(2 * time.Minute) }),
			fresh:  api(func(j *adminapi.JWTValidation) { j.Leeway = adminapi.DurationOf(time.Second) }),
		},
		{
			name: "identity_claim", key: rsa, claims: claimsWith(map[string]any{"email": "ann@example.test"}),
			cached: api(func(*adminapi.JWTValidation) {}),
			fresh:  api(func(j *adminapi.JWTValidation) { j.IdentityClaim = "email" }),
			check: func(t *testing.T, id *Identity, err error) {
				if err != nil || id.Subject != "ann@example.test" {
					t.Errorf("subject = %q (err %v), want the email claim's ann@example.test", subjectOf(id), err)
				}
			},
		},
		{
			name: "client_id_claim", key: rsa, claims: claimsWith(map[string]any{"appid": "app-2"}),
			cached: api(func(*adminapi.JWTValidation) {}),
			fresh:  api(func(j *adminapi.JWTValidation) { j.ClientIDClaim = "appid" }),
			check: func(t *testing.T, id *Identity, err error) {
				if err != nil || id.ClientID != "app-2" {
					t.Errorf("client id = %v (err %v), want the appid claim's app-2", id, err)
				}
			},
		},
		{
			name: "policy_claim", key: rsa, claims: claimsWith(map[string]any{"tier": "bronze"}),
			cached: api(func(*adminapi.JWTValidation) {}),
			fresh:  api(func(j *adminapi.JWTValidation) { j.PolicyClaim = "tier" }),
			check: func(t *testing.T, id *Identity, err error) {
				if err != nil || !slices.Equal(id.Policies, []string{"bronze"}) {
					t.Errorf("policies = %v (err %v), want the tier claim's [bronze]", id, err)
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, _ := newTestFactory(t, clock)
			tok := signJWT(t, tc.key, tc.claims, nil)
			mustValidate(t, validatorFor(t, f, tc.cached), tok)
			if f.verified.count() != 1 {
				t.Fatalf("cache holds %d entries after the first API, want 1", f.verified.count())
			}
			id, err := validatorFor(t, f, tc.fresh).Validate(context.Background(), tok)
			if tc.check == nil {
				wantCode(t, err, CodeInvalid)
				return
			}
			tc.check(t, id, err)
		})
	}
}

func subjectOf(id *Identity) string {
	if id == nil {
		return ""
	}
	return id.Subject
}

func TestJWTCacheIsBounded(t *testing.T) {
	clock, key, srv, f := jwtSetup(t, func(o *FactoryOptions) { o.TokenCacheSize = 128 })
	v := validatorFor(t, f, jwtAPI(srv.URL))
	for i := range 600 {
		claims := validClaims(clock.Now())
		claims["jti"] = fmt.Sprint(i)
		mustValidate(t, v, signJWT(t, key, claims, nil))
	}
	if n := f.verified.count(); n > 128 || n < 64 {
		t.Errorf("cache holds %d entries, want between 64 and the bound 128", n)
	}
}

func TestForAPIRejectsBadConfiguration(t *testing.T) {
	f, _ := newTestFactory(t, newFakeClock())
	ttl := func(d time.Duration) *adminapi.Duration { v := adminapi.Duration(d); return &v }
	good := func() adminapi.API { return jwtAPI("https://idp.example.test/jwks") }
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
		{"leeway too long", func(a *adminapi.API) { a.JWT.Leeway = adminapi.DurationOf(10 * time.Minute) }, "jwt.leeway"},
		{"negative leeway", func(a *adminapi.API) { a.JWT.Leeway = adminapi.DurationOf(-time.Second) }, "jwt.leeway"},
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
	benchmarkValidate(b, noTokenCache)
}

func benchmarkValidate(b *testing.B, mod func(*FactoryOptions)) {
	clock := newFakeClock()
	key := rsaKey(b, "a", "a")
	srv := startJWKS(b, key)
	var mods []func(*FactoryOptions)
	if mod != nil {
		mods = append(mods, mod)
	}
	f, _ := newTestFactory(b, clock, mods...)
	v := validatorFor(b, f, jwtAPI(srv.URL))
	tok := signJWT(b, key, validClaims(clock.Now()), nil)
	mustValidate(b, v, tok)
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
