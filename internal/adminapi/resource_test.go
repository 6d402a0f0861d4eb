package adminapi

import (
	"strings"
	"testing"
)

func resourceAPI(resource string) API {
	a := validJWTAPI()
	a.ListenPath = "/mcp"
	a.Resource = resource
	return a
}

func TestResourceAccepted(t *testing.T) {
	for _, r := range []string{
		"https://mcp.example.com/mcp",
		"https://mcp.example.com/mcp/",
		"https://mcp.example.com/mcp/v1",
		"https://mcp.example.com:8443/mcp",
		"http://localhost:8080/mcp",
		"http://127.0.0.1:8080/mcp",
		"http://[::1]:8080/mcp",
		"http://a.localhost/mcp",
	} {
		a := resourceAPI(r)
		if err := a.Validate(); err != nil {
			t.Errorf("resource %q refused: %v", r, err)
		}
	}
	root := validJWTAPI()
	root.ListenPath, root.Resource = "/", "https://api.example.com"
	if err := root.Validate(); err != nil {
		t.Errorf("a resource without a path on listen path /: %v", err)
	}
	hosted := resourceAPI("https://a.example.com/mcp")
	hosted.Hosts = []string{"A.example.com", "b.example.com"}
	if err := hosted.Validate(); err != nil {
		t.Errorf("a resource on one of the hosts: %v", err)
	}
	intro := API{Name: "x", ListenPath: "/mcp", UpstreamURL: "http://u", Resource: "https://h.example/mcp",
		AuthorizationServers: []string{"https://idp.example"},
		Introspection:        &Introspection{Endpoint: "https://idp.example/introspect", ClientID: "gw"}}
	if err := intro.Validate(); err != nil {
		t.Errorf("introspection API with authorization_servers: %v", err)
	}
}

func TestResourceRefused(t *testing.T) {
	no := false
	cases := []struct {
		name, field, words string
		mutate             func(*API)
	}{
		{"fragment", "resource", "fragment", func(a *API) { a.Resource = "https://h.example/mcp#x" }},
		{"empty fragment", "resource", "fragment", func(a *API) { a.Resource = "https://h.example/mcp#" }},
		{"relative", "resource", "absolute", func(a *API) { a.Resource = "/mcp" }},
		{"no host", "resource", "absolute", func(a *API) { a.Resource = "https:///mcp" }},
		{"http elsewhere", "resource", "https", func(a *API) { a.Resource = "http://h.example/mcp" }},
		{"http on a private address", "resource", "https", func(a *API) { a.Resource = "http://10.0.0.1/mcp" }},
		{"other scheme", "resource", "https", func(a *API) { a.Resource = "urn:example:mcp" }},
		{"query", "resource", "query", func(a *API) { a.Resource = "https://h.example/mcp?x=1" }},
		{"empty query", "resource", "query", func(a *API) { a.Resource = "https://h.example/mcp?" }},
		{"credentials", "resource", "credentials", func(a *API) { a.Resource = "https://u:p@h.example/mcp" }},
		{"upper-case host", "resource", "lower case", func(a *API) { a.Resource = "https://H.example/mcp" }},
		{"upper-case scheme", "resource", "lower case", func(a *API) { a.Resource = "HTTPS://h.example/mcp" }},
		{"outside the listen path", "resource", "listen path", func(a *API) { a.Resource = "https://h.example/other" }},
		{"a sibling of the listen path", "resource", "listen path", func(a *API) { a.Resource = "https://h.example/mcpx" }},
		{"no path", "resource", "listen path", func(a *API) { a.Resource = "https://h.example" }},
		{"dot segment", "resource", "plain path", func(a *API) { a.Resource = "https://h.example/mcp/../x" }},
		{"escape", "resource", "plain path", func(a *API) { a.Resource = "https://h.example/mcp/a%20b" }},
		{"host outside hosts", "resource", "hosts", func(a *API) {
			a.Hosts = []string{"a.example.com"}
			a.Resource = "https://b.example.com/mcp"
		}},
		{"too long", "resource", "at most", func(a *API) { a.Resource = "https://h.example/mcp/" + strings.Repeat("a", MaxResourceLength) }},
		{"documentation", "resource_documentation", "absolute", func(a *API) { a.ResourceDocumentation = "docs" }},
		{"name", "resource_name", "control", func(a *API) { a.ResourceName = "a\nb" }},
		{"scope", "scopes_supported[0]", "spaces", func(a *API) { a.ScopesSupported = []string{"a b"} }},
		{"authorization server", "authorization_servers[0]", "absolute", func(a *API) { a.AuthorizationServers = []string{"idp"} }},
		{"name without resource", "resource_name", "only", func(a *API) { a.Resource, a.ResourceName = "", "MCP" }},
		{"scopes without resource", "scopes_supported", "only", func(a *API) { a.Resource, a.ScopesSupported = "", []string{"a"} }},
		{"opt-out without resource", "require_resource_audience", "only", func(a *API) { a.Resource, a.RequireResourceAudience = "", &no }},
		{"introspection without authorization servers", "authorization_servers", "introspection", func(a *API) {
			a.JWT, a.Introspection = nil, &Introspection{Endpoint: "https://idp.example/i", ClientID: "gw"}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := resourceAPI("https://h.example/mcp")
			tc.mutate(&a)
			err := a.Validate()
			assertFieldError(t, err, tc.field)
			if err != nil && !strings.Contains(err.Error(), tc.words) {
				t.Errorf("message %q does not say %q", err, tc.words)
			}
		})
	}
}

// TestResourceMetadataURL is RFC 9728 §3.1: the well-known path goes between the host and
// the path; a resource without a path (or with "/") has its metadata at the well-known path
// itself; a trailing slash stays.
func TestResourceMetadataURL(t *testing.T) {
	for resource, want := range map[string]string{
		"https://mcp.example.com/mcp":      "https://mcp.example.com/.well-known/oauth-protected-resource/mcp",
		"https://mcp.example.com/mcp/":     "https://mcp.example.com/.well-known/oauth-protected-resource/mcp/",
		"https://mcp.example.com:8443/a/b": "https://mcp.example.com:8443/.well-known/oauth-protected-resource/a/b",
		"https://mcp.example.com":          "https://mcp.example.com/.well-known/oauth-protected-resource",
		"https://mcp.example.com/":         "https://mcp.example.com/.well-known/oauth-protected-resource",
		"http://127.0.0.1:8080/tools/mcp":  "http://127.0.0.1:8080/.well-known/oauth-protected-resource/tools/mcp",
	} {
		if got := ResourceMetadataURL(resource); got != want {
			t.Errorf("ResourceMetadataURL(%q) = %q, want %q", resource, got, want)
		}
	}
	if ResourceKey("https://MCP.example.com:8443/mcp") != ResourceKey("https://mcp.example.com/mcp") {
		t.Error("one host on two ports is one place to serve metadata from")
	}
	if ResourceKey("https://mcp.example.com/mcp") == ResourceKey("https://mcp.example.com/mcp/") {
		t.Error("a trailing slash is another metadata URL")
	}
}

func TestResourceAudience(t *testing.T) {
	a := resourceAPI("https://h.example/mcp")
	if got := a.ResourceAudience(); got != "https://h.example/mcp" {
		t.Errorf("ResourceAudience = %q", got)
	}
	no := false
	a.RequireResourceAudience = &no
	if got := a.ResourceAudience(); got != "" {
		t.Errorf("with the opt-out, ResourceAudience = %q", got)
	}
}
