package admin

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/config"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/metrics"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/store"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
)

// The admin listener on its own: a bbolt store, the configuration served from it, and the
// gateway's pieces it is given (CheckAPI, Decider) as stand-ins. End-to-end tests through
// the assembled gateway are internal/gateway's admin_test.go and admin_decision_test.go.

const testToken = "admin-room-token"

// room is an admin listener served over loopback with a client that holds the token.
type room struct {
	built  *noValidators
	store  *store.Store
	live   *config.Live
	srv    *httptest.Server
	client *adminapi.Client
}

// noValidators builds no token validator (nothing here serves a proxy request) and keeps
// the introspection client secret of each API it was asked for.
type noValidators struct {
	mu      sync.Mutex
	secrets map[string]string // by API name
}

func (v *noValidators) ForAPI(api adminapi.API) (token.Validator, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if api.Introspection != nil {
		v.secrets[api.Name] = api.Introspection.ClientSecret
	}
	return nil, nil
}

func (v *noValidators) Retain([]adminapi.API) {}
func (v *noValidators) Close()                {}

func (v *noValidators) secret(name string) string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.secrets[name]
}

func newRoom(t *testing.T, o Options) *room {
	t.Helper()
	st, err := store.OpenBolt(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := metrics.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	built := &noValidators{secrets: map[string]string{}}
	live, err := config.NewLive(st, &config.Builder{Validators: built, Log: log, Metrics: m,
		ReverseProxy: func(*config.Route, *url.URL) *httputil.ReverseProxy { return &httputil.ReverseProxy{} }}, log)
	if err != nil {
		t.Fatal(err)
	}
	o.Token, o.Store, o.Config, o.Log, o.Gatherer = testToken, st, live, log, m.Gatherer
	r := &room{built: built, store: st, live: live, srv: httptest.NewServer(New(o))}
	t.Cleanup(func() { r.srv.Close(); _ = st.Close() })
	if r.client, err = adminapi.NewClient(r.srv.URL, testToken, nil); err != nil {
		t.Fatal(err)
	}
	return r
}

// call serves method path with the Authorization header value auth ("" for none) and body,
// in process.
func (r *room) call(method, path, auth, body string) (*http.Response, []byte) {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	w := httptest.NewRecorder()
	r.srv.Config.Handler.ServeHTTP(w, req)
	return w.Result(), w.Body.Bytes()
}

// testAuth is the Authorization header value of the room's token.
const testAuth = "Bearer " + testToken

// newAPI stores an API name at /name, checked by a JWT, and returns it.
func (r *room) newAPI(t *testing.T, name string) *adminapi.API {
	t.Helper()
	api, err := r.client.CreateAPI(context.Background(), adminapi.API{Name: name, ListenPath: "/" + name, UpstreamURL: "http://127.0.0.1:1",
		JWT: &adminapi.JWTValidation{Issuer: "https://i", JWKSURI: "https://i/k"}})
	if err != nil {
		t.Fatalf("creating API %s: %v", name, err)
	}
	return api
}

// refused serves a call that must be answered status with an admin API error, and returns
// that error, decoded and as it is, and the answer's header.
func (r *room) refused(t *testing.T, status int, method, path, auth, body string) (adminapi.Error, []byte, http.Header) {
	t.Helper()
	resp, raw := r.call(method, path, auth, body)
	var e adminapi.Error
	if err := json.Unmarshal(raw, &e); resp.StatusCode != status || err != nil {
		t.Errorf("%s %s: %d %s, want %d with an admin API error", method, path, resp.StatusCode, raw, status)
	}
	return e, raw, resp.Header
}

// TestTokenIsRequired: only the exact admin token passes, under either spelling of the
// scheme; an empty token never does, not even when the admin token is empty.
func TestTokenIsRequired(t *testing.T) {
	passed := 0
	next := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { passed++ })
	check := func(adminToken, auth string, want bool) {
		t.Helper()
		before := passed
		w := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/v1/apis", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		requireToken(adminToken, next).ServeHTTP(w, req)
		if got := passed > before; got != want {
			t.Errorf("admin token %q, Authorization %q: let through %v, want %v", adminToken, auth, got, want)
		}
		if !want && (w.Code != http.StatusUnauthorized || w.Header().Get("WWW-Authenticate") != `Bearer realm="idpgate-admin"`) {
			t.Errorf("Authorization %q: %d, WWW-Authenticate %q; want a 401 with the realm", auth, w.Code, w.Header().Get("WWW-Authenticate"))
		}
	}
	check(testToken, "Bearer "+testToken, true)
	check(testToken, "bearer "+testToken, true)
	for _, auth := range []string{"", "Bearer", "Bearer ", "Basic " + testToken, "Bearer " + testToken[1:],
		"Bearer " + testToken + "x", "Bearer " + strings.ToUpper(testToken), "DPoP " + testToken} {
		check(testToken, auth, false)
	}
	check("", "Bearer ", false)
	check("", "", false)
}

// fakeDecider answers with decision, or err, and keeps what it was asked.
type fakeDecider struct {
	asked    *adminapi.DecisionRequest
	decision *adminapi.Decision
	err      error
}

