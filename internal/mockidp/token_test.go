package mockidp_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/idpgate/terraform-provider-idpgate/internal/mockidp"
)

// registerCC registers a client_credentials client on a generic IdP and returns its credentials.
func registerCC(t *testing.T, idp *mockidp.Server, scope string) (id, secret string) {
	t.Helper()
	r := call(t, http.MethodPost, idp.RegistrationEndpoint(), "", ccClient("svc", scope))
	r.expect(t, http.StatusCreated, "")
	return r.str("client_id"), r.str("client_secret")
}

func fetchJWKS(t *testing.T, idp *mockidp.Server) jose.JSONWebKeySet {
	t.Helper()
	r := call(t, http.MethodGet, idp.JWKSURI(), "", nil)
	r.expect(t, http.StatusOK, "")
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(r.raw, &set); err != nil {
		t.Fatalf("decode JWKS: %v", err)
	}
	return set
}

// verify checks a token against the IdP's published JWKS, as a resource server would.
func verify(t *testing.T, idp *mockidp.Server, token string) (jose.Header, map[string]any) {
	t.Helper()
	parsed, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatalf("parse token: %v", err)
	}
	claims := map[string]any{}
	if err := parsed.Claims(fetchJWKS(t, idp), &claims); err != nil {
		t.Fatalf("token does not verify with the published JWKS: %v", err)
	}
	return parsed.Headers[0], claims
}

func requestToken(t *testing.T, idp *mockidp.Server, id, secret, scope string) response {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}}
	if scope != "" {
		form.Set("scope", scope)
	}
	return postForm(t, idp.TokenEndpoint(), form, id, secret)
}

func TestTokenClientCredentials(t *testing.T) {
	idp := mockidp.NewTestServer(t, mockidp.Options{TokenTTL: 90 * time.Second, Audience: []string{"api://orders"}})
	id, secret := registerCC(t, idp, "read write")

	r := requestToken(t, idp, id, secret, "")
	r.expect(t, http.StatusOK, "")
	if r.str("token_type") != "Bearer" || r.body["expires_in"] != float64(90) || r.str("scope") != "read write" {
		t.Fatalf("token answer: %s", r.raw)
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("token answer Cache-Control = %q", r.header.Get("Cache-Control"))
	}
	header, claims := verify(t, idp, r.str("access_token"))
	kid, _ := idp.SigningKey()
	if header.KeyID != kid || header.Algorithm != string(jose.RS256) || header.ExtraHeaders["typ"] != "at+jwt" {
		t.Fatalf("header = %+v", header)
	}
	if claims["iss"] != idp.URL() || claims["sub"] != id || claims["client_id"] != id || claims["scope"] != "read write" {
		t.Fatalf("claims = %v", claims)
	}
	if aud, _ := claims["aud"].([]any); len(aud) != 1 || aud[0] != "api://orders" {
		t.Fatalf("aud = %v", claims["aud"])
	}
	iat, _ := claims["iat"].(float64)
	exp, _ := claims["exp"].(float64)
	if exp-iat != 90 || claims["jti"] == "" || claims["jti"] == nil {
		t.Fatalf("iat/exp/jti = %v/%v/%v", claims["iat"], claims["exp"], claims["jti"])
	}

	// client_secret_post, and a requested subset of the registered scope.
	post := postForm(t, idp.TokenEndpoint(), url.Values{
		"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}, "scope": {"read"},
	}, "", "")
	post.expect(t, http.StatusOK, "")
	if _, claims := verify(t, idp, post.str("access_token")); claims["scope"] != "read" {
		t.Fatalf("scope claim = %v, want read", claims["scope"])
	}
}

