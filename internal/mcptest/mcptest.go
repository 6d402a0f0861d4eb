// Package mcptest runs a Model Context Protocol server and client from the official Go SDK
// (github.com/modelcontextprotocol/go-sdk) for the tests that put an MCP server behind
// idpgate: a real client and server no one here wrote, so that the tests show what an MCP
// client does on its own with what the gateway serves.
//
// The client is the SDK's streamable HTTP transport with the SDK's client-credentials
// handler (auth/extauth.ClientCredentialsHandler). Given only the server's URL, a client id
// and a secret, it sends its first request without a token; on the 401 (or a 403) it parses
// WWW-Authenticate (oauthex.ParseWWWAuthenticate), reads the RFC 9728 metadata named by
// resource_metadata (or at the well-known URLs it derives from the server's URL), checks
// that its resource is the URL it called (oauthex.GetProtectedResourceMetadata), reads the
// first authorization server's RFC 8414 / OpenID metadata, and asks its token endpoint for a
// token with the client_credentials grant, for the scope of the challenge, else the
// metadata's scopes_supported (united with the scopes it already holds, so it steps up on a
// 403 insufficient_scope); then it sends the request again, once.
//
// What the SDK's handler (v1.8.0) does not do: it sends no RFC 8707 resource parameter,
// though the MCP authorization specification says a client MUST. An identity provider that
// puts the resource in aud by itself (an Okta custom authorization server whose audience is
// the resource, a Keycloak audience mapper, the mock IdP's -audience) serves it as it is;
// ClientOptions.Resource adds the parameter to its token request for the others.
package mcptest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/auth/extauth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
)

// Tools are the names of the tools the test server offers.
var Tools = []string{"echo", "whoami"}

type echoIn struct {
	Text string `json:"text" jsonschema:"the text to send back"`
}

type echoOut struct {
	Text string `json:"text"`
}

type whoamiOut struct {
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
}

// NewServer is a streamable HTTP MCP server with the tools echo and whoami (which answers
// the client id and scope the gateway forwarded in X-Idpgate-Client-Id and X-Idpgate-Scope).
func NewServer() http.Handler {
	s := mcp.NewServer(&mcp.Implementation{Name: "idpgate-test-tools", Version: "v0.0.1"}, nil)
	mcp.AddTool(s, &mcp.Tool{Name: "echo", Description: "Answers the text it is given."},
		func(_ context.Context, _ *mcp.CallToolRequest, in echoIn) (*mcp.CallToolResult, echoOut, error) {
			return nil, echoOut(in), nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "whoami", Description: "Answers the caller the gateway identified."},
		func(_ context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, whoamiOut, error) {
			var out whoamiOut
			if req.Extra != nil && req.Extra.Header != nil {
				out.ClientID = req.Extra.Header.Get("X-Idpgate-Client-Id")
				out.Scope = req.Extra.Header.Get("X-Idpgate-Scope")
			}
			return nil, out, nil
		})
	return mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, nil)
}

// StartServer serves NewServer on loopback until the test ends.
func StartServer(t testing.TB) *httptest.Server {
	srv := httptest.NewServer(NewServer())
	t.Cleanup(srv.Close)
	return srv
}

// ClientOptions are what the client is given.
type ClientOptions struct {
	ClientID, ClientSecret string
	// Resource, when set, is sent as the RFC 8707 resource parameter of the token request,
	// which the SDK's handler leaves out (see the package comment).
	Resource string
	// HTTPClient carries every request (MCP, metadata, token); nil means a new client.
	HTTPClient *http.Client
}

// Result is what one client run saw.
type Result struct {
	// Tools are the names the server listed.
	Tools []string
	// ClientID and Scope are what whoami answered: the identity the gateway forwarded.
	ClientID, Scope string
	// Requests are the requests the client sent, as "METHOD URL" (query included), in order.
	Requests []string
}

// ListTools connects to the MCP server at endpoint with no token, as an MCP client does,
// lists its tools and calls whoami. The error of a refused client says why.
func ListTools(ctx context.Context, endpoint string, opts ClientOptions) (*Result, error) {
	rec := &recorder{resource: opts.Resource}
	base := opts.HTTPClient
	if base == nil {
		base = &http.Client{}
	}
	rec.next = base.Transport
	if rec.next == nil {
		rec.next = http.DefaultTransport.(*http.Transport).Clone()
	}
	hc := &http.Client{Transport: rec, Timeout: base.Timeout}
	handler, err := extauth.NewClientCredentialsHandler(&extauth.ClientCredentialsHandlerConfig{
		Credentials: &oauthex.ClientCredentials{ClientID: opts.ClientID,
			ClientSecretAuth: &oauthex.ClientSecretAuth{ClientSecret: opts.ClientSecret}},
		HTTPClient: hc,
	})
	if err != nil {
		return nil, err
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "idpgate-test-client", Version: "v0.0.1"}, nil)
	session, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: endpoint, HTTPClient: hc,
		OAuthHandler: handler, DisableStandaloneSSE: true}, nil)
	if err != nil {
		return &Result{Requests: rec.seen()}, fmt.Errorf("connecting to %s: %w", endpoint, err)
	}
	defer func() { _ = session.Close() }()
	res := &Result{}
	list, err := session.ListTools(ctx, nil)
	if err != nil {
		res.Requests = rec.seen()
		return res, fmt.Errorf("listing tools: %w", err)
	}
	for _, tool := range list.Tools {
		res.Tools = append(res.Tools, tool.Name)
	}
	slices.Sort(res.Tools)
	call, err := session.CallTool(ctx, &mcp.CallToolParams{Name: "whoami", Arguments: map[string]any{}})
	if err != nil {
		res.Requests = rec.seen()
		return res, fmt.Errorf("calling whoami: %w", err)
	}
	if m, ok := call.StructuredContent.(map[string]any); ok {
		res.ClientID, _ = m["client_id"].(string)
		res.Scope, _ = m["scope"].(string)
	}
	res.Requests = rec.seen()
	return res, nil
}

// recorder notes every request, and adds resource to client_credentials token requests.
type recorder struct {
	next     http.RoundTripper
	resource string
	mu       sync.Mutex
	log      []string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if r.resource != "" && req.Method == http.MethodPost && req.Body != nil &&
		strings.HasPrefix(req.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		if form, err := url.ParseQuery(string(body)); err == nil && form.Get("grant_type") == "client_credentials" {
			form.Add("resource", r.resource)
			body = []byte(form.Encode())
		}
		req = req.Clone(req.Context())
		req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	r.mu.Lock()
	r.log = append(r.log, req.Method+" "+req.URL.String())
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

func (r *recorder) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.log)
}

// ErrNoTools is returned by CheckTools when the server listed other tools than Tools.
var ErrNoTools = errors.New("the MCP server did not list the expected tools")

// CheckTools reports whether res lists exactly Tools.
func CheckTools(res *Result) error {
	if res == nil || !slices.Equal(res.Tools, Tools) {
		return fmt.Errorf("%w: got %v, want %v", ErrNoTools, res, Tools)
	}
	return nil
}
