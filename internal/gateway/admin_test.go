package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/store"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
	"github.com/idpgate/terraform-provider-idpgate/internal/redistest"
)

func TestAdminRequiresToken(t *testing.T) {
	h := newHarness(t)
	for _, auth := range []string{"", "Bearer wrong", "Basic " + harnessAdminToken, "Bearer " + harnessAdminToken + "x", "Bearer"} {
		for _, route := range []string{"GET /v1/apis", "POST /v1/policies", "DELETE /v1/apis/x", "GET /v1/nothing"} {
			method, path, _ := strings.Cut(route, " ")
			resp := h.adminDo(t, method, path, auth, "{}")
			if e, body := adminError(t, resp, http.StatusUnauthorized); e.Code != adminapi.CodeUnauthorized {
				t.Errorf("%s with %q: body %s", route, auth, body)
			}
			if resp.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s with %q: no WWW-Authenticate", route, auth)
			}
		}
	}
	// lower-case scheme is accepted (RFC 9110: schemes are case-insensitive)
	expect(t, h.adminDo(t, "GET", "/v1/apis", "bearer "+harnessAdminToken, ""), http.StatusOK)
}

func TestAdminAPICRUD(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	in := adminapi.API{Name: "orders", ListenPath: "/orders", UpstreamURL: "http://127.0.0.1:1/",
		ID: "client-chosen", ForwardClaims: map[string]string{"X-Tenant": "tenant"}}
	created := h.createAPI(in)
	if created.ID == "" || created.ID == "client-chosen" || !strings.HasPrefix(created.ID, "api_") {
		t.Fatalf("server must assign a random id, got %q", created.ID)
	}
	if created.CreatedAt.IsZero() || !created.CreatedAt.Equal(created.UpdatedAt) {
		t.Errorf("timestamps: %v %v", created.CreatedAt, created.UpdatedAt)
	}
	other := h.createAPI(adminapi.API{Name: "billing", ListenPath: "/billing", UpstreamURL: "http://127.0.0.1:1/"})
	if other.ID == created.ID {
		t.Fatal("ids must differ")
	}

	got, err := h.admin.GetAPI(ctx, created.ID)
	if err != nil || got.Name != "orders" || got.ForwardClaims["X-Tenant"] != "tenant" || got.JWT == nil {
		t.Fatalf("GetAPI: %+v, %v", got, err)
	}
	list, err := h.admin.ListAPIs(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("ListAPIs: %d, %v", len(list), err)
	}

	time.Sleep(2 * time.Millisecond)
	upd := *got
	upd.ListenPath, upd.StripListenPath, upd.ForwardClaims = "/orders/v2", true, nil
	upd.ID, upd.CreatedAt = "ignored", time.Time{}
	replaced, err := h.admin.UpdateAPI(ctx, created.ID, upd)
	if err != nil {
		t.Fatalf("UpdateAPI: %v", err)
	}
	if replaced.ID != created.ID || !replaced.CreatedAt.Equal(created.CreatedAt) || !replaced.UpdatedAt.After(created.UpdatedAt) {
		t.Errorf("PUT must keep id/created_at and bump updated_at: %+v", replaced)
	}
	if replaced.ListenPath != "/orders/v2" || !replaced.StripListenPath || replaced.ForwardClaims != nil {
		t.Errorf("PUT is a full replacement: %+v", replaced)
	}

	if err := h.admin.DeleteAPI(ctx, created.ID); err != nil {
		t.Fatalf("DeleteAPI: %v", err)
	}
	for _, err := range []error{
		func() error { _, err := h.admin.GetAPI(ctx, created.ID); return err }(),
		func() error { _, err := h.admin.UpdateAPI(ctx, created.ID, upd); return err }(),
		h.admin.DeleteAPI(ctx, created.ID),
	} {
		if !adminapi.IsNotFound(err) {
			t.Errorf("after delete: want 404, got %v", err)
		}
	}
}

