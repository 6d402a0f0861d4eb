package mockidp_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/idpgate/terraform-provider-idpgate/internal/mockidp"
)

// TestTokenResourceIndicators is RFC 8707 §2 at the token endpoint: each resource parameter
// an absolute URI without a fragment, all of them in aud (instead of the default audience);
// anything else is invalid_target. Discovery says the endpoint honours it.
func TestTokenResourceIndicators(t *testing.T) {
	idp := mockidp.NewTestServer(t, mockidp.Options{Audience: []string{"api://default"}})
	id, secret := registerCC(t, idp, "mcp:use")
	token := func(resources ...string) response {
		form := url.Values{"grant_type": {"client_credentials"}, "resource": resources}
		return postForm(t, idp.TokenEndpoint(), form, id, secret)
	}

	r := token("https://mcp.example.com/mcp")
	r.expect(t, http.StatusOK, "")
	if _, claims := verify(t, idp, r.str("access_token")); !slices.Equal(strs(claims["aud"]), []string{"https://mcp.example.com/mcp"}) {
		t.Errorf("aud %v, want the resource alone", claims["aud"])
	}
	r = token("https://a.example/x", "urn:example:b", "https://a.example/x")
	r.expect(t, http.StatusOK, "")
	if _, claims := verify(t, idp, r.str("access_token")); !slices.Equal(strs(claims["aud"]), []string{"https://a.example/x", "urn:example:b"}) {
		t.Errorf("aud %v, want both resources once each", claims["aud"])
	}
	r = token()
	r.expect(t, http.StatusOK, "")
	if _, claims := verify(t, idp, r.str("access_token")); !slices.Equal(strs(claims["aud"]), []string{"api://default"}) {
		t.Errorf("without a resource, aud %v, want the default audience", claims["aud"])
	}

	for _, bad := range [][]string{
		{"https://mcp.example.com/mcp#frag"},
		{"/mcp"},
		{"mcp.example.com"},
		{""},
		{"https://ok.example", "https://bad.example/#"},
		{"https://1", "https://2", "https://3", "https://4", "https://5", "https://6", "https://7", "https://8", "https://9", "https://10", "https://11"},
	} {
		token(bad...).expect(t, http.StatusBadRequest, "invalid_target")
	}

	d := call(t, http.MethodGet, idp.URL()+"/.well-known/oauth-authorization-server", "", nil)
	d.expect(t, http.StatusOK, "")
	if d.body["resource_indicators_supported"] != true {
		t.Errorf("discovery does not advertise resource indicators: %s", d.raw)
	}
}

func strs(v any) []string {
	switch a := v.(type) {
	case string:
		return []string{a}
	case []any:
		out := make([]string, 0, len(a))
		for _, e := range a {
			s, _ := e.(string)
			out = append(out, s)
		}
		return out
	}
	return nil
}
