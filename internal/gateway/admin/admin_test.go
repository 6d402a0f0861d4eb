package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
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

// TestObjectsServeBothKinds: an API and a policy through create, list, get, replace and
// delete, each write served by the snapshot once answered; the gateway's own refusal
// (CheckAPI) stores nothing; the API's introspection secret reaches the snapshot and the
// store, never an answer.
func TestObjectsServeBothKinds(t *testing.T) {
	r := newRoom(t, Options{CheckAPI: func(api *adminapi.API) error {
		if api.ListenPath == "/refused" {
			return adminapi.FieldError("listen_path", "refused by the gateway")
		}
		return nil
	}})
	ctx, c := context.Background(), r.client
	hidden := func(what string, api *adminapi.API) {
		t.Helper()
		if in := api.Introspection; in == nil || in.ClientSecret != "" || !in.ClientSecretSet {
			t.Errorf("%s: the answer's introspection is %+v, want the secret hidden and client_secret_set", what, in)
		}
	}
	routes := func(want int) {
		t.Helper()
		if n := r.live.Snapshot().Routes(); n != want {
			t.Errorf("the snapshot serves %d routes once the write is answered, want %d", n, want)
		}
	}

	api, err := c.CreateAPI(ctx, adminapi.API{Name: "orders", ListenPath: "/orders", UpstreamURL: "http://127.0.0.1:1",
		Introspection: &adminapi.Introspection{Endpoint: "https://idp.example/introspect", ClientID: "gw", ClientSecret: "s3cret"}})
	if err != nil {
		t.Fatal(err)
	}
	hidden("created", api)
	routes(1)
	if got := r.built.secret("orders"); got != "s3cret" {
		t.Errorf("the snapshot's validator was built with secret %q", got)
	}
	got, err := c.GetAPI(ctx, api.ID)
	if err != nil {
		t.Fatal(err)
	}
	hidden("read", got)
	list, err := c.ListAPIs(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("listed %d APIs, %v", len(list), err)
	}
	hidden("listed", &list[0])
	got.UpstreamURL = "http://127.0.0.1:2"
	replaced, err := c.UpdateAPI(ctx, api.ID, *got)
	if err != nil || replaced.UpstreamURL != "http://127.0.0.1:2" || replaced.ID != api.ID {
		t.Fatalf("replaced: %+v, %v", replaced, err)
	}
	hidden("replaced", replaced)
	if stored, err := r.store.GetAPI(api.ID); err != nil || stored.Introspection.ClientSecret != "s3cret" {
		t.Errorf("a PUT without the secret keeps the stored one: %+v, %v", stored, err)
	}

	_, err = c.CreateAPI(ctx, adminapi.API{Name: "refused", ListenPath: "/refused", UpstreamURL: "http://127.0.0.1:1",
		JWT: &adminapi.JWTValidation{Issuer: "https://i", JWKSURI: "https://i/k"}})
	var ae *adminapi.Error
	if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || ae.Field != "listen_path" {
		t.Errorf("CheckAPI's refusal: %v, want a 400 on listen_path", err)
	}
	routes(1)

	p, err := c.CreatePolicy(ctx, adminapi.Policy{Name: "p", ClientIDs: []string{"app"}, AccessRights: []adminapi.AccessRight{{APIID: api.ID}}})
	if err != nil {
		t.Fatal(err)
	}
	if d := r.live.Snapshot().Describe(); !strings.Contains(d, "policy "+p.ID+" p [app]") {
		t.Errorf("the created policy is not in the snapshot: %s", d)
	}
	p.RateLimit = &adminapi.Limit{Requests: 5, Per: adminapi.Duration(60e9)}
	if upd, err := c.UpdatePolicy(ctx, p.ID, *p); err != nil || upd.RateLimit == nil || upd.RateLimit.Requests != 5 {
		t.Errorf("replaced policy: %+v, %v", upd, err)
	}
	if got, err := c.GetPolicy(ctx, p.ID); err != nil || got.RateLimit == nil {
		t.Errorf("read policy: %+v, %v", got, err)
	}
	if ps, err := c.ListPolicies(ctx); err != nil || len(ps) != 1 {
		t.Errorf("listed %d policies, %v", len(ps), err)
	}
	if err := c.DeleteAPI(ctx, api.ID); !adminapi.IsConflict(err) {
		t.Errorf("deleting a granted API: %v, want 409", err)
	}
	if err := c.DeletePolicy(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteAPI(ctx, api.ID); err != nil {
		t.Fatal(err)
	}
	routes(0)
	if _, err := c.GetAPI(ctx, api.ID); !adminapi.IsNotFound(err) {
		t.Errorf("after delete: %v, want 404", err)
	}
	if _, err := c.GetPolicy(ctx, p.ID); !adminapi.IsNotFound(err) {
		t.Errorf("after delete: %v, want 404", err)
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

// TestConcurrentAdminWrites: parallel writers lose nothing, and uniqueness holds under races.
func TestConcurrentAdminWrites(t *testing.T) {
	r := newRoom(t, Options{})
	ctx := context.Background()
	jwt := &adminapi.JWTValidation{Issuer: "https://i", JWKSURI: "https://i/k"}
	const writers, each = 8, 10
	var wg sync.WaitGroup
	var mu sync.Mutex
	created := map[string]bool{}
	sameNameWins := 0
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				a, err := r.client.CreateAPI(ctx, adminapi.API{Name: fmt.Sprintf("w%d-%d", w, i),
					ListenPath: fmt.Sprintf("/w%d/%d", w, i), UpstreamURL: "http://127.0.0.1:1", JWT: jwt})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				created[a.ID] = true
				mu.Unlock()
			}
			// every writer races for the same name: exactly one may win
			_, err := r.client.CreateAPI(ctx, adminapi.API{Name: "contested", ListenPath: fmt.Sprintf("/contested%d", w),
				UpstreamURL: "http://127.0.0.1:1", JWT: jwt})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				sameNameWins++
			case !adminapi.IsConflict(err):
				t.Errorf("contested create: %v", err)
			}
		}()
	}
	wg.Wait()
	if len(created) != writers*each || sameNameWins != 1 {
		t.Fatalf("%d distinct APIs created (want %d), %d winners of the contested name (want 1)", len(created), writers*each, sameNameWins)
	}
	list, err := r.client.ListAPIs(ctx)
	if err != nil || len(list) != writers*each+1 {
		t.Fatalf("stored %d APIs, want %d (%v)", len(list), writers*each+1, err)
	}
	if n := r.live.Snapshot().Routes(); n != writers*each+1 {
		t.Errorf("the last snapshot has %d routes, want %d", n, writers*each+1)
	}
}