func TestAdminAPIConflicts(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	a := h.createAPI(adminapi.API{Name: "orders", ListenPath: "/orders", UpstreamURL: "http://u/"})
	b := h.createAPI(adminapi.API{Name: "billing", ListenPath: "/billing", UpstreamURL: "http://u/"})

	for _, tc := range []struct {
		api   adminapi.API
		field string
	}{
		{adminapi.API{Name: "orders", ListenPath: "/other", UpstreamURL: "http://u/"}, "name"},
		{adminapi.API{Name: "orders2", ListenPath: "/orders/", UpstreamURL: "http://u/"}, "listen_path"},
	} {
		tc.api.JWT = a.JWT
		_, err := h.admin.CreateAPI(ctx, tc.api)
		assertAdminError(t, err, http.StatusConflict, tc.field)
	}
	// a PUT may keep its own listen path but not take another's
	bb := *b
	if _, err := h.admin.UpdateAPI(ctx, b.ID, bb); err != nil {
		t.Fatalf("PUT with unchanged values: %v", err)
	}
	bb.ListenPath = "/orders"
	_, err := h.admin.UpdateAPI(ctx, b.ID, bb)
	assertAdminError(t, err, http.StatusConflict, "listen_path")

	// a policy may only grant existing APIs, and an API granted by a policy cannot go
	_, err = h.admin.CreatePolicy(ctx, adminapi.Policy{Name: "p", AccessRights: []adminapi.AccessRight{{APIID: a.ID}, {APIID: "api_missing"}}})
	assertAdminError(t, err, http.StatusConflict, "access_rights[1].api_id")
	p := h.createPolicy(adminapi.Policy{Name: "p", ClientIDs: []string{"app"}, AccessRights: []adminapi.AccessRight{{APIID: a.ID}}})
	_, err = h.admin.CreatePolicy(ctx, adminapi.Policy{Name: "p", AccessRights: []adminapi.AccessRight{}})
	assertAdminError(t, err, http.StatusConflict, "name")
	err = h.admin.DeleteAPI(ctx, a.ID)
	assertAdminError(t, err, http.StatusConflict, "")
	if !strings.Contains(err.Error(), p.ID) {
		t.Errorf("409 should name the policy: %v", err)
	}
	if err := h.admin.DeletePolicy(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if err := h.admin.DeleteAPI(ctx, a.ID); err != nil {
		t.Fatalf("delete after the policy is gone: %v", err)
	}
}

func TestAdminPolicyCRUD(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	api := h.createAPI(adminapi.API{Name: "orders", ListenPath: "/orders", UpstreamURL: "http://u/"})
	in := adminapi.Policy{Name: "gold", ClientIDs: []string{"app"},
		AccessRights: []adminapi.AccessRight{{APIID: api.ID, Methods: []string{"GET"}, Paths: []string{"/items/*"}}},
		RateLimit:    &adminapi.Limit{Requests: 10, Per: adminapi.Duration(time.Minute)},
		MaxTokenAge:  adminapi.Duration(time.Hour)}
	p := h.createPolicy(in)
	if !strings.HasPrefix(p.ID, "pol_") || p.RateLimit == nil || p.RateLimit.Per.D() != time.Minute {
		t.Fatalf("created: %+v", p)
	}
	got, err := h.admin.GetPolicy(ctx, p.ID)
	if err != nil || got.Name != "gold" || len(got.AccessRights) != 1 || got.AccessRights[0].Paths[0] != "/items/*" {
		t.Fatalf("GetPolicy: %+v %v", got, err)
	}
	got.RateLimit, got.Quota = nil, &adminapi.Limit{Requests: 5, Per: adminapi.Duration(time.Hour)}
	upd, err := h.admin.UpdatePolicy(ctx, p.ID, *got)
	if err != nil || upd.RateLimit != nil || upd.Quota == nil || upd.ID != p.ID || !upd.CreatedAt.Equal(p.CreatedAt) {
		t.Fatalf("UpdatePolicy: %+v %v", upd, err)
	}
	list, err := h.admin.ListPolicies(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("ListPolicies: %v %v", list, err)
	}
	if err := h.admin.DeletePolicy(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	_, err = h.admin.GetPolicy(ctx, p.ID)
	assertAdminError(t, err, http.StatusNotFound, "")
}

func TestAdminIntrospectionSecretIsWriteOnly(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	api := h.createAPI(adminapi.API{Name: "opaque", ListenPath: "/opaque", UpstreamURL: "http://u/",
		Introspection: &adminapi.Introspection{Endpoint: "https://idp/introspect", ClientID: "gw", ClientSecret: "s3cret-value"}})
	check := func(a *adminapi.API, what string) {
		t.Helper()
		if a.Introspection == nil || a.Introspection.ClientSecret != "" || !a.Introspection.ClientSecretSet {
			t.Errorf("%s: secret must be hidden and client_secret_set true: %+v", what, a.Introspection)
		}
	}
	check(api, "POST answer")
	got, err := h.admin.GetAPI(ctx, api.ID)
	if err != nil {
		t.Fatal(err)
	}
	check(got, "GET answer")
	list, _ := h.admin.ListAPIs(ctx)
	check(&list[0], "list answer")

	got.Name = "opaque-renamed"
	upd, err := h.admin.UpdateAPI(ctx, api.ID, *got) // no client_secret in the body
	if err != nil {
		t.Fatal(err)
	}
	check(upd, "PUT answer")
	stored, _ := h.gw.store.GetAPI(api.ID)
	if stored.Introspection.ClientSecret != "s3cret-value" {
		t.Errorf("a PUT without client_secret must keep the stored one, have %q", stored.Introspection.ClientSecret)
	}
	raw, _ := json.Marshal(list)
	if strings.Contains(string(raw), "s3cret") {
		t.Errorf("secret leaked: %s", raw)
	}
}

func assertAdminError(t *testing.T, err error, status int, field string) {
	t.Helper()
	var e *adminapi.Error
	if !errors.As(err, &e) || e.Status != status || e.Field != field {
		t.Errorf("want HTTP %d on field %q, got %v", status, field, err)
	}
}

// TestAdminWriteNotAppliedIsNotAcknowledged: when the snapshot cannot be brought to a stored
// change (here another writer committed a row that does not decode, so the write's change
// is not the next one and the whole store must be read), the caller gets a 500 that says so,
// not a 201, and the gateway keeps serving the previous configuration; the next successful
// reload applies the stored change.
func TestAdminWriteNotAppliedIsNotAcknowledged(t *testing.T) {
	srv := redistest.Start(t)
	h := newRedisHarness(t, srv.URL, "", newFakeValidators())
	rdb := srv.Client()
	up := newEchoUpstream(t)
	a := h.createAPI(adminapi.API{Name: "a", ListenPath: "/a", UpstreamURL: up.URL})
	h.createPolicy(adminapi.Policy{Name: "p", ClientIDs: []string{"app"}, AccessRights: grantAll(a)})
	tok := h.fake.token("t", token.Identity{ClientID: "app"})

	corrupt := func(v []byte) {
		key := store.DefaultKeyPrefix + "{config}:policies"
		var err error
		if v == nil {
			err = rdb.HDel(context.Background(), key, "zz-corrupt").Err()
		} else {
			err = rdb.HSet(context.Background(), key, "zz-corrupt", v).Err()
		}
		if err == nil { // a committed write, unannounced: only a reload can bring it in
			err = rdb.Incr(context.Background(), store.DefaultKeyPrefix+"{config}:version").Err()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	corrupt([]byte("{not json"))
	_, err := h.admin.CreateAPI(context.Background(), adminapi.API{Name: "b", ListenPath: "/b", UpstreamURL: up.URL,
		JWT: &adminapi.JWTValidation{Issuer: "https://idp.example", JWKSURI: "https://idp.example/jwks"}})
	var ae *adminapi.Error
	if !errors.As(err, &ae) || ae.Status != http.StatusInternalServerError || !strings.Contains(ae.Message, "stored") {
		t.Fatalf("create with a broken store: %v, want a 500 saying the change is stored but not applied", err)
	}
	expect(t, h.do("GET", "/a", tok), http.StatusOK)       // the previous snapshot still serves
	expect(t, h.do("GET", "/b", tok), http.StatusNotFound) // and does not have b yet

	corrupt(nil)
	h.createAPI(adminapi.API{Name: "c", ListenPath: "/c", UpstreamURL: up.URL})
	if resp := h.do("GET", "/b", tok); resp.StatusCode == http.StatusNotFound {
		t.Error("after a successful reload, the stored API b is still not served")
	} else {
		resp.Body.Close()
	}
}
