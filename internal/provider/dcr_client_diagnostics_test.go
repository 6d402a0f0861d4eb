package provider

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/idpgate/terraform-provider-idpgate/internal/dcr"
)

func TestDCRClientDiagnostics_attributeNamedIn(t *testing.T) {
	for desc, want := range map[string]string{
		"application_type: The 'client_credentials' grant type can only be used alone": "application_type",
		"jwks_uri must be https":  "jwks_uri",
		"something else entirely": "",
	} {
		if got := attributeNamedIn(desc); got != want {
			t.Errorf("attributeNamedIn(%q) = %q, want %q", desc, got, want)
		}
	}
}

// TestDCRClientDiagnostics_headingsMatchTheSituation registers a client in each situation
// that has its own heading, with real answers from real HTTP servers, and checks that the
// heading says what happened and the diagnostic points at the setting to change. "Cannot
// reach" is for an IdP that never answered, nothing else.
func TestDCRClientDiagnostics_headingsMatchTheSituation(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	var issuer string
	silent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/.well-known/openid-configuration" {
			_, _ = fmt.Fprintf(w, `{"issuer":%q,"token_endpoint":%q}`, issuer, issuer+"/oauth2/token")
			return
		}
		http.NotFound(w, r)
	}))
	defer silent.Close()
	issuer = silent.URL
	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("<html>sign in</html>"))
	}))
	defer html.Close()

	for _, tc := range []struct {
		name, issuer, endpoint, driver string
		metadata                       dcr.Metadata
		summary, attr                  string
	}{
		{"nothing listens", closed.URL, "", "generic", dcr.Metadata{}, "Cannot reach the identity provider", ""},
		{"discovery without registration_endpoint", silent.URL, "", "generic", dcr.Metadata{},
			"Identity provider advertises no registration endpoint", "registration_endpoint"},
		{"hydra falls back, and nothing is there", silent.URL, "", "hydra", dcr.Metadata{},
			"No registration endpoint at that URL", "registration_endpoint"},
		{"a login page instead of discovery", html.URL, "", "generic", dcr.Metadata{},
			"Identity provider discovery failed", "issuer"},
		{"metadata refused before sending", silent.URL, silent.URL + "/register", "generic",
			dcr.Metadata{JWKS: []byte(`{`)}, "Invalid client metadata", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := dcr.New(dcr.Config{Issuer: tc.issuer, RegistrationEndpoint: tc.endpoint, Driver: tc.driver, MaxRetries: 0})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Register(context.Background(), tc.metadata)
			diags := idpErrorDiags(&idpSettings{Driver: tc.driver}, "registering the client", err)
			if len(diags) != 1 || diags[0].Summary() != tc.summary {
				t.Fatalf("err %v gave %v, want %q", err, diags, tc.summary)
			}
			withPath, ok := diags[0].(diag.DiagnosticWithPath)
			if tc.attr != "" && (!ok || !withPath.Path().Equal(path.Root(tc.attr))) {
				t.Errorf("diagnostic not about %s: %v", tc.attr, diags[0])
			}
		})
	}
}
