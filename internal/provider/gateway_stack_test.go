package provider

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway"
	"github.com/idpgate/terraform-provider-idpgate/internal/mockidp"
)

// gatewayStack is everything an end-to-end test talks to, in-process on 127.0.0.1: the mock
// IdP, the gateway (proxy and admin listeners) and an upstream that records what reached it.
type gatewayStack struct {
	idp        *mockidp.Server
	proxyURL   string
	adminURL   string
	adminToken string
	admin      *adminapi.Client
	upstream   *recordingUpstream
	http       *http.Client
	// providerExtra is added to the provider block, e.g. gateway_ca_bundle.
	providerExtra string
}

func startGatewayStack(t *testing.T) *gatewayStack {
	t.Helper()
	return startGatewayStackWithAdminTLS(t, nil, nil)
}

// startGatewayStackWithAdminTLS serves the admin listener over TLS with adminTLS (plain HTTP
// when nil); the stack's own admin client, which the checks use, goes through adminHTTP.
func startGatewayStackWithAdminTLS(t *testing.T, adminTLS *tls.Config, adminHTTP *http.Client) *gatewayStack {
	t.Helper()
	idp := mockidp.NewTestServer(t, mockidp.Options{Flavor: mockidp.FlavorGeneric})
	const adminToken = "e2e-admin-token-0123456789"
	up := newRecordingUpstream(t)
	proxyURL, adminURL := startGateway(t, adminToken, adminTLS)
	admin, err := adminapi.NewClient(adminURL, adminToken, adminHTTP)
	if err != nil {
		t.Fatal(err)
	}
	return &gatewayStack{idp: idp, proxyURL: proxyURL, adminURL: adminURL, adminToken: adminToken,
		admin: admin, upstream: up, http: &http.Client{Timeout: 10 * time.Second}}
}

// startGateway serves a gateway's proxy and admin listeners on loopback until t ends, the
// admin one over TLS with adminTLS when it is set.
func startGateway(t *testing.T, adminToken string, adminTLS *tls.Config) (proxyURL, adminURL string) {
	t.Helper()
	gw, err := gateway.New(gateway.Options{DataDir: t.TempDir(), AdminToken: adminToken,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("starting gateway: %v", err)
	}
	proxy := httptest.NewServer(gw.ProxyHandler())
	adminSrv := httptest.NewUnstartedServer(gw.AdminHandler())
	if adminTLS != nil {
		adminSrv.TLS = adminTLS
		adminSrv.StartTLS()
	} else {
		adminSrv.Start()
	}
	t.Cleanup(func() {
		proxy.Close()
		adminSrv.Close()
		_ = gw.Close()
	})
	return proxy.URL, adminSrv.URL
}

// providerBlock configures both halves of the provider against the stack.
func (s *gatewayStack) providerBlock() string {
	return fmt.Sprintf(`
provider "idpgate" {
  issuer              = %q
  gateway_url         = %q
  gateway_admin_token = %q
  %s
}
`, s.idp.URL(), s.adminURL, s.adminToken, s.providerExtra)
}

// recordingUpstream answers 200 and remembers the requests that reached it.
type recordingUpstream struct {
	*httptest.Server
	mu   sync.Mutex
	seen []upstreamRequest
}

type upstreamRequest struct {
	Method string
	Path   string
	Header http.Header
}

func newRecordingUpstream(t *testing.T) *recordingUpstream {
	u := &recordingUpstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.seen = append(u.seen, upstreamRequest{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone()})
		u.mu.Unlock()
		_, _ = io.WriteString(w, "upstream ok")
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *recordingUpstream) last() (upstreamRequest, int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.seen) == 0 {
		return upstreamRequest{}, 0
	}
	return u.seen[len(u.seen)-1], len(u.seen)
}

func (u *recordingUpstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.seen)
}

// call sends one request through the gateway's proxy; token "" sends none.
func (s *gatewayStack) call(method, path, token string) (*http.Response, error) {
	req, err := http.NewRequest(method, s.proxyURL+path, nil)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp, nil
}

// expectStatus sends a request and checks the status the gateway answered.
func (s *gatewayStack) expectStatus(method, path, token string, want int) (*http.Response, error) {
	resp, err := s.call(method, path, token)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode != want {
		return resp, fmt.Errorf("%s %s: gateway answered %d, want %d", method, path, resp.StatusCode, want)
	}
	return resp, nil
}

