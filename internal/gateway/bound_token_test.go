package gateway

import (
	"net/http"
	"strings"
	"testing"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/mockidp"
)

// TestBoundTokensAreRefusedAsBearer: the mock IdP issues tokens with cnf (a DPoP key
// thumbprint, a certificate thumbprint, a malformed cnf), and the gateway, with the real
// validators, refuses each presented as Bearer, whether it checks the JWT itself or asks the
// IdP's introspection endpoint (whose answer carries cnf too, RFC 7662 + RFC 9449 §6.2). The
// same client's unbound token passes, so the refusal is the binding's.
func TestBoundTokensAreRefusedAsBearer(t *testing.T) {
	idp := mockidp.NewTestServer(t, mockidp.Options{})
	register := func(name string) mockidp.ClientRecord {
		rec, err := idp.RegisterClient(map[string]any{"client_name": name,
			"grant_types": []any{"client_credentials"}, "response_types": []any{}, "scope": "read"})
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	app, introspector := register("app"), register("gateway")
	tokenFor := func(cnf any) string {
		if cnf == nil {
			idp.SetExtraClaims(app.ClientID, nil)
		} else {
			idp.SetExtraClaims(app.ClientID, map[string]any{"cnf": cnf})
		}
		body := clientToken(t, http.DefaultClient, idp, app, nil)
		if body.AccessToken == "" {
			t.Fatalf("token answer without a token: %+v", body)
		}
		return body.AccessToken
	}

	h := newRealHarness(t)
	up := newEchoUpstream(t)
	jwtAPI := h.createAPI(adminapi.API{Name: "jwt", ListenPath: "/jwt", UpstreamURL: up.URL,
		JWT: &adminapi.JWTValidation{Issuer: idp.URL(), JWKSURI: idp.JWKSURI()}})
	introAPI := h.createAPI(adminapi.API{Name: "introspected", ListenPath: "/introspected", UpstreamURL: up.URL,
		Introspection: &adminapi.Introspection{Endpoint: idp.IntrospectionEndpoint(), ClientID: introspector.ClientID, ClientSecret: introspector.ClientSecret}})
	h.createPolicy(adminapi.Policy{Name: "p", ClientIDs: []string{app.ClientID},
		AccessRights: []adminapi.AccessRight{{APIID: jwtAPI.ID}, {APIID: introAPI.ID}}})
	get := func(path, token string) *http.Response { return h.do("GET", path, token) }

	unbound := tokenFor(nil)
	for name, cnf := range map[string]any{
		"DPoP (jkt)":             map[string]any{"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"},
		"mTLS (x5t#S256)":        map[string]any{"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"},
		"malformed cnf":          "bound",
		"cnf of an unknown kind": map[string]any{"kid": "k1"},
	} {
		bound := tokenFor(cnf)
		for _, path := range []string{"/jwt/x", "/introspected/x"} {
			expect(t, get(path, unbound), http.StatusOK)
			resp := get(path, bound)
			body := expect(t, resp, http.StatusUnauthorized)
			challenge := resp.Header.Get("WWW-Authenticate")
			if !strings.Contains(challenge, `error="invalid_token"`) || !strings.Contains(challenge, "cnf") {
				t.Errorf("%s at %s: WWW-Authenticate %q must say invalid_token and why (cnf)", name, path, challenge)
			}
			if errorCode(t, body) != "invalid_token" {
				t.Errorf("%s at %s: body %s", name, path, body)
			}
		}
	}
}
