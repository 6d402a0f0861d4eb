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

// wire returns the metadata as a JSON object, Extra merged under the typed fields.
func (m Metadata) wire() map[string]any {
	out := make(map[string]any, len(m.Extra)+16)
	for k, v := range m.Extra {
		out[k] = v
	}
	setString := func(k, v string) {
		if v != "" {
			out[k] = v
		}
	}
	setList := func(k string, v []string) {
		if v != nil {
			out[k] = v
		}
	}
	setList(fieldRedirectURIs, m.RedirectURIs)
	setString(fieldTokenEndpointAuthMethod, m.TokenEndpointAuthMethod)
	setList(fieldGrantTypes, m.GrantTypes)
	setList(fieldResponseTypes, m.ResponseTypes)
	setString(fieldClientName, m.ClientName)
	setString(fieldClientURI, m.ClientURI)
	setString(fieldLogoURI, m.LogoURI)
	setString(fieldScope, m.Scope)
	setList(fieldContacts, m.Contacts)
	setString(fieldTosURI, m.TosURI)
	setString(fieldPolicyURI, m.PolicyURI)
	setString(fieldJWKSURI, m.JWKSURI)
	if len(m.JWKS) > 0 {
		out[fieldJWKS] = m.JWKS
	}
	setString(fieldSoftwareStatement, m.SoftwareStatement)
	setString(fieldApplicationType, m.ApplicationType)
	if m.DPoPBoundAccessTokens != nil {
		out[fieldDPoPBound] = *m.DPoPBoundAccessTokens
	}
	if m.TLSClientCertificateBoundAccessTokens != nil {
		out[fieldTLSCertificateBound] = *m.TLSClientCertificateBoundAccessTokens
	}
	setString(fieldTLSClientAuthSubjectDN, m.TLSClientAuthSubjectDN)
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

	m := &r.Metadata
	list(fieldRedirectURIs, &m.RedirectURIs)
	str(fieldTokenEndpointAuthMethod, &m.TokenEndpointAuthMethod)
	list(fieldGrantTypes, &m.GrantTypes)
	list(fieldResponseTypes, &m.ResponseTypes)
	str(fieldClientName, &m.ClientName)
	str(fieldClientURI, &m.ClientURI)
	str(fieldLogoURI, &m.LogoURI)
	str(fieldScope, &m.Scope)
	list(fieldContacts, &m.Contacts)
	str(fieldTosURI, &m.TosURI)
	str(fieldPolicyURI, &m.PolicyURI)
	str(fieldJWKSURI, &m.JWKSURI)
	if v, ok := raw[fieldJWKS]; ok {
		delete(raw, fieldJWKS)
		if !isNull(v) {
			m.JWKS = v
		}
	}
	str(fieldSoftwareStatement, &m.SoftwareStatement)
	str(fieldApplicationType, &m.ApplicationType)
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
	boolean(fieldDPoPBound, &m.DPoPBoundAccessTokens)
	boolean(fieldTLSCertificateBound, &m.TLSClientCertificateBoundAccessTokens)
	str(fieldTLSClientAuthSubjectDN, &m.TLSClientAuthSubjectDN)
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