// fetchToken gets a client_credentials token at the mock IdP's token endpoint, as a client
// application would.
func (s *gatewayStack) fetchToken(clientID, secret string) (string, error) {
	return clientCredentialsToken(s.http, s.idp.TokenEndpoint(), clientID, secret, "")
}

// clientCredentialsToken gets a client_credentials token (for scope, unless "") at
// tokenEndpoint with hc, authenticating as clientID with secret (client_secret_basic).
func clientCredentialsToken(hc *http.Client, tokenEndpoint, clientID, secret, scope string) (string, error) {
	form := url.Values{"grant_type": {"client_credentials"}}
	if scope != "" {
		form.Set("scope", scope)
	}
	req, err := http.NewRequest(http.MethodPost, tokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var body struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		return "", fmt.Errorf("token endpoint answer (HTTP %d): %w: %s", resp.StatusCode, err, raw)
	}
	if resp.StatusCode != http.StatusOK || body.AccessToken == "" {
		return "", fmt.Errorf("token endpoint %s answered %d %s", tokenEndpoint, resp.StatusCode, body.Error)
	}
	return body.AccessToken, nil
}

// registerOutOfBand registers a client at the mock IdP directly (not through Terraform), as
// another team's application would be.
func (s *gatewayStack) registerOutOfBand(t *testing.T, name string) (clientID, secret string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{
		"client_name": name, "grant_types": []string{"client_credentials"}, "response_types": []string{},
		"token_endpoint_auth_method": "client_secret_basic", "scope": "orders",
	})
	resp, err := s.http.Post(s.idp.RegistrationEndpoint(), "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("registering %s: %v", name, err)
	}
	defer resp.Body.Close()
	var out struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusCreated || out.ClientSecret == "" {
		t.Fatalf("registering %s: status %d, %v", name, resp.StatusCode, err)
	}
	return out.ClientID, out.ClientSecret
}

// tokenFromState mints a token for the client that resource addr (an idpgate_dcr_client)
// holds in state, with the credentials Terraform stored.
func (s *gatewayStack) tokenFromState(st *terraform.State, addr string) (clientID, token string, err error) {
	clientID, secret, err := credentialsInState(st, addr)
	if err != nil {
		return "", "", err
	}
	token, err = s.fetchToken(clientID, secret)
	return clientID, token, err
}

// checkGETAllowed is a Check: a token for the client that addr holds in state is let
// through (200) to a GET of path.
func (s *gatewayStack) checkGETAllowed(addr, path string) resource.TestCheckFunc {
	return func(st *terraform.State) error {
		_, token, err := s.tokenFromState(st, addr)
		if err != nil {
			return err
		}
		_, err = s.expectStatus(http.MethodGet, path, token, http.StatusOK)
		return err
	}
}

// checkNothingLeft is a CheckDestroy: the gateway holds no API and no policy, and the IdP
// holds no client but those registered out of band, which destroy must not touch.
func (s *gatewayStack) checkNothingLeft(outOfBand ...string) resource.TestCheckFunc {
	return func(st *terraform.State) error {
		if err := s.checkGatewayEmpty(st); err != nil {
			return err
		}
		var left []string
		for _, c := range s.idp.Clients() {
			if !slices.Contains(outOfBand, c.ClientID) {
				left = append(left, c.ClientID)
			}
		}
		if len(left) > 0 {
			return fmt.Errorf("after destroy the IdP still holds clients %v", left)
		}
		for _, id := range outOfBand {
			if _, ok := s.idp.Client(id); !ok {
				return fmt.Errorf("destroy removed %s, a client Terraform does not manage", id)
			}
		}
		return nil
	}
}

// checkGatewayEmpty is a CheckDestroy: the gateway holds no API and no policy.
func (s *gatewayStack) checkGatewayEmpty(_ *terraform.State) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	apis, err := s.admin.ListAPIs(ctx)
	if err != nil {
		return err
	}
	policies, err := s.admin.ListPolicies(ctx)
	if err != nil {
		return err
	}
	if len(apis) != 0 || len(policies) != 0 {
		return fmt.Errorf("after destroy the gateway still holds %d APIs and %d policies", len(apis), len(policies))
	}
	return nil
}

// closedPort returns the URL of a loopback port that nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// apiOf is the API the gateway holds for the resource at addr in st.
func (s *gatewayStack) apiOf(ctx context.Context, st *terraform.State, addr string) (*adminapi.API, error) {
	id, err := stateAttr(st, addr, "id")
	if err != nil {
		return nil, err
	}
	return s.admin.GetAPI(ctx, id)
}