func TestAdminValidationNamesField(t *testing.T) {
	r := newRoom(t, Options{})
	api := r.newAPI(t, "orders")
	cases := []struct {
		name, path, body string
		status           int
		field            string
	}{
		{"unknown top-level field", "/v1/apis", `{"name":"a","listen_path":"/a","upstream_url":"http://u","jwt":{"issuer":"https://i","jwks_uri":"https://i/k"},"colour":"red"}`, 400, "colour"},
		{"unknown nested field", "/v1/apis", `{"name":"a","listen_path":"/a","upstream_url":"http://u","jwt":{"issuer":"https://i","jwks_uri":"https://i/k","jwks_url":"x"}}`, 400, "jwks_url"},
		{"wrong type", "/v1/apis", `{"name":"a","listen_path":"/a","upstream_url":"http://u","strip_listen_path":"yes"}`, 400, "strip_listen_path"},
		{"listen path", "/v1/apis", `{"name":"a","listen_path":"a","upstream_url":"http://u","jwt":{"issuer":"https://i","jwks_uri":"https://i/k"}}`, 400, "listen_path"},
		{"neither validation", "/v1/apis", `{"name":"a","listen_path":"/a","upstream_url":"http://u"}`, 400, "jwt"},
		{"algorithm", "/v1/apis", `{"name":"a","listen_path":"/a","upstream_url":"http://u","jwt":{"issuer":"https://i","jwks_uri":"https://i/k","allowed_algorithms":["HS256"]}}`, 400, "jwt.allowed_algorithms[0]"},
		{"bad leeway string", "/v1/apis", `{"name":"a","listen_path":"/a","upstream_url":"http://u","jwt":{"issuer":"https://i","jwks_uri":"https://i/k","leeway":"soon"}}`, 400, "jwt.leeway"},
		{"bad per", "/v1/policies", `{"name":"p","access_rights":[],"rate_limit":{"requests":1,"per":"1 minute"}}`, 400, "rate_limit.per"},
		{"zero per", "/v1/policies", `{"name":"p","access_rights":[],"rate_limit":{"requests":1,"per":"0s"}}`, 400, "rate_limit.per"},
		{"lower-case method", "/v1/policies", `{"name":"p","access_rights":[{"api_id":"` + api.ID + `","methods":["GET","post"]}]}`, 400, "access_rights[0].methods[1]"},
		{"not JSON", "/v1/policies", `{"name":`, 400, ""},
		{"two objects", "/v1/policies", `{"name":"p","access_rights":[]} {}`, 400, ""},
		{"array body", "/v1/policies", `[]`, 400, ""},
		{"too large", "/v1/policies", `{"name":"` + strings.Repeat("x", MaxBody) + `"}`, 413, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, body, _ := r.refused(t, tc.status, "POST", tc.path, testAuth, tc.body)
			if e.Field != tc.field || e.Message == "" {
				t.Errorf("want field %q, got %s", tc.field, body)
			}
		})
	}
	// nothing of the refused requests was stored
	list, _ := r.client.ListAPIs(context.Background())
	pols, _ := r.client.ListPolicies(context.Background())
	if len(list) != 1 || len(pols) != 0 {
		t.Errorf("refused writes were stored: %d apis, %d policies", len(list), len(pols))
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

// TestAdminListPages: GET /v1/apis and /v1/policies answer limit objects at a time with
// next_after, and refuse a limit out of bounds naming it; the client walks every page.
func TestAdminListPages(t *testing.T) {
	r := newRoom(t, Options{})
	ctx := context.Background()
	var ids []string
	for i := range 5 {
		a := r.newAPI(t, fmt.Sprint("a", i))
		ids = append(ids, a.ID)
		if _, err := r.client.CreatePolicy(ctx, adminapi.Policy{Name: fmt.Sprint("p", i), AccessRights: []adminapi.AccessRight{{APIID: a.ID}}}); err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(ids)
	page, err := r.client.ListAPIsPage(ctx, "", 2)
	if err != nil || len(page.APIs) != 2 || page.APIs[0].ID != ids[0] || page.NextAfter != ids[1] {
		t.Fatalf("first page of 2: %+v, %v; want %v and next_after %s", page, err, ids[:2], ids[1])
	}
	page, err = r.client.ListAPIsPage(ctx, ids[3], 2)
	if err != nil || len(page.APIs) != 1 || page.APIs[0].ID != ids[4] || page.NextAfter != "" {
		t.Errorf("last page: %+v, %v; want %s alone and no next_after", page, err, ids[4])
	}
	pols, err := r.client.ListPoliciesPage(ctx, "", 3)
	if err != nil || len(pols.Policies) != 3 || pols.NextAfter == "" {
		t.Errorf("policies, first page of 3: %+v, %v", pols, err)
	}
	if all, err := r.client.ListPolicies(ctx); err != nil || len(all) != 5 {
		t.Errorf("ListPolicies: %d, %v; want all 5", len(all), err)
	}
	for _, limit := range []string{"0", "1001", "x"} {
		if e, body, _ := r.refused(t, http.StatusBadRequest, "GET", "/v1/apis?limit="+limit, testAuth, ""); e.Field != "limit" {
			t.Errorf("limit=%s: %s, want a 400 naming limit", limit, body)
		}
	}
}
