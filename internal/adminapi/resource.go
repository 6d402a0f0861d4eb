package adminapi

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Protected resources (RFC 9728, RFC 8707). An API with a Resource is an OAuth protected
// resource that clients find on their own, as Model Context Protocol clients do:
//
//   - the gateway serves its metadata (ProtectedResourceMetadata) without a token at
//     ResourceMetadataURL(Resource): WellKnownProtectedResource inserted between the host and
//     the path (RFC 9728 §3.1), for requests to the resource's host;
//   - every 401 (and the 403 for a missing scope) of the API names that URL in
//     WWW-Authenticate as resource_metadata (RFC 9728 §5.1);
//   - a token must carry Resource in aud (RFC 8707 §2), besides one of jwt.audiences when
//     those are set, unless RequireResourceAudience is false.

// WellKnownProtectedResource is the well-known path of RFC 9728 §3. The gateway answers it,
// and every path below it, itself: the metadata a resource claims there, 404 elsewhere.
const WellKnownProtectedResource = "/.well-known/oauth-protected-resource"

// Bounds of the protected-resource fields.
const (
	MaxResourceLength        = 2048
	maxAuthorizationServers  = 10
	maxScopesSupportedLength = 100
)

// ResourceMetadataURL is where RFC 9728 §3.1 puts the metadata of resource: the well-known
// path between the host and the resource's path, without the slash of an empty path ("/").
// resource must have passed Validate.
func ResourceMetadataURL(resource string) string {
	u, path, ok := resourceParts(resource)
	if !ok {
		return ""
	}
	return u.Scheme + "://" + u.Host + WellKnownProtectedResource + path
}

// ResourceKey is where the gateway serves a resource's metadata from: its host as hosts are
// compared (NormalizeHost: no case, port or trailing dot) and the path of its metadata URL.
// Two APIs whose resources share a key are refused (409): one URL cannot describe both.
func ResourceKey(resource string) string {
	u, path, ok := resourceParts(resource)
	if !ok {
		return ""
	}
	return NormalizeHost(u.Host) + "\x00" + path
}

// resourceParts parses resource and returns its escaped path, "" for "/" (RFC 9728 §3.1
// inserts the well-known path before it).
func resourceParts(resource string) (*url.URL, string, bool) {
	u, err := url.Parse(resource)
	if err != nil {
		return nil, "", false
	}
	path := u.EscapedPath()
	if path == "/" {
		path = ""
	}
	return u, path, true
}

// ResourceAudience is the value a token's aud must contain: Resource, unless it is unset or
// RequireResourceAudience is false.
func (a *API) ResourceAudience() string {
	if a.RequireResourceAudience != nil && !*a.RequireResourceAudience {
		return ""
	}
	return a.Resource
}

// MetadataAuthorizationServers is the metadata's authorization_servers: the configured list,
// else the JWT issuer.
func (a *API) MetadataAuthorizationServers() []string {
	if len(a.AuthorizationServers) > 0 {
		return a.AuthorizationServers
	}
	if a.JWT != nil {
		return []string{a.JWT.Issuer}
	}
	return nil
}

// ProtectedResourceMetadata is the RFC 9728 §2 document the gateway serves for an API with a
// Resource. Only the fields the gateway can stand behind are sent.
type ProtectedResourceMetadata struct {
	Resource                        string   `json:"resource"`
	AuthorizationServers            []string `json:"authorization_servers,omitempty"`
	ScopesSupported                 []string `json:"scopes_supported,omitempty"`
	BearerMethodsSupported          []string `json:"bearer_methods_supported"`
	ResourceName                    string   `json:"resource_name,omitempty"`
	ResourceDocumentation           string   `json:"resource_documentation,omitempty"`
	TLSClientCertificateBoundTokens bool     `json:"tls_client_certificate_bound_access_tokens,omitempty"`
	DPoPSigningAlgValuesSupported   []string `json:"dpop_signing_alg_values_supported,omitempty"`
	DPoPBoundAccessTokensRequired   bool     `json:"dpop_bound_access_tokens_required,omitempty"`
}

