package gateway

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/metrics"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
	"github.com/idpgate/terraform-provider-idpgate/internal/mockidp"
)

// fakeValidators stands in for the token.Factory where the token layer is not the point:
// a token is valid when the test registered an Identity for it.
type fakeValidators struct {
	mu       sync.Mutex
	ids      map[string]*token.Identity
	failFor  map[string]error // ForAPI fails for these API names
	forAPI   atomic.Int32     // ForAPI calls
	closed   atomic.Bool
	validate atomic.Int64 // Validate calls
}

func newFakeValidators() *fakeValidators {
	return &fakeValidators{ids: map[string]*token.Identity{}, failFor: map[string]error{}}
}

func (f *fakeValidators) ForAPI(api adminapi.API) (token.Validator, error) {
	f.forAPI.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.failFor[api.Name]; err != nil {
		return nil, err
	}
	var required []string
	if api.JWT != nil {
		required = api.JWT.RequiredScopes
	}
	return &fakeValidator{f: f, required: required}, nil
}

func (f *fakeValidators) Close() { f.closed.Store(true) }

func (f *fakeValidators) Retain([]adminapi.API) {}

// token registers a valid token for id; a zero ExpiresAt/IssuedAt is filled in.
func (f *fakeValidators) token(tok string, id token.Identity) string {
	if id.IssuedAt.IsZero() {
		id.IssuedAt = time.Now()
	}
	if id.ExpiresAt.IsZero() {
		id.ExpiresAt = time.Now().Add(time.Hour)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ids[tok] = &id
	return tok
}

type fakeValidator struct {
	f        *fakeValidators
	required []string
}

func (v *fakeValidator) Validate(_ context.Context, tok string) (*token.Identity, error) {
	v.f.validate.Add(1)
	if tok == "idp-down" {
		return nil, &token.Error{Code: token.CodeUnavailable, Description: "cannot check", Reason: "jwks unreachable"}
	}
	v.f.mu.Lock()
	id := v.f.ids[tok]
	v.f.mu.Unlock()
	if id == nil {
		return nil, &token.Error{Code: token.CodeInvalid, Description: "the access token is invalid", Reason: "crypto/rsa: verification error"}
	}
	for _, s := range v.required {
		if !id.HasScope(s) {
			return nil, &token.Error{Code: token.CodeInsufficientScope, Description: "missing scope", Reason: "scope", Scopes: v.required}
		}
	}
	return id, nil
}

// harness is a gateway served over loopback with an admin client.
type harness struct {
	t        testing.TB
	dir      string
	gw       *Gateway
	fake     *fakeValidators
	proxy    *httptest.Server
	adminSrv *httptest.Server
	admin    *adminapi.Client
}

const harnessAdminToken = "test-admin-token-0123456789"

func newHarness(t testing.TB) *harness {
	t.Helper()
	return newHarnessIn(t, t.TempDir(), newFakeValidators())
}

func newHarnessIn(t testing.TB, dir string, fake *fakeValidators, options ...func(*Options)) *harness {
	t.Helper()
	return startHarness(t, Options{DataDir: dir}, fake, options)
}

// newRedisHarness is a gateway replica on the Redis at url (key prefix "" means the
// default), with its own listeners; several share configuration and limits.
func newRedisHarness(t testing.TB, url, prefix string, fake *fakeValidators, options ...func(*Options)) *harness {
	t.Helper()
	return startHarness(t, Options{RedisURL: url, RedisKeyPrefix: prefix}, fake, options)
}

// startHarness assembles a gateway around fake with the store opts names, the harness's
// admin token and a silent log, then options.
func startHarness(t testing.TB, opts Options, fake *fakeValidators, options []func(*Options)) *harness {
	t.Helper()
	opts.AdminToken, opts.Logger = harnessAdminToken, slog.New(slog.DiscardHandler)
	for _, o := range options {
		o(&opts)
	}
	m, _, err := metrics.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	gw, err := newGateway(opts, m, fake)
	if err != nil {
		t.Fatalf("newGateway: %v", err)
	}
	return serveHarness(t, &harness{t: t, dir: opts.DataDir, gw: gw, fake: fake})
}

// newRealHarness assembles the gateway as `idpgate serve` does (New, the real validator
// factory, a registry of its own); h.fake is nil.
func newRealHarness(t testing.TB, options ...func(*Options)) *harness {
	t.Helper()
	opts := Options{DataDir: t.TempDir(), AdminToken: harnessAdminToken,
		Logger: slog.New(slog.DiscardHandler), Registerer: prometheus.NewRegistry()}
	for _, o := range options {
		o(&opts)
	}
	gw, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return serveHarness(t, &harness{t: t, gw: gw})
}

// serveHarness serves h.gw's listeners over loopback and connects an admin client.
func serveHarness(t testing.TB, h *harness) *harness {
	t.Helper()
	gw := h.gw
	var err error
	h.proxy = httptest.NewServer(gw.ProxyHandler())
	h.adminSrv = httptest.NewServer(gw.AdminHandler())
	h.admin, err = adminapi.NewClient(h.adminSrv.URL, harnessAdminToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h.proxy.Close()
		h.adminSrv.Close()
		if err := gw.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return h
}

// adminAuth is the Authorization header value of the harness's admin token.
const adminAuth = "Bearer " + harnessAdminToken

// adminDo sends method path to the admin listener with the Authorization header value auth
// and body ("" sends neither).
func (h *harness) adminDo(t testing.TB, method, path, auth, body string) *http.Response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, h.adminSrv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

// adminError checks the status of an admin API answer and returns its error body, decoded,
// and as it is.
func adminError(t testing.TB, resp *http.Response, status int) (adminapi.Error, []byte) {
	t.Helper()
	body := expect(t, resp, status)
	var e adminapi.Error
	if err := json.Unmarshal(body, &e); err != nil {
		t.Errorf("%s %s: the answer %s is not an admin API error: %v", resp.Request.Method, resp.Request.URL.Path, body, err)
	}
	return e, body
}

// echoUpstream answers every request with what it received, as JSON.
type echoed struct {
	Method string              `json:"method"`
	Path   string              `json:"path"`
	Query  string              `json:"query"`
	URI    string              `json:"uri"`
	Header map[string][]string `json:"header"`
}

func newEchoUpstream(t testing.TB) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(echoed{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, URI: r.RequestURI, Header: r.Header})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func (h *harness) createAPI(api adminapi.API) *adminapi.API {
	h.t.Helper()
	if api.JWT == nil && api.Introspection == nil {
		api.JWT = &adminapi.JWTValidation{Issuer: "https://idp.example", JWKSURI: "https://idp.example/jwks"}
	}
	out, err := h.admin.CreateAPI(context.Background(), api)
	if err != nil {
		h.t.Fatalf("CreateAPI(%s): %v", api.Name, err)
	}
	return out
}

func (h *harness) createPolicy(p adminapi.Policy) *adminapi.Policy {
	h.t.Helper()
	out, err := h.admin.CreatePolicy(context.Background(), p)
	if err != nil {
		h.t.Fatalf("CreatePolicy(%s): %v", p.Name, err)
	}
	return out
}

// do sends a proxy request with an optional bearer token and extra headers.
func (h *harness) do(method, path, token string, hdr ...string) *http.Response {
	h.t.Helper()
	if token != "" {
		hdr = append([]string{"Authorization", "Bearer " + token}, hdr...)
	}
	return h.getAs(method, path, "", hdr...)
}

// expect checks the status and returns the body.
func expect(t testing.TB, resp *http.Response, status int) []byte {
	t.Helper()
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d; body %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, status, body)
	}
	return body
}

