package dcr

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
)

// Metadata is the client metadata of RFC 7591 §2 (plus OpenID Connect's application_type).
// A nil slice or empty string is "not set" and not sent; a non-nil empty slice is sent as []
// (response_types: [] is how a client_credentials-only client says it has no redirects).
// Extra carries vendor fields, sent merged at the top level; the typed fields win over Extra.
type Metadata struct {
	RedirectURIs            []string
	TokenEndpointAuthMethod string
	GrantTypes              []string
	ResponseTypes           []string
	ClientName              string
	ClientURI               string
	LogoURI                 string
	Scope                   string
	Contacts                []string
	TosURI                  string
	PolicyURI               string
	JWKSURI                 string
	JWKS                    json.RawMessage
	SoftwareStatement       string
	ApplicationType         string
	// DPoPBoundAccessTokens asks for DPoP-bound access tokens only (RFC 9449 §5.2); nil is
	// "not set".
	DPoPBoundAccessTokens *bool
	// TLSClientCertificateBoundAccessTokens asks for certificate-bound access tokens (RFC
	// 8705 §3.4); nil is "not set".
	TLSClientCertificateBoundAccessTokens *bool
	// TLSClientAuthSubjectDN is the subject DN of the client's certificate for
	// token_endpoint_auth_method tls_client_auth (RFC 8705 §2.1.2).
	TLSClientAuthSubjectDN string
	Extra                  map[string]json.RawMessage
}

// Registration is an IdP's answer about a client (RFC 7591 §3.2.1, RFC 7592 §3): the
// credentials, the management handle and the metadata as the IdP returned it.
type Registration struct {
	ClientID                string
	ClientSecret            string
	ClientIDIssuedAt        int64
	ClientSecretExpiresAt   int64
	RegistrationClientURI   string
	RegistrationAccessToken string
	Metadata                Metadata
}

// Metadata field names, as on the wire.
const (
	fieldRedirectURIs            = "redirect_uris"
	fieldTokenEndpointAuthMethod = "token_endpoint_auth_method"
	fieldGrantTypes              = "grant_types"
	fieldResponseTypes           = "response_types"
	fieldClientName              = "client_name"
	fieldClientURI               = "client_uri"
	fieldLogoURI                 = "logo_uri"
	fieldScope                   = "scope"
	fieldContacts                = "contacts"
	fieldTosURI                  = "tos_uri"
	fieldPolicyURI               = "policy_uri"
	fieldJWKSURI                 = "jwks_uri"
	fieldJWKS                    = "jwks"
	fieldSoftwareStatement       = "software_statement"
	fieldApplicationType         = "application_type"
	fieldDPoPBound               = "dpop_bound_access_tokens"
	fieldTLSCertificateBound     = "tls_client_certificate_bound_access_tokens"
	fieldTLSClientAuthSubjectDN  = "tls_client_auth_subject_dn"

	fieldClientID                = "client_id"
	fieldClientSecret            = "client_secret"
	fieldClientIDIssuedAt        = "client_id_issued_at"
	fieldClientSecretExpiresAt   = "client_secret_expires_at"
	fieldRegistrationClientURI   = "registration_client_uri"
	fieldRegistrationAccessToken = "registration_access_token"
)

// ReservedFields are the names Extra may not carry: the typed metadata and the fields the
// IdP issues. Callers validate user input against it.
var ReservedFields = []string{
	fieldRedirectURIs, fieldTokenEndpointAuthMethod, fieldGrantTypes, fieldResponseTypes, fieldClientName,
	fieldClientURI, fieldLogoURI, fieldScope, fieldContacts, fieldTosURI, fieldPolicyURI, fieldJWKSURI, fieldJWKS,
	fieldSoftwareStatement, fieldApplicationType, fieldDPoPBound, fieldTLSCertificateBound, fieldTLSClientAuthSubjectDN,
	fieldClientID, fieldClientSecret, fieldClientIDIssuedAt, fieldClientSecretExpiresAt,
	fieldRegistrationClientURI, fieldRegistrationAccessToken,
}

// Validate reports input a registration must not carry.
func (m Metadata) Validate() error {
	if m.JWKSURI != "" && len(m.JWKS) > 0 {
		return fmt.Errorf("%w: jwks and jwks_uri are mutually exclusive (RFC 7591 §2)", ErrInvalidMetadata)
	}
	if len(m.JWKS) > 0 && !json.Valid(m.JWKS) {
		return fmt.Errorf("%w: jwks is not valid JSON", ErrInvalidMetadata)
	}
	keys := make([]string, 0, len(m.Extra))
	for k := range m.Extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if slices.Contains(ReservedFields, k) {
			return fmt.Errorf("%w: extra metadata must not set %q", ErrInvalidMetadata, k)
		}
		if !json.Valid(m.Extra[k]) {
			return fmt.Errorf("%w: extra metadata %q is not valid JSON", ErrInvalidMetadata, k)
		}
	}
	return nil
}

// ClientCredentialsOnly reports whether the only grant type is client_credentials.
func (m Metadata) ClientCredentialsOnly() bool {
	return len(m.GrantTypes) == 1 && m.GrantTypes[0] == "client_credentials"
}

// metadataField is one typed metadata field and where it lives: exactly one of the pointers
// is set.
type metadataField struct {
	name string
	str  *string
	list *[]string
	flag **bool
	raw  *json.RawMessage
}