// validateResource checks Resource and the metadata fields that go with it.
func (a *API) validateResource() error {
	if a.Resource == "" {
		for field, set := range map[string]bool{
			"resource_name":             a.ResourceName != "",
			"resource_documentation":    a.ResourceDocumentation != "",
			"scopes_supported":          len(a.ScopesSupported) > 0,
			"authorization_servers":     len(a.AuthorizationServers) > 0,
			"require_resource_audience": a.RequireResourceAudience != nil && !*a.RequireResourceAudience,
		} {
			if set {
				return FieldError(field, "applies only to an API with a resource; set resource too, or remove it")
			}
		}
		return nil
	}
	if err := CheckResource(a.Resource); err != nil {
		return FieldError("resource", "%s", err.Error())
	}
	u, _ := url.Parse(a.Resource)
	path := u.Path
	if path == "" {
		path = "/"
	}
	if err := validateListenPath("resource", path); err != nil {
		return FieldError("resource", "%q: its path must be a plain path (no escape, empty, \".\" or \"..\" segment)", a.Resource)
	}
	lp := NormalizeListenPath(a.ListenPath)
	if np := NormalizeListenPath(path); np != lp && lp != "/" && !strings.HasPrefix(np, lp+"/") {
		return FieldError("resource", "%q: its path must be the listen path %q or below it, where clients reach this API", a.Resource, a.ListenPath)
	}
	if len(a.Hosts) > 0 {
		host := NormalizeHost(u.Host)
		found := false
		for _, h := range a.Hosts {
			found = found || NormalizeHost(h) == host
		}
		if !found {
			return FieldError("resource", "%q: its host must be one of hosts (%s), where clients reach this API", a.Resource, strings.Join(a.Hosts, ", "))
		}
	}
	if err := validateName("resource_name", a.ResourceName); a.ResourceName != "" && err != nil {
		return err
	}
	if a.ResourceDocumentation != "" {
		if err := validateHTTPURL("resource_documentation", a.ResourceDocumentation); err != nil {
			return err
		}
	}
	if len(a.ScopesSupported) > maxScopesSupportedLength {
		return FieldError("scopes_supported", "%d scopes; at most %d", len(a.ScopesSupported), maxScopesSupportedLength)
	}
	if err := validateScopes("scopes_supported", a.ScopesSupported); err != nil {
		return err
	}
	if len(a.AuthorizationServers) > maxAuthorizationServers {
		return FieldError("authorization_servers", "%d entries; at most %d", len(a.AuthorizationServers), maxAuthorizationServers)
	}
	for i, s := range a.AuthorizationServers {
		if err := validateHTTPURL(fmt.Sprintf("authorization_servers[%d]", i), s); err != nil {
			return err
		}
	}
	if len(a.MetadataAuthorizationServers()) == 0 {
		return FieldError("authorization_servers", "must be set for an API with a resource and introspection: "+
			"clients read in the metadata which issuer gives tokens for it")
	}
	return nil
}

// CheckResource checks a protected resource's URI as RFC 9728 §1.2 and RFC 8707 §2 want it:
// absolute, https (http only for a loopback host: localhost, *.localhost or a loopback
// address), in lower case where URIs are compared without case, without credentials, query or
// fragment. The error says what is wrong and quotes raw.
func CheckResource(raw string) error {
	if len(raw) > MaxResourceLength {
		return fmt.Errorf("at most %d characters", MaxResourceLength)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q is not a URI: %w", raw, err)
	}
	if !u.IsAbs() || u.Host == "" {
		return fmt.Errorf("%q must be an absolute URI such as https://mcp.example.com/mcp", raw)
	}
	if strings.Contains(raw, "#") {
		return fmt.Errorf("%q must not have a fragment (RFC 8707 §2)", raw)
	}
	if strings.Contains(raw, "?") {
		return fmt.Errorf("%q must not have a query: clients and identity providers compare the resource as a string", raw)
	}
	if u.User != nil {
		return fmt.Errorf("%q must not carry credentials", u.Redacted())
	}
	if scheme := raw[:strings.IndexByte(raw, ':')]; scheme != "https" && scheme != "http" {
		return fmt.Errorf("%q must be an https URI (lower case), such as https://mcp.example.com/mcp", raw)
	}
	if u.Host != strings.ToLower(u.Host) {
		return fmt.Errorf("%q: write the host in lower case, as clients compare the resource as a string", raw)
	}
	if u.Scheme == "http" && !IsLoopbackHost(u.Hostname()) {
		return fmt.Errorf("%q must use https: http is only for a loopback host (localhost, 127.0.0.1, [::1])", raw)
	}
	return nil
}

// IsLoopbackHost reports whether host (without port) is localhost, a name under .localhost
// (RFC 6761 §6.3) or a loopback address.
func IsLoopbackHost(host string) bool {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]"))
	return ip != nil && ip.IsLoopback()
}
