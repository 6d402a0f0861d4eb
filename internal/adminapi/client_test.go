package adminapi_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway"
	"github.com/idpgate/terraform-provider-idpgate/internal/gatewaytest"
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

// An id goes on the wire escaped once, so the gateway's {id} reads it back as it was given: "a/1"
// is sent as a%2F1, not a%252F1.
func TestClientEscapesAnIDOnce(t *testing.T) {
	const id = "a/1 ?#%"
	var seen []string
	mux := http.NewServeMux()
	for _, route := range []string{"GET /v1/apis/{id}", "PUT /v1/apis/{id}", "DELETE /v1/apis/{id}",
		"GET /v1/policies/{id}", "PUT /v1/policies/{id}", "DELETE /v1/policies/{id}"} {
		mux.HandleFunc(route, func(w http.ResponseWriter, r *http.Request) {
			seen = append(seen, r.Method+" "+r.URL.EscapedPath()+" "+r.PathValue("id"))
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"id":"x"}`)
		})
	}
	behindProxy := http.NewServeMux()
	behindProxy.Handle("/", mux)
	behindProxy.Handle("/gw/", http.StripPrefix("/gw", mux))
	srv := httptest.NewServer(behindProxy)
	defer srv.Close()
	for _, base := range []string{srv.URL, srv.URL + "/", srv.URL + "/gw"} {
		seen = nil
		c, err := adminapi.NewClient(base, "token", nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx := t.Context()
		_, err1 := c.GetAPI(ctx, id)
		_, err2 := c.UpdateAPI(ctx, id, adminapi.API{})
		err3 := c.DeleteAPI(ctx, id)
		_, err4 := c.GetPolicy(ctx, id)
		_, err5 := c.UpdatePolicy(ctx, id, adminapi.Policy{})
		err6 := c.DeletePolicy(ctx, id)
		if err := errors.Join(err1, err2, err3, err4, err5, err6); err != nil {
			t.Fatalf("%s: %v", base, err)
		}
		const wire = "a%2F1%20%3F%23%25"
		want := []string{"GET /v1/apis/" + wire + " " + id, "PUT /v1/apis/" + wire + " " + id, "DELETE /v1/apis/" + wire + " " + id,
			"GET /v1/policies/" + wire + " " + id, "PUT /v1/policies/" + wire + " " + id, "DELETE /v1/policies/" + wire + " " + id}
		if strings.Join(seen, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: requests:\n%s\nwant:\n%s", base, strings.Join(seen, "\n"), strings.Join(want, "\n"))
		}
	}
}

// Against the gateway itself: an id the gateway made reads back, and an id it never makes ("a/1",
// as an import may be given) is answered by the gateway's own 404, which names that id.
func TestClientIDRoundTripsThroughTheGateway(t *testing.T) {
	c := gatewaytest.Start(t, gateway.Options{}).Admin
	ctx := t.Context()
	p, err := c.CreatePolicy(ctx, adminapi.Policy{Name: "billing", ClientIDs: []string{"billing"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.GetPolicy(ctx, p.ID); err != nil || got.Name != "billing" {
		t.Fatalf("GetPolicy(%q) = %+v, %v", p.ID, got, err)
	}
	for name, call := range map[string]func() error{
		"GetAPI":       func() error { _, err := c.GetAPI(ctx, "a/1"); return err },
		"DeleteAPI":    func() error { return c.DeleteAPI(ctx, "a/1") },
		"GetPolicy":    func() error { _, err := c.GetPolicy(ctx, "a/1"); return err },
		"UpdatePolicy": func() error { _, err := c.UpdatePolicy(ctx, "a/1", *p); return err },
		"DeletePolicy": func() error { return c.DeletePolicy(ctx, "a/1") },
	} {
		var apiErr *adminapi.Error
		if err := call(); !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound || !strings.HasSuffix(apiErr.Message, `with id "a/1"`) {
			t.Errorf(`%s("a/1") = %v, want the gateway's 404 naming id "a/1"`, name, err)
		}
	}
}
