package adminapi_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

// An answer that is not the admin API's JSON still tells the user what went wrong when it is a
// short text: here net/http's answer to http:// on a TLS listener.
func TestClientKeepsAShortPlainTextAnswer(t *testing.T) {
	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler())
	defer tlsSrv.Close()
	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html><body><h1>502 Bad Gateway</h1></body></html>\n"))
	}))
	defer html.Close()
	for _, c := range []struct {
		url, want string
		status    int
	}{
		{"http://" + strings.TrimPrefix(tlsSrv.URL, "https://"), "Client sent an HTTP request to an HTTPS server.", 400},
		{html.URL, "Bad Gateway", 502},
	} {
		client, err := adminapi.NewClient(c.url, "token", nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = client.ListAPIs(t.Context())
		apiErr, ok := err.(*adminapi.Error)
		if !ok || apiErr.Status != c.status || apiErr.Message != c.want {
			t.Errorf("%s: %#v, want HTTP %d with message %q", c.url, err, c.status, c.want)
		}
	}
}

// Each collection is addressed under its own path and a listing follows
// next_after until the last page, asking for the largest page.
func TestClientAddressesEachCollectionAndReadsEveryPage(t *testing.T) {
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Method+" "+r.URL.RequestURI())
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.RequestURI() {
		case "/v1/apis?limit=1000":
			_, _ = io.WriteString(w, `{"apis":[{"id":"a1"}],"next_after":"a1"}`)
		case "/v1/apis?after=a1&limit=1000":
			_, _ = io.WriteString(w, `{"apis":[{"id":"a2"}]}`)
		case "/v1/policies?limit=1000":
			_, _ = io.WriteString(w, `{"policies":[{"id":"p1"}],"next_after":"p1"}`)
		case "/v1/policies?after=p1&limit=1000":
			_, _ = io.WriteString(w, `{"policies":[{"id":"p2"}]}`)
		default:
			_, _ = io.WriteString(w, `{"id":"x"}`)
		}
	}))
	defer srv.Close()
	c, err := adminapi.NewClient(srv.URL, "token", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	apis, err := c.ListAPIs(ctx)
	if err != nil || len(apis) != 2 || apis[0].ID != "a1" || apis[1].ID != "a2" {
		t.Errorf("ListAPIs = %+v, %v; want a1, a2", apis, err)
	}
	policies, err := c.ListPolicies(ctx)
	if err != nil || len(policies) != 2 || policies[0].ID != "p1" || policies[1].ID != "p2" {
		t.Errorf("ListPolicies = %+v, %v; want p1, p2", policies, err)
	}
	seen = nil
	_, _ = c.CreateAPI(ctx, adminapi.API{})
	_, _ = c.GetAPI(ctx, "a-1")
	_, _ = c.UpdateAPI(ctx, "a-1", adminapi.API{})
	_ = c.DeleteAPI(ctx, "a-1")
	_, _ = c.ListAPIsPage(ctx, "", 0)
	_, _ = c.CreatePolicy(ctx, adminapi.Policy{})
	_, _ = c.GetPolicy(ctx, "p-1")
	_, _ = c.UpdatePolicy(ctx, "p-1", adminapi.Policy{})
	_ = c.DeletePolicy(ctx, "p-1")
	_, _ = c.ListPoliciesPage(ctx, "p0", 5)
	want := []string{"POST /v1/apis", "GET /v1/apis/a-1", "PUT /v1/apis/a-1", "DELETE /v1/apis/a-1", "GET /v1/apis",
		"POST /v1/policies", "GET /v1/policies/p-1", "PUT /v1/policies/p-1", "DELETE /v1/policies/p-1",
		"GET /v1/policies?after=p0&limit=5"}
	if strings.Join(seen, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
}