func TestTokenRejections(t *testing.T) {
	idp := mockidp.NewTestServer(t, mockidp.Options{})
	id, secret := registerCC(t, idp, "read")

	requestToken(t, idp, id, secret, "read admin").expect(t, http.StatusBadRequest, "invalid_scope")
	bad := requestToken(t, idp, id, "wrong", "")
	bad.expect(t, http.StatusUnauthorized, "invalid_client")
	if bad.header.Get("WWW-Authenticate") == "" {
		t.Fatal("401 after Basic authentication without WWW-Authenticate")
	}
	requestToken(t, idp, "unknown", secret, "").expect(t, http.StatusUnauthorized, "invalid_client")
	postForm(t, idp.TokenEndpoint(), url.Values{"grant_type": {"client_credentials"}}, "", "").
		expect(t, http.StatusUnauthorized, "invalid_client")
	postForm(t, idp.TokenEndpoint(), url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}, id, secret).
		expect(t, http.StatusBadRequest, "invalid_request")
	postForm(t, idp.TokenEndpoint(), url.Values{"grant_type": {"password"}}, id, secret).
		expect(t, http.StatusBadRequest, "unsupported_grant_type")

	web := call(t, http.MethodPost, idp.RegistrationEndpoint(), "", map[string]any{"redirect_uris": []string{"https://a.example/cb"}})
	requestToken(t, idp, web.str("client_id"), web.str("client_secret"), "").expect(t, http.StatusBadRequest, "unauthorized_client")

	noScope, noScopeSecret := registerCC(t, idp, "")
	requestToken(t, idp, noScope, noScopeSecret, "read").expect(t, http.StatusBadRequest, "invalid_scope")
}

func TestExtraClaims(t *testing.T) {
	idp := mockidp.NewTestServer(t, mockidp.Options{})
	id, secret := registerCC(t, idp, "read")
	idp.SetExtraClaims(id, map[string]any{"pol": []string{"gold"}, "tenant": "acme"})

	_, claims := verify(t, idp, requestToken(t, idp, id, secret, "").str("access_token"))
	if pol, _ := claims["pol"].([]any); len(pol) != 1 || pol[0] != "gold" || claims["tenant"] != "acme" {
		t.Fatalf("extra claims missing: %v", claims)
	}
	idp.SetExtraClaims(id, nil)
	if _, claims := verify(t, idp, requestToken(t, idp, id, secret, "").str("access_token")); claims["pol"] != nil {
		t.Fatalf("extra claims not cleared: %v", claims)
	}
}

func TestKeyRotation(t *testing.T) {
	idp := mockidp.NewTestServer(t, mockidp.Options{})
	id, secret := registerCC(t, idp, "")
	kid0, key0 := idp.SigningKey()
	before := requestToken(t, idp, id, secret, "").str("access_token")

	idp.RotateKeys()
	kid1, key1 := idp.SigningKey()
	if kid1 == kid0 || key1.Equal(key0) {
		t.Fatal("RotateKeys did not change the signing key")
	}
	set := fetchJWKS(t, idp)
	if len(set.Keys) != 2 || len(set.Key(kid0)) != 1 || len(set.Key(kid1)) != 1 {
		t.Fatalf("JWKS after one rotation has kids %v", kids(set))
	}
	for _, k := range set.Keys {
		if !k.IsPublic() || k.Algorithm != "RS256" || k.Use != "sig" {
			t.Fatalf("published key %s: public=%v alg=%q use=%q", k.KeyID, k.IsPublic(), k.Algorithm, k.Use)
		}
	}
	verify(t, idp, before) // still verifies with the previous key
	if h, _ := verify(t, idp, requestToken(t, idp, id, secret, "").str("access_token")); h.KeyID != kid1 {
		t.Fatalf("new token kid = %q, want %q", h.KeyID, kid1)
	}

	idp.RotateKeys()
	if set := fetchJWKS(t, idp); len(set.Key(kid0)) != 0 || len(set.Key(kid1)) != 1 {
		t.Fatalf("after a second rotation the JWKS has kids %v; want the oldest gone", kids(set))
	}
}

func kids(set jose.JSONWebKeySet) []string {
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.KeyID)
	}
	return out
}

func TestMintToken(t *testing.T) {
	idp := mockidp.NewTestServer(t, mockidp.Options{})
	token := idp.MintToken(map[string]any{"sub": "alice", "aud": "api://x", "scope": "read"})
	header, claims := verify(t, idp, token)
	kid, _ := idp.SigningKey()
	if header.KeyID != kid || header.ExtraHeaders["typ"] != "at+jwt" {
		t.Fatalf("header = %+v", header)
	}
	if claims["iss"] != idp.URL() || claims["sub"] != "alice" || claims["aud"] != "api://x" || claims["jti"] == nil {
		t.Fatalf("claims = %v", claims)
	}
	exp, _ := claims["exp"].(float64)
	iat, _ := claims["iat"].(float64)
	if exp-iat != (5 * time.Minute).Seconds() {
		t.Fatalf("default lifetime = %vs, want 300s", exp-iat)
	}

	// Given claims win over the defaults, e.g. to forge an expired token.
	_, claims = verify(t, idp, idp.MintToken(map[string]any{"iss": "https://evil.example", "exp": 1}))
	if claims["iss"] != "https://evil.example" || claims["exp"] != float64(1) {
		t.Fatalf("claims = %v", claims)
	}
}

