package dcr

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestDiscover_openIDConfiguration(t *testing.T) {
	f := newFakeIdP(t)
	c := newTestClient(t, f, Config{})
	doc, err := c.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if doc.RegistrationEndpoint != f.endpoint() || doc.TokenEndpoint != f.issuer()+"/token" ||
		doc.DocumentURL != f.issuer()+"/.well-known/openid-configuration" || len(doc.Raw) == 0 {
		t.Errorf("doc = %+v", doc)
	}
	if ep, err := c.RegistrationEndpoint(context.Background()); err != nil || ep != f.endpoint() {
		t.Errorf("RegistrationEndpoint = %q, %v", ep, err)
	}
}

func TestDiscover_fallsBackToRFC8414(t *testing.T) {
	var issuer string
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.URL.Path)
		if r.URL.Path == "/.well-known/oauth-authorization-server/tenant/a" {
			writeJSON(w, 200, map[string]any{"issuer": issuer, "registration_endpoint": issuer + "/reg"})
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	issuer = srv.URL + "/tenant/a"
	c, err := New(Config{Issuer: issuer})
	if err != nil {
		t.Fatal(err)
	}
	ep, err := c.RegistrationEndpoint(context.Background())
	if err != nil || ep != issuer+"/reg" {
		t.Fatalf("endpoint = %q, %v", ep, err)
	}
	if strings.Join(seen, " ") != "/tenant/a/.well-known/openid-configuration /.well-known/oauth-authorization-server/tenant/a" {
		t.Errorf("tried %v", seen)
	}
}

func TestDiscover_rejectsForeignIssuer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"issuer": "https://evil.example.com", "registration_endpoint": "https://evil.example.com/reg"})
	}))
	defer srv.Close()
	c, err := New(Config{Issuer: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.RegistrationEndpoint(context.Background())
	if err == nil || !strings.Contains(err.Error(), `names issuer "https://evil.example.com"`) {
		t.Errorf("err = %v", err)
	}
}

// silentIssuer serves a discovery document without registration_endpoint, as Ory Hydra does
// by default (issuer path included, as a Hydra behind a path prefix has).
func silentIssuer(t *testing.T) string {
	t.Helper()
	var issuer string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"issuer": issuer, "token_endpoint": issuer + "/oauth2/token"})
	}))
	t.Cleanup(srv.Close)
	issuer = srv.URL + "/hydra/"
	return issuer
}

func TestDiscover_noRegistrationEndpoint(t *testing.T) {
	for _, driver := range []string{DriverGeneric, DriverOkta, DriverKeycloak} {
		c, _ := New(Config{Issuer: silentIssuer(t), Driver: driver})
		_, err := c.RegistrationEndpoint(context.Background())
		if !errors.Is(err, ErrNoRegistrationEndpoint) || errors.Is(err, ErrUnreachable) || errors.Is(err, ErrDiscovery) {
			t.Errorf("%s: err = %v", driver, err)
		}
	}
}

// Hydra advertises registration_endpoint only when its operator configures one; its driver
// falls back to the documented {issuer}/oauth2/register.
func TestDiscover_hydraFallsBackToDocumentedPath(t *testing.T) {
	issuer := silentIssuer(t)
	c, _ := New(Config{Issuer: issuer, Driver: DriverHydra})
	ep, err := c.RegistrationEndpoint(context.Background())
	if err != nil || ep != strings.TrimSuffix(issuer, "/")+"/oauth2/register" {
		t.Errorf("endpoint = %q, %v", ep, err)
	}
}

func TestDiscover_errorsSayWhatFailed(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	c, _ := New(Config{Issuer: closed.URL, MaxRetries: 0})
	if _, err := c.Discover(context.Background()); !errors.Is(err, ErrUnreachable) || errors.Is(err, ErrDiscovery) {
		t.Errorf("closed port: err = %v", err)
	}
	notJSON := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("<html>login</html>"))
	}))
	defer notJSON.Close()
	c, _ = New(Config{Issuer: notJSON.URL})
	if _, err := c.Discover(context.Background()); !errors.Is(err, ErrDiscovery) || errors.Is(err, ErrUnreachable) {
		t.Errorf("not JSON: err = %v", err)
	}
}

func TestDiscover_nothingFound(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	c, _ := New(Config{Issuer: srv.URL})
	_, err := c.Discover(context.Background())
	if !errors.Is(err, ErrDiscovery) || !strings.Contains(err.Error(), "no discovery document found") || !strings.Contains(err.Error(), "HTTP 404") {
		t.Errorf("err = %v", err)
	}
}
