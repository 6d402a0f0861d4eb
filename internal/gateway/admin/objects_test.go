package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

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