func (f *fakeDecider) Explain(_ *http.Request, in *adminapi.DecisionRequest) (*adminapi.Decision, error) {
	f.asked = in
	return f.decision, f.err
}

// TestDecisionsAreTheDecidersAnswer: POST /v1/decisions reads and checks the body, asks the
// Decider and answers what it says; the Decider's refusal of a field is a 400 naming it.
func TestDecisionsAreTheDecidersAnswer(t *testing.T) {
	d := &fakeDecider{decision: &adminapi.Decision{Allowed: true, Status: 200, APIName: "orders", Reason: "granted"}}
	r := newRoom(t, Options{Decider: d})
	const ask = `{"request":{"method":"GET","path":"/orders/1"},"caller":{"client_id":"app"}}`
	resp, body := r.call("POST", "/v1/decisions", "Bearer "+testToken, ask)
	var got adminapi.Decision
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &got) != nil || got.APIName != "orders" || !got.Allowed || got.Reason != "granted" {
		t.Fatalf("answer %d %s, want the Decider's decision", resp.StatusCode, body)
	}
	if d.asked == nil || d.asked.Request.Path != "/orders/1" || d.asked.Caller.ClientID != "app" {
		t.Errorf("the Decider was asked %+v", d.asked)
	}

	for _, refusal := range []struct {
		err   error
		field string
	}{
		{adminapi.FieldError("request.path", "not a path"), "request.path"},
		{errors.New("cannot simulate"), ""},
	} {
		d.err = refusal.err
		resp, body = r.call("POST", "/v1/decisions", "Bearer "+testToken, ask)
		var e adminapi.Error
		if resp.StatusCode != http.StatusBadRequest || json.Unmarshal(body, &e) != nil || e.Field != refusal.field || e.Message == "" {
			t.Errorf("Decider error %v: %d %s, want a 400 on field %q", refusal.err, resp.StatusCode, body, refusal.field)
		}
	}

	d.asked = nil
	if resp, body = r.call("POST", "/v1/decisions", "Bearer "+testToken, `{"request":{"path":"/x"},"caller":{}}`); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a request without a method: %d %s, want 400", resp.StatusCode, body)
	}
	if d.asked != nil {
		t.Error("the Decider was asked about a request that does not validate")
	}
}

// TestListenerRoutes: liveness, readiness (503 once the store is gone), metrics, and JSON
// answers for the paths and methods the listener does not serve.
func TestListenerRoutes(t *testing.T) {
	r := newRoom(t, Options{})
	for _, tc := range []struct {
		method, path, auth string
		status             int
		has                string
	}{
		{"GET", "/healthz", "", 200, `"status":"ok"`},
		{"GET", "/readyz", "", 200, `"status":"ready"`},
		{"GET", "/metrics", "", 200, "idpgate_"},
		{"GET", "/nowhere", "", 404, `"error":"not_found"`},
		{"GET", "/v1/nowhere", "Bearer " + testToken, 404, "no admin API route GET /v1/nowhere"},
		{"PATCH", "/v1/policies", "Bearer " + testToken, 405, "PATCH is not allowed on /v1/policies; use GET, HEAD, POST"},
		{"POST", "/v1/apis/x", "Bearer " + testToken, 405, "use GET, HEAD, PUT, DELETE"},
		{"GET", "/v1/decisions", "Bearer " + testToken, 405, "use POST"},
	} {
		resp, body := r.call(tc.method, tc.path, tc.auth, "")
		if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.has) {
			t.Errorf("%s %s: %d %s, want %d with %s", tc.method, tc.path, resp.StatusCode, body, tc.status, tc.has)
		}
	}
	_ = r.store.Close()
	if resp, body := r.call("GET", "/readyz", "", ""); resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "not ready") {
		t.Errorf("readyz without a store: %d %s, want 503", resp.StatusCode, body)
	}
	w := httptest.NewRecorder()
	New(Options{Token: testToken}).ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	if w.Code != http.StatusNotFound {
		t.Errorf("/metrics without a Gatherer: %d, want 404", w.Code)
	}
}

func TestAdminWrongMethodIs405(t *testing.T) {
	r := newRoom(t, Options{})
	for route, allow := range map[string]string{ // route: the Allow header it answers
		"PATCH /v1/apis": "GET, HEAD, POST", "DELETE /v1/apis": "GET, HEAD, POST", "PUT /v1/policies": "GET, HEAD, POST",
		"POST /v1/apis/api_x": "GET, HEAD, PUT, DELETE", "PATCH /v1/policies/pol_x": "GET, HEAD, PUT, DELETE",
	} {
		method, path, _ := strings.Cut(route, " ")
		e, body, header := r.refused(t, http.StatusMethodNotAllowed, method, path, testAuth, "{}")
		if header.Get("Allow") != allow || e.Code != adminapi.CodeMethodNotAllowed {
			t.Errorf("%s: Allow %q, body %s", route, header.Get("Allow"), body)
		}
	}
	// still 404 for an unknown path, and 401 before either without the token
	r.refused(t, http.StatusNotFound, "GET", "/v1/nothing", testAuth, "")
	r.refused(t, http.StatusUnauthorized, "PATCH", "/v1/apis", "", "")
}