func decodeEcho(t *testing.T, body []byte) echoed {
	t.Helper()
	return decodeJSON[echoed](t, "upstream answer", body)
}

func errorCode(t *testing.T, body []byte) string {
	t.Helper()
	return decodeJSON[struct {
		Error string `json:"error"`
	}](t, "error body", body).Error
}

// decodeJSON decodes body, which what names in the failure, into a T.
func decodeJSON[T any](t *testing.T, what string, body []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%s %q is not JSON: %v", what, body, err)
	}
	return v
}

// metricsText returns the admin listener's /metrics page.
func (h *harness) metricsText() string {
	h.t.Helper()
	resp, err := http.Get(h.adminSrv.URL + "/metrics")
	if err != nil {
		h.t.Fatal(err)
	}
	body := expect(h.t, resp, http.StatusOK)
	return string(body)
}

func containsLine(text, line string) bool {
	for _, l := range strings.Split(text, "\n") {
		if l == line {
			return true
		}
	}
	return false
}

// hostRoute is a request for path with Host host, and the path the upstream receives it at;
// "" means the gateway answers 404.
type hostRoute struct{ host, path, upstream string }

// wantHostRoutes sends each request with tok through the proxy listener and checks where
// it arrives.
func (h *harness) wantHostRoutes(t *testing.T, tok string, routes []hostRoute) {
	t.Helper()
	for _, tc := range routes {
		resp := h.getAs("GET", tc.path, tc.host, "Authorization", "Bearer "+tok)
		if tc.upstream == "" {
			expect(t, resp, http.StatusNotFound)
			continue
		}
		if e := decodeEcho(t, expect(t, resp, http.StatusOK)); e.Path != tc.upstream {
			t.Errorf("%s%s reached %s, want %s", tc.host, tc.path, e.Path, tc.upstream)
		}
	}
}

// tokenRequest asks idp's token endpoint, through c, for a client-credentials token for rec,
// with the extra form fields and headers (name, value pairs) given.
func tokenRequest(t *testing.T, c *http.Client, idp *mockidp.Server, rec mockidp.ClientRecord, extra url.Values, hdr ...string) *http.Response {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}}
	for k, v := range extra {
		form[k] = v
	}
	req, _ := http.NewRequest("POST", idp.TokenEndpoint(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(rec.ClientID, rec.ClientSecret)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// tokenAnswer is the token endpoint's answer.
type tokenAnswer struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
}

// clientToken is tokenRequest's answer, which must be a 200.
func clientToken(t *testing.T, c *http.Client, idp *mockidp.Server, rec mockidp.ClientRecord, extra url.Values, hdr ...string) tokenAnswer {
	t.Helper()
	return decodeJSON[tokenAnswer](t, "token answer", expect(t, tokenRequest(t, c, idp, rec, extra, hdr...), http.StatusOK))
}

// protectWithIdP puts a new echo upstream behind h as api, its tokens checked against idp's
// JWKS, and grants clientID all of it in a policy named like the API.
func (h *harness) protectWithIdP(idp *mockidp.Server, clientID string, api adminapi.API) *adminapi.API {
	h.t.Helper()
	api.UpstreamURL = newEchoUpstream(h.t).URL
	api.JWT = &adminapi.JWTValidation{Issuer: idp.URL(), JWKSURI: idp.JWKSURI()}
	created := h.createAPI(api)
	h.createPolicy(adminapi.Policy{Name: api.Name, ClientIDs: []string{clientID}, AccessRights: grantAll(created)})
	return created
}
