package dcr

import (
	"encoding/json"
	"reflect"
	"testing"
)

// Every typed field goes out under its RFC 7591 name and comes back into the same field: the
// table both directions walk has each field once, of the right kind.
func TestMetadataRoundTripsEveryTypedField(t *testing.T) {
	yes, no := true, false
	m := Metadata{RedirectURIs: []string{"https://app/cb"}, TokenEndpointAuthMethod: "private_key_jwt",
		GrantTypes: []string{"client_credentials"}, ResponseTypes: []string{}, ClientName: "n", ClientURI: "https://c",
		LogoURI: "https://l", Scope: "a b", Contacts: []string{"ops@example.com"}, TosURI: "https://t",
		PolicyURI: "https://p", JWKSURI: "https://j", JWKS: json.RawMessage(`{"keys":[]}`), SoftwareStatement: "s",
		ApplicationType: "web", DPoPBoundAccessTokens: &yes, TLSClientCertificateBoundAccessTokens: &no,
		TLSClientAuthSubjectDN: "CN=app"}
	body, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var wire map[string]json.RawMessage
	if err := json.Unmarshal(body, &wire); err != nil {
		t.Fatal(err)
	}
	if len(wire) != len(m.fields()) {
		t.Errorf("sent %d fields, want the %d typed ones: %s", len(wire), len(m.fields()), body)
	}
	for _, k := range []string{"dpop_bound_access_tokens", "tls_client_certificate_bound_access_tokens", "response_types"} {
		if _, ok := wire[k]; !ok {
			t.Errorf("%s is set but not sent: %s", k, body)
		}
	}
	r, err := decodeRegistration(body)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r.Metadata, m) {
		t.Errorf("round trip:\n got %+v\nwant %+v", r.Metadata, m)
	}

	empty, err := json.Marshal(Metadata{})
	if err != nil || string(empty) != "{}" {
		t.Errorf("unset metadata sends %s, %v; want {}", empty, err)
	}
}