// TestDiscovery checks the flavours that advertise every endpoint in both documents; Hydra
// advertises less, as TestHydraDiscovery checks.
func TestDiscovery(t *testing.T) {
	for _, flavor := range []mockidp.Flavor{mockidp.FlavorGeneric, mockidp.FlavorOkta, mockidp.FlavorKeycloak} {
		t.Run(string(flavor), func(t *testing.T) {
			idp := mockidp.NewTestServer(t, mockidp.Options{Flavor: flavor})
			for _, path := range []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"} {
				doc := call(t, http.MethodGet, idp.URL()+path, "", nil)
				doc.expect(t, http.StatusOK, "")
				want := map[string]string{
					"issuer":                 idp.URL(),
					"jwks_uri":               idp.JWKSURI(),
					"token_endpoint":         idp.TokenEndpoint(),
					"registration_endpoint":  idp.RegistrationEndpoint(),
					"introspection_endpoint": idp.IntrospectionEndpoint(),
					"revocation_endpoint":    idp.RevocationEndpoint(),
				}
				for k, v := range want {
					if doc.str(k) != v {
						t.Errorf("%s: %s = %q, want %q", path, k, doc.str(k), v)
					}
				}
				// okta, keycloak and hydra advertise their IdPs' lists (TestDiscoveryMatchesTheFlavoursIdP).
				if documented := flavor == mockidp.FlavorOkta || flavor == mockidp.FlavorKeycloak || flavor == mockidp.FlavorHydra; !documented &&
					(!slices.Contains(doc.strings("grant_types_supported"), "client_credentials") ||
						!slices.Equal(doc.strings("token_endpoint_auth_methods_supported"), []string{"client_secret_basic", "client_secret_post"})) {
					t.Errorf("%s: %s", path, doc.raw)
				}
			}
			// The advertised endpoints work, and so do the generic aliases.
			id, secret := registerFor(t, idp)
			requestToken(t, idp, id, secret, "").expect(t, http.StatusOK, "")
			postForm(t, idp.URL()+"/token", url.Values{"grant_type": {"client_credentials"}}, id, secret).expect(t, http.StatusOK, "")
			call(t, http.MethodGet, idp.URL()+"/jwks", "", nil).expect(t, http.StatusOK, "")
		})
	}
}

// registerFor registers a client_credentials client with whatever the flavour demands.
func registerFor(t *testing.T, idp *mockidp.Server) (id, secret string) {
	t.Helper()
	md := ccClient("svc", "")
	auth := ""
	if idp.Flavor() == mockidp.FlavorOkta {
		md["application_type"] = "service"
		auth = "SSWS any"
	}
	r := call(t, http.MethodPost, idp.RegistrationEndpoint(), auth, md)
	r.expect(t, http.StatusCreated, "")
	return r.str("client_id"), r.str("client_secret")
}

func TestIssuerWithPath(t *testing.T) {
	idp := mockidp.NewTestServer(t, mockidp.Options{Flavor: mockidp.FlavorKeycloak})
	base := idp.URL()
	idp.SetIssuer(base + "/realms/demo")
	doc := call(t, http.MethodGet, base+"/realms/demo/.well-known/openid-configuration", "", nil)
	doc.expect(t, http.StatusOK, "")
	if doc.str("issuer") != base+"/realms/demo" ||
		doc.str("token_endpoint") != base+"/realms/demo/protocol/openid-connect/token" {
		t.Fatalf("discovery under an issuer path: %s", doc.raw)
	}
	// RFC 8414 §3: the well-known segment goes between host and issuer path.
	call(t, http.MethodGet, base+"/.well-known/oauth-authorization-server/realms/demo", "", nil).expect(t, http.StatusOK, "")
	id, secret := registerFor(t, idp)
	requestToken(t, idp, id, secret, "").expect(t, http.StatusOK, "")
	call(t, http.MethodGet, base+"/.well-known/openid-configuration", "", nil).expect(t, http.StatusNotFound, "")
}
