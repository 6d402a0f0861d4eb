package provider

import "testing"

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