// fields lists m's typed fields in wire order: the one table that sending (wire) and reading
// (decodeRegistration) walk, so that the two directions cannot drift apart.
func (m *Metadata) fields() []metadataField {
	return []metadataField{
		{name: fieldRedirectURIs, list: &m.RedirectURIs},
		{name: fieldTokenEndpointAuthMethod, str: &m.TokenEndpointAuthMethod},
		{name: fieldGrantTypes, list: &m.GrantTypes},
		{name: fieldResponseTypes, list: &m.ResponseTypes},
		{name: fieldClientName, str: &m.ClientName},
		{name: fieldClientURI, str: &m.ClientURI},
		{name: fieldLogoURI, str: &m.LogoURI},
		{name: fieldScope, str: &m.Scope},
		{name: fieldContacts, list: &m.Contacts},
		{name: fieldTosURI, str: &m.TosURI},
		{name: fieldPolicyURI, str: &m.PolicyURI},
		{name: fieldJWKSURI, str: &m.JWKSURI},
		{name: fieldJWKS, raw: &m.JWKS},
		{name: fieldSoftwareStatement, str: &m.SoftwareStatement},
		{name: fieldApplicationType, str: &m.ApplicationType},
		{name: fieldDPoPBound, flag: &m.DPoPBoundAccessTokens},
		{name: fieldTLSCertificateBound, flag: &m.TLSClientCertificateBoundAccessTokens},
		{name: fieldTLSClientAuthSubjectDN, str: &m.TLSClientAuthSubjectDN},
	}
}

// wire returns the metadata as a JSON object, Extra merged under the typed fields; a field
// that is not set (empty string, nil list or flag, no JWKS) is left out.
func (m Metadata) wire() map[string]any {
	out := make(map[string]any, len(m.Extra)+16)
	for k, v := range m.Extra {
		out[k] = v
	}
	for _, f := range m.fields() {
		switch {
		case f.str != nil && *f.str != "":
			out[f.name] = *f.str
		case f.list != nil && *f.list != nil:
			out[f.name] = *f.list
		case f.flag != nil && *f.flag != nil:
			out[f.name] = **f.flag
		case f.raw != nil && len(*f.raw) > 0:
			out[f.name] = *f.raw
		}
	}
	return out
}

// MarshalJSON sends the metadata as RFC 7591 wants it, Extra merged at the top level.
func (m Metadata) MarshalJSON() ([]byte, error) { return json.Marshal(m.wire()) }

// decodeRegistration reads an IdP's answer: issued fields into Registration, the known
// metadata into typed fields, everything else into Metadata.Extra. JSON null is "not set".
func decodeRegistration(body []byte) (Registration, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return Registration{}, fmt.Errorf("the identity provider's answer is not a JSON object: %w", err)
	}
	var r Registration
	var errs []error
	str := func(k string, dst *string) {
		if v, ok := raw[k]; ok {
			delete(raw, k)
			if !isNull(v) {
				if err := json.Unmarshal(v, dst); err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", k, err))
				}
			}
		}
	}
	list := func(k string, dst *[]string) {
		if v, ok := raw[k]; ok {
			delete(raw, k)
			if !isNull(v) {
				*dst = []string{}
				if err := json.Unmarshal(v, dst); err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", k, err))
				}
			}
		}
	}
	num := func(k string, dst *int64) {
		if v, ok := raw[k]; ok {
			delete(raw, k)
			if !isNull(v) {
				var n json.Number
				if err := json.Unmarshal(v, &n); err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", k, err))
					return
				}
				f, err := n.Float64()
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", k, err))
					return
				}
				*dst = int64(f)
			}
		}
	}
	str(fieldClientID, &r.ClientID)
	str(fieldClientSecret, &r.ClientSecret)
	num(fieldClientIDIssuedAt, &r.ClientIDIssuedAt)
	num(fieldClientSecretExpiresAt, &r.ClientSecretExpiresAt)
	str(fieldRegistrationClientURI, &r.RegistrationClientURI)
	str(fieldRegistrationAccessToken, &r.RegistrationAccessToken)

	boolean := func(k string, dst **bool) {
		if v, ok := raw[k]; ok {
			delete(raw, k)
			if !isNull(v) {
				var b bool
				if err := json.Unmarshal(v, &b); err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", k, err))
				}
				*dst = &b
			}
		}
	}
	rawField := func(k string, dst *json.RawMessage) {
		if v, ok := raw[k]; ok {
			delete(raw, k)
			if !isNull(v) {
				*dst = v
			}
		}
	}
	m := &r.Metadata
	for _, f := range m.fields() {
		switch {
		case f.str != nil:
			str(f.name, f.str)
		case f.list != nil:
			list(f.name, f.list)
		case f.flag != nil:
			boolean(f.name, f.flag)
		case f.raw != nil:
			rawField(f.name, f.raw)
		}
	}
	if len(raw) > 0 {
		m.Extra = raw
	}
	if len(errs) > 0 {
		return r, fmt.Errorf("the identity provider's answer has malformed fields: %v", errs)
	}
	return r, nil
}

func isNull(v json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(v), []byte("null")) }

// carriedFrom completes an answer with what the IdP did not repeat: RFC 7592 lets a read or
// update omit the secret and the registration access token, which stay valid until the IdP
// sends new ones. This is the one place that rule lives, so no caller can lose a credential.
func (r Registration) carriedFrom(prev Registration) Registration {
	if r.ClientID == "" {
		r.ClientID = prev.ClientID
	}
	if r.ClientSecret == "" {
		r.ClientSecret = prev.ClientSecret
		if r.ClientSecretExpiresAt == 0 {
			r.ClientSecretExpiresAt = prev.ClientSecretExpiresAt
		}
	}
	if r.ClientIDIssuedAt == 0 {
		r.ClientIDIssuedAt = prev.ClientIDIssuedAt
	}
	if r.RegistrationClientURI == "" {
		r.RegistrationClientURI = prev.RegistrationClientURI
	}
	if r.RegistrationAccessToken == "" {
		r.RegistrationAccessToken = prev.RegistrationAccessToken
	}
	return r
}
