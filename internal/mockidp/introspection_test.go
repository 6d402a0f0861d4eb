package mockidp_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/idpgate/terraform-provider-idpgate/internal/mockidp"
)

func introspect(t *testing.T, idp *mockidp.Server, id, secret, token string) response {
	t.Helper()
	return postForm(t, idp.IntrospectionEndpoint(), url.Values{"token": {token}}, id, secret)
}

func TestIntrospectionAndRevocation(t *testing.T) {
	idp := mockidp.NewTestServer(t, mockidp.Options{})
	id, secret := registerCC(t, idp, "read")
	rsID, rsSecret := registerCC(t, idp, "") // the resource server that introspects
	token := requestToken(t, idp, id, secret, "").str("access_token")

	r := introspect(t, idp, rsID, rsSecret, token)
	r.expect(t, http.StatusOK, "")
	if r.body["active"] != true || r.str("client_id") != id || r.str("scope") != "read" || r.str("iss") != idp.URL() {
		t.Fatalf("introspection of a live token: %s", r.raw)
	}

	// Unauthenticated callers and missing tokens are refused.
	postForm(t, idp.IntrospectionEndpoint(), url.Values{"token": {token}}, "", "").expect(t, http.StatusUnauthorized, "invalid_client")
	introspect(t, idp, rsID, "wrong", token).expect(t, http.StatusUnauthorized, "invalid_client")
	introspect(t, idp, rsID, rsSecret, "").expect(t, http.StatusBadRequest, "invalid_request")

	inactive := func(name, tok string) {
		t.Helper()
		r := introspect(t, idp, rsID, rsSecret, tok)
		r.expect(t, http.StatusOK, "")
		if r.body["active"] != false || len(r.body) != 1 {
			t.Fatalf("%s: want exactly {\"active\":false}, got %s", name, r.raw)
		}
	}
	inactive("garbage", "not-a-jwt")
	inactive("expired", idp.MintToken(map[string]any{"sub": "x", "exp": 1}))
	inactive("not yet valid", idp.MintToken(map[string]any{"sub": "x", "nbf": 1 << 40}))
	tampered := token[:len(token)-4] + "AAAA"
	if tampered == token {
		tampered = token[:len(token)-4] + "BBBB"
	}
	inactive("bad signature", tampered)

	// RFC 7009: revocation answers 200, then the token is inactive.
	postForm(t, idp.RevocationEndpoint(), url.Values{"token": {token}}, id, secret).expect(t, http.StatusOK, "")
	inactive("revoked", token)
	postForm(t, idp.RevocationEndpoint(), url.Values{"token": {"unknown"}}, id, secret).expect(t, http.StatusOK, "")
	postForm(t, idp.RevocationEndpoint(), url.Values{"token": {token}}, "", "").expect(t, http.StatusUnauthorized, "invalid_client")

	// Tokens of a deleted client are no longer active; those of others are unaffected.
	other := requestToken(t, idp, id, secret, "").str("access_token")
	if introspect(t, idp, rsID, rsSecret, other).body["active"] != true {
		t.Fatal("a fresh token is not active")
	}
	idp.DeleteClient(id)
	inactive("client deleted", other)
}

func TestIntrospectionAfterKeyRotation(t *testing.T) {
	idp := mockidp.NewTestServer(t, mockidp.Options{})
	id, secret := registerCC(t, idp, "")
	token := requestToken(t, idp, id, secret, "").str("access_token")
	idp.RotateKeys()
	if introspect(t, idp, id, secret, token).body["active"] != true {
		t.Fatal("a token signed with the previous (still published) key is inactive")
	}
	idp.RotateKeys()
	if introspect(t, idp, id, secret, token).body["active"] != false {
		t.Fatal("a token signed with a key no longer published is active")
	}
}
