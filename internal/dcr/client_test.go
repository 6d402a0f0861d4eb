package dcr

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRegister_sendsMetadataAndInitialAccessToken(t *testing.T) {
	f := newFakeIdP(t)
	c := newTestClient(t, f, Config{InitialAccessToken: "iat-1"})
	reg, err := c.Register(context.Background(), Metadata{
		ClientName: "app", GrantTypes: []string{"client_credentials"}, Scope: "read write",
		Extra: map[string]json.RawMessage{"vendor_flag": json.RawMessage(`true`)},
	})
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	if reg.ClientID != "client-1" || reg.ClientSecret != "secret-client-1" || reg.RegistrationAccessToken != "rat-client-1-1" ||
		reg.RegistrationClientURI != f.endpoint()+"/client-1" || reg.ClientIDIssuedAt != 1700000000 {
		t.Errorf("registration = %+v", reg)
	}
	if reg.Metadata.ClientName != "app" || reg.Metadata.Scope != "read write" {
		t.Errorf("metadata = %+v", reg.Metadata)
	}
	if string(reg.Metadata.Extra["vendor_flag"]) != "true" {
		t.Errorf("extra = %v", reg.Metadata.Extra)
	}
	posts := requestsOf(f, http.MethodPost)
	if len(posts) != 1 {
		t.Fatalf("POSTs = %d, want 1", len(posts))
	}
	if got := posts[0].Header.Get("Authorization"); got != "Bearer iat-1" {
		t.Errorf("Authorization = %q", got)
	}
	rt, ok := posts[0].Body["response_types"].([]any)
	if !ok || len(rt) != 0 {
		t.Errorf("client_credentials-only must send response_types: [], body = %v", posts[0].Body)
	}
	if posts[0].Body["vendor_flag"] != true {
		t.Errorf("extra metadata not merged: %v", posts[0].Body)
	}
	if _, has := posts[0].Body["application_type"]; has {
		t.Errorf("generic driver must not invent application_type: %v", posts[0].Body)
	}
}

func TestRegister_keycloakNeverSendsClientID(t *testing.T) {
	f := newFakeIdP(t)
	c := newTestClient(t, f, Config{Driver: DriverKeycloak, InitialAccessToken: "iat"})
	if _, err := c.Register(context.Background(), Metadata{ClientName: "x", RedirectURIs: []string{"https://a/cb"}}); err != nil {
		t.Fatal(err)
	}
	body := requestsOf(f, http.MethodPost)[0].Body
	if _, has := body["client_id"]; has {
		t.Errorf("keycloak POST carries client_id: %v", body)
	}
	if _, has := body["response_types"]; has {
		t.Errorf("response_types sent although not set and not client_credentials-only: %v", body)
	}
}

// The fields an IdP issues never travel back to it, whatever the metadata came from: not in
// a registration (Keycloak rejects client_id there, Hydra a client_secret), not in an update
// (beyond client_id, and the secret RFC 7592 lets a generic client repeat). The metadata
// here is decoded from a full answer, as the provider does after a read.
func TestBodiesNeverCarryIssuedFields(t *testing.T) {
	answer := []byte(`{"client_id":"old-id","client_secret":"old-secret","client_id_issued_at":1,
		"client_secret_expires_at":0,"registration_client_uri":"https://idp/x","registration_access_token":"old-rat",
		"client_name":"read back","redirect_uris":["https://a/cb"],"vendor_field":"kept"}`)
	read, err := decodeRegistration(answer)
	if err != nil {
		t.Fatal(err)
	}
	issued := []string{"client_secret", "client_id_issued_at", "client_secret_expires_at",
		"registration_client_uri", "registration_access_token"}
	for _, tc := range []struct {
		driver       string
		updateSecret bool // RFC 7592 §2.2: the current secret may be repeated
	}{{DriverGeneric, true}, {DriverKeycloak, true}, {DriverHydra, false}} {
		t.Run(tc.driver, func(t *testing.T) {
			f := newFakeIdP(t)
			c := newTestClient(t, f, Config{Driver: tc.driver, InitialAccessToken: "iat", RegistrationEndpoint: f.endpoint()})
			ctx := context.Background()
			reg, err := c.Register(ctx, read.Metadata)
			if err != nil {
				t.Fatal(err)
			}
			post := requestsOf(f, http.MethodPost)[0].Body
			for _, field := range append([]string{"client_id"}, issued...) {
				if v, has := post[field]; has {
					t.Errorf("registration carries %s = %v", field, v)
				}
			}
			if post["vendor_field"] != "kept" {
				t.Errorf("registration lost the vendor field: %v", post)
			}
			if _, err := c.Update(ctx, reg, read.Metadata); err != nil {
				t.Fatal(err)
			}
			put := requestsOf(f, http.MethodPut)[0].Body
			if put["client_id"] != reg.ClientID {
				t.Errorf("update carries client_id %v, want the registered %q", put["client_id"], reg.ClientID)
			}
			for _, field := range issued {
				if field == "client_secret" && tc.updateSecret {
					if put[field] != reg.ClientSecret {
						t.Errorf("update carries client_secret %v, want the current one", put[field])
					}
					continue
				}
				if v, has := put[field]; has {
					t.Errorf("update carries %s = %v", field, v)
				}
			}
		})
	}
	for _, field := range append([]string{"client_id"}, issued...) {
		m := Metadata{ClientName: "x", Extra: map[string]json.RawMessage{field: json.RawMessage(`"v"`)}}
		if err := m.Validate(); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("extra metadata %s: Validate = %v, want an error naming it", field, err)
		}
	}
}

func TestUpdate_fullReplacementWithoutIssuedFields(t *testing.T) {
	for _, tc := range []struct {
		driver     string
		wantSecret bool
	}{{DriverGeneric, true}, {DriverKeycloak, true}, {DriverHydra, false}} {
		t.Run(tc.driver, func(t *testing.T) {
			f := newFakeIdP(t)
			f.rotate = true
			c := newTestClient(t, f, Config{Driver: tc.driver})
			ctx := context.Background()
			reg, err := c.Register(ctx, Metadata{ClientName: "one", RedirectURIs: []string{"https://a/cb"}})
			if err != nil {
				t.Fatal(err)
			}
			updated, err := c.Update(ctx, reg, Metadata{ClientName: "two", RedirectURIs: []string{"https://b/cb"}, Scope: "s"})
			if err != nil {
				t.Fatalf("Update: %v", err)
			}
			put := requestsOf(f, http.MethodPut)[0]
			if put.Path != "/register/client-1" || put.Header.Get("Authorization") != "Bearer rat-client-1-1" {
				t.Errorf("PUT %s with %q", put.Path, put.Header.Get("Authorization"))
			}
			if put.Body["client_id"] != "client-1" || put.Body["client_name"] != "two" || put.Body["scope"] != "s" {
				t.Errorf("PUT body = %v", put.Body)
			}
			for _, forbidden := range []string{"registration_access_token", "registration_client_uri",
				"client_secret_expires_at", "client_id_issued_at"} {
				if _, has := put.Body[forbidden]; has {
					t.Errorf("PUT carries %s", forbidden)
				}
			}
			if _, has := put.Body["client_secret"]; has != tc.wantSecret {
				t.Errorf("PUT carries client_secret = %v, want %v", has, tc.wantSecret)
			}
			// The fake rotated the token and left the secret out: the new token is kept,
			// the old secret carried over.
			if updated.RegistrationAccessToken != "rat-client-1-1u" {
				t.Errorf("rotated token not saved: %q", updated.RegistrationAccessToken)
			}
			if updated.ClientSecret != "secret-client-1" || updated.Metadata.ClientName != "two" {
				t.Errorf("updated = %+v", updated)
			}
			if _, err := c.Read(ctx, updated); err != nil {
				t.Errorf("Read with the rotated token: %v", err)
			}
		})
	}
}

func TestRead_savesRotatedTokenAndKeepsSecret(t *testing.T) {
	f := newFakeIdP(t)
	f.rotate, f.omitRead = true, true
	c := newTestClient(t, f, Config{})
	ctx := context.Background()
	reg := registered(t, c)
	got, err := c.Read(ctx, reg)
	if err != nil {
		t.Fatal(err)
	}
	if got.RegistrationAccessToken != "rat-client-1-1r" || got.ClientSecret != "secret-client-1" {
		t.Errorf("read = token %q secret %q", got.RegistrationAccessToken, got.ClientSecret)
	}
	// A second read works only with the token of the first read.
	if _, err := c.Read(ctx, got); err != nil {
		t.Errorf("second read: %v", err)
	}
	if _, err := c.Read(ctx, reg); !errors.Is(err, ErrNotFound) {
		t.Errorf("read with the stale token: %v", err)
	}
}

func TestOkta_apiTokenAndClientIDManagement(t *testing.T) {
	f := newFakeIdP(t)
	// Okta: every call carries SSWS, management by client_id, 401 invalid_client when unknown.
	f.intercept = func(w http.ResponseWriter, r *http.Request, _ int) bool {
		if got := r.Header.Get("Authorization"); got != "SSWS api-token" && r.URL.Path != "/.well-known/openid-configuration" {
			t.Errorf("%s %s Authorization = %q", r.Method, r.URL.Path, got)
		}
		if strings.HasPrefix(r.URL.Path, "/register/") {
			f.mu.Lock()
			defer f.mu.Unlock()
			id := strings.TrimPrefix(r.URL.Path, "/register/")
			if _, ok := f.clients[id]; !ok {
				writeJSON(w, 401, map[string]any{"error": "invalid_client", "error_description": "Invalid value for 'client_id' parameter."})
				return true
			}
			if r.Method == http.MethodDelete {
				delete(f.clients, id)
				w.WriteHeader(204)
			} else {
				ans := f.answer(id, true)
				delete(ans, "registration_access_token")
				delete(ans, "registration_client_uri")
				writeJSON(w, 200, ans)
			}
			return true
		}
		return false
	}
	c := newTestClient(t, f, Config{Driver: DriverOkta, InitialAccessToken: "api-token"})
	ctx := context.Background()
	reg, err := c.Register(ctx, Metadata{ClientName: "svc", GrantTypes: []string{"client_credentials"}})
	if err != nil {
		t.Fatal(err)
	}
	if body := requestsOf(f, http.MethodPost)[0].Body; body["application_type"] != "service" {
		t.Errorf("okta client_credentials-only client must be application_type service: %v", body)
	}
	// Import by client_id alone.
	got, err := c.Read(ctx, Registration{ClientID: reg.ClientID})
	if err != nil || got.ClientSecret != "secret-client-1" {
		t.Fatalf("Read by client_id = %+v, %v", got, err)
	}
	if _, err := c.Update(ctx, got, Metadata{ClientName: "svc2", GrantTypes: []string{"client_credentials"}}); err != nil {
		t.Fatal(err)
	}
	put := requestsOf(f, http.MethodPut)[0]
	if put.Path != "/register/client-1" || put.Body["client_id"] != "client-1" {
		t.Errorf("PUT %s %v", put.Path, put.Body)
	}
	if err := c.Delete(ctx, got); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(ctx, got); !errors.Is(err, ErrNotFound) {
		t.Errorf("read after delete: %v, want ErrNotFound", err)
	}
}

func TestOkta_unauthorizedIsNotGone(t *testing.T) {
	f := newFakeIdP(t)
	f.intercept = func(w http.ResponseWriter, r *http.Request, _ int) bool {
		if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/register/") {
			writeJSON(w, 401, map[string]any{"errorCode": "E0000011", "errorSummary": "Invalid token provided"})
			return true
		}
		return false
	}
	c := newTestClient(t, f, Config{Driver: DriverOkta, InitialAccessToken: "wrong"})
	_, err := c.Read(context.Background(), Registration{ClientID: "x"})
	var e *Error
	if errors.Is(err, ErrNotFound) || !errors.As(err, &e) || e.Code != "E0000011" {
		t.Errorf("err = %v, want an Error E0000011 that is not ErrNotFound", err)
	}
}

func TestGone_404And401ButNever5xx(t *testing.T) {
	for _, tc := range []struct {
		status int
		gone   bool
	}{{404, true}, {401, true}, {403, false}, {500, false}, {503, false}} {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			f := newFakeIdP(t)
			f.intercept = func(w http.ResponseWriter, r *http.Request, _ int) bool {
				if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/register/") {
					writeJSON(w, tc.status, map[string]any{"error": "x"})
					return true
				}
				return false
			}
			c := newTestClient(t, f, Config{MaxRetries: 1})
			_, err := c.Read(context.Background(), Registration{ClientID: "c", RegistrationClientURI: f.endpoint() + "/c",
				RegistrationAccessToken: "t"})
			if err == nil || errors.Is(err, ErrNotFound) != tc.gone {
				t.Errorf("err = %v, gone = %v, want %v", err, errors.Is(err, ErrNotFound), tc.gone)
			}
		})
	}
}

func TestErrors_carryRFC7591Code(t *testing.T) {
	f := newFakeIdP(t)
	f.intercept = func(w http.ResponseWriter, r *http.Request, _ int) bool {
		if r.Method == http.MethodPost {
			writeJSON(w, 400, map[string]any{"error": "invalid_redirect_uri",
				"error_description": "redirect_uris must use https"})
			return true
		}
		return false
	}
	c := newTestClient(t, f, Config{})
	_, err := c.Register(context.Background(), Metadata{RedirectURIs: []string{"http://x/cb"}})
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want *Error", err)
	}
	if e.StatusCode != 400 || e.Code != "invalid_redirect_uri" || e.Description != "redirect_uris must use https" ||
		e.Field() != "redirect_uris" {
		t.Errorf("error = %+v", e)
	}
	if !strings.Contains(err.Error(), "invalid_redirect_uri: redirect_uris must use https") {
		t.Errorf("message = %q", err.Error())
	}
	if n := len(requestsOf(f, http.MethodPost)); n != 1 {
		t.Errorf("a 400 was retried: %d POSTs", n)
	}
}

func TestRetry_429And503HonouringServerWait(t *testing.T) {
	cases := map[string]func(w http.ResponseWriter){
		"429 Retry-After": func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "0")
			writeJSON(w, 429, map[string]any{"error": "slow_down"})
		},
		"429 X-Rate-Limit-Reset": func(w http.ResponseWriter) {
			w.Header().Set("X-Rate-Limit-Reset", strconv.FormatInt(time.Now().Unix(), 10))
			writeJSON(w, 429, map[string]any{"errorCode": "E0000047"})
		},
		"503": func(w http.ResponseWriter) { writeJSON(w, 503, map[string]any{"error": "temporarily_unavailable"}) },
	}
	for name, fail := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFakeIdP(t)
			f.intercept = func(w http.ResponseWriter, r *http.Request, n int) bool {
				if r.Method == http.MethodPost && len(requestsOf(f, http.MethodPost)) <= 2 {
					fail(w)
					return true
				}
				return false
			}
			c := newTestClient(t, f, Config{RegistrationEndpoint: f.endpoint()})
			reg, err := c.Register(context.Background(), Metadata{ClientName: "a"})
			if err != nil {
				t.Fatalf("Register: %v", err)
			}
			if n := len(requestsOf(f, http.MethodPost)); n != 3 {
				t.Errorf("POSTs = %d, want 3 (two refused, one accepted)", n)
			}
			if len(f.clients) != 1 || reg.ClientID != "client-1" {
				t.Errorf("clients = %d, reg = %+v", len(f.clients), reg)
			}
		})
	}
}

func TestRetry_boundedByMaxRetries(t *testing.T) {
	f := newFakeIdP(t)
	f.intercept = func(w http.ResponseWriter, r *http.Request, _ int) bool {
		writeJSON(w, 503, map[string]any{"error": "down"})
		return true
	}
	c := newTestClient(t, f, Config{RegistrationEndpoint: f.endpoint(), MaxRetries: 2})
	_, err := c.Read(context.Background(), Registration{ClientID: "c"})
	var e *Error
	if !errors.As(err, &e) || e.StatusCode != 503 || errors.Is(err, ErrNotFound) {
		t.Errorf("err = %v", err)
	}
	if n := len(f.recorded()); n != 3 {
		t.Errorf("requests = %d, want 1 + 2 retries", n)
	}
}

func TestRetry_refusesServerWaitBeyondLimit(t *testing.T) {
	f := newFakeIdP(t)
	f.intercept = func(w http.ResponseWriter, r *http.Request, _ int) bool {
		w.Header().Set("Retry-After", "3600")
		writeJSON(w, 429, map[string]any{"error": "slow_down"})
		return true
	}
	c := newTestClient(t, f, Config{RegistrationEndpoint: f.endpoint(), MaxServerWait: time.Second})
	start := time.Now()
	_, err := c.Read(context.Background(), Registration{ClientID: "c"})
	var e *Error
	if !errors.As(err, &e) || e.StatusCode != 429 {
		t.Errorf("err = %v, want the 429", err)
	}
	if len(f.recorded()) != 1 || time.Since(start) > time.Second {
		t.Errorf("waited for an hour-long Retry-After: %d requests in %s", len(f.recorded()), time.Since(start))
	}
}

func TestRegister_neverResentAfterLostAnswer(t *testing.T) {
	for name, lose := range map[string]func(t *testing.T, w http.ResponseWriter){
		"dropped connection": dropConnection,
		"timeout":            func(t *testing.T, w http.ResponseWriter) { time.Sleep(400 * time.Millisecond) },
		"500":                func(t *testing.T, w http.ResponseWriter) { writeJSON(w, 500, map[string]any{"error": "server_error"}) },
		"504":                func(t *testing.T, w http.ResponseWriter) { writeJSON(w, 504, nil) },
		// A 2xx that does not say which client was created: one may exist, unknown to us.
		"201 without client_id": func(t *testing.T, w http.ResponseWriter) {
			writeJSON(w, 201, map[string]any{"client_name": "a", "client_secret": "s"})
		},
		"200 with an empty client_id": func(t *testing.T, w http.ResponseWriter) {
			writeJSON(w, 200, map[string]any{"client_id": "", "client_name": "a"})
		},
		"201 not JSON": func(t *testing.T, w http.ResponseWriter) {
			w.WriteHeader(201)
			_, _ = w.Write([]byte("<html>created</html>"))
		},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFakeIdP(t)
			f.intercept = func(w http.ResponseWriter, r *http.Request, _ int) bool {
				if r.Method == http.MethodPost {
					lose(t, w)
					return true
				}
				return false
			}
			c := newTestClient(t, f, Config{RegistrationEndpoint: f.endpoint(),
				HTTPClient: &http.Client{Timeout: 200 * time.Millisecond}})
			_, err := c.Register(context.Background(), Metadata{ClientName: "a"})
			if !errors.Is(err, ErrOutcomeUnknown) {
				t.Errorf("err = %v, want ErrOutcomeUnknown", err)
			}
			if n := len(requestsOf(f, http.MethodPost)); n != 1 {
				t.Errorf("POST sent %d times after an ambiguous failure", n)
			}
		})
	}
}

// The caller's deadline (a resource's create timeout) running out after the POST was written
// is a lost answer too, not an unreachable IdP.
func TestRegister_callerDeadlineAfterSendingIsOutcomeUnknown(t *testing.T) {
	f := newFakeIdP(t)
	f.intercept = func(w http.ResponseWriter, r *http.Request, _ int) bool {
		if r.Method == http.MethodPost {
			<-r.Context().Done()
			return true
		}
		return false
	}
	c := newTestClient(t, f, Config{RegistrationEndpoint: f.endpoint(), HTTPClient: &http.Client{Timeout: time.Minute}})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := c.Register(ctx, Metadata{ClientName: "a"})
	if !errors.Is(err, ErrOutcomeUnknown) || errors.Is(err, ErrUnreachable) {
		t.Errorf("err = %v, want ErrOutcomeUnknown", err)
	}
}

func TestRegister_retriedWhenNothingWasSent(t *testing.T) {
	f := newFakeIdP(t)
	endpoint := f.endpoint()
	f.srv.Close() // connection refused: the request never left
	c := newTestClient(t, f, Config{RegistrationEndpoint: endpoint, MaxRetries: 2})
	_, err := c.Register(context.Background(), Metadata{ClientName: "a"})
	if err == nil || errors.Is(err, ErrOutcomeUnknown) || !strings.Contains(err.Error(), "(3 attempts)") {
		t.Errorf("err = %v, want a retried connection error that is not ErrOutcomeUnknown", err)
	}
}

func TestRead_retriedAfterDroppedConnection(t *testing.T) {
	f := newFakeIdP(t)
	c := newTestClient(t, f, Config{})
	ctx := context.Background()
	reg := registered(t, c)
	dropFirstGET(t, f, nil)
	if _, err := c.Read(ctx, reg); err != nil {
		t.Errorf("Read: %v", err)
	}
	if n := len(requestsOf(f, http.MethodGet)); n != 2 {
		t.Errorf("GETs = %d, want 2", n)
	}
}

func TestRead_lostAnswerThen401IsNotGone(t *testing.T) {
	f := newFakeIdP(t)
	f.rotate = true
	c := newTestClient(t, f, Config{})
	ctx := context.Background()
	reg := registered(t, c)
	// The first GET rotates the token at the IdP but its answer is lost; the retry then
	// presents the old token and gets 401. That must not read as "deleted".
	dropFirstGET(t, f, func() {
		f.mu.Lock()
		f.tokens[reg.ClientID] += "r"
		f.mu.Unlock()
	})
	_, err := c.Read(ctx, reg)
	if errors.Is(err, ErrNotFound) || !errors.Is(err, ErrOutcomeUnknown) {
		t.Errorf("err = %v, want ErrOutcomeUnknown and not ErrNotFound", err)
	}
}

func TestDelete_alreadyGoneIsDone(t *testing.T) {
	f := newFakeIdP(t)
	c := newTestClient(t, f, Config{})
	ctx := context.Background()
	reg := registered(t, c)
	if err := c.Delete(ctx, reg); err != nil {
		t.Fatal(err)
	}
	if len(f.clients) != 0 {
		t.Errorf("client not deleted")
	}
	if err := c.Delete(ctx, reg); err != nil {
		t.Errorf("second delete: %v", err)
	}
}

func TestLogger_neverSeesCredentials(t *testing.T) {
	f := newFakeIdP(t)
	f.rotate = true
	var mu sync.Mutex
	var entries []string
	logger := func(_ context.Context, _ Level, msg string, fields map[string]any) {
		b, _ := json.Marshal(fields)
		mu.Lock()
		entries = append(entries, msg+" "+string(b))
		mu.Unlock()
	}
	c := newTestClient(t, f, Config{InitialAccessToken: "iat-top-secret", Logger: logger})
	ctx := context.Background()
	reg := registered(t, c)
	reg, err := c.Update(ctx, reg, Metadata{ClientName: "b"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, reg); err != nil {
		t.Fatal(err)
	}
	all := strings.Join(entries, "\n")
	if !strings.Contains(all, "identity provider answer") || !strings.Contains(all, "/register/client-1") {
		t.Fatalf("logger got no request entries:\n%s", all)
	}
	for _, secret := range []string{"iat-top-secret", "secret-client-1", "rat-client-1"} {
		if strings.Contains(all, secret) {
			t.Errorf("log contains %q:\n%s", secret, all)
		}
	}
}

func TestNew_rejectsBadConfig(t *testing.T) {
	for name, cfg := range map[string]Config{
		"unknown driver":  {Driver: "auth0", Issuer: "https://idp.example.com"},
		"relative issuer": {Issuer: "idp.example.com"},
		"issuer query":    {Issuer: "https://idp.example.com?x=1"},
		"nothing":         {},
	} {
		_, err := New(cfg)
		if err == nil {
			t.Errorf("%s: New accepted %+v", name, cfg)
		}
		// The provider blames idp_driver or issuer by this.
		if got, want := errors.Is(err, ErrUnknownDriver), name == "unknown driver"; got != want {
			t.Errorf("%s: errors.Is(%v, ErrUnknownDriver) = %v, want %v", name, err, got, want)
		}
	}
}

// dropFirstGET makes f drop the connection of the first GET, its answer lost, after running
// first when it is set.
func dropFirstGET(t *testing.T, f *fakeIdP, first func()) {
	f.intercept = func(w http.ResponseWriter, r *http.Request, _ int) bool {
		if r.Method != http.MethodGet || len(requestsOf(f, http.MethodGet)) != 1 {
			return false
		}
		if first != nil {
			first()
		}
		dropConnection(t, w)
		return true
	}
}

func requestsOf(f *fakeIdP, method string) []recorded {
	var out []recorded
	for _, r := range f.recorded() {
		if r.Method == method && r.Path != "/.well-known/openid-configuration" {
			out = append(out, r)
		}
	}
	return out
}

func TestBackoff_exponentialBoundedWithJitter(t *testing.T) {
	lo, hi := 100*time.Millisecond, time.Second
	for attempt, want := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond,
		800 * time.Millisecond, time.Second, time.Second} {
		seen := map[time.Duration]bool{}
		for range 20 {
			d := backoff(lo, hi, attempt, nil)
			if d < want/2 || d > want {
				t.Errorf("attempt %d: %s outside [%s, %s]", attempt, d, want/2, want)
			}
			seen[d] = true
		}
		if len(seen) < 2 {
			t.Errorf("attempt %d: no jitter", attempt)
		}
	}
	resp := &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": []string{"3"}}}
	if d := backoff(lo, hi, 0, resp); d < 3*time.Second || d > 3*time.Second+lo/2 {
		t.Errorf("Retry-After 3 gave %s", d)
	}
	resp = &http.Response{StatusCode: 429, Header: http.Header{"X-Rate-Limit-Reset": {strconv.FormatInt(time.Now().Add(5*time.Second).Unix(), 10)}}}
	if d := backoff(lo, hi, 0, resp); d < 3*time.Second || d > 6*time.Second {
		t.Errorf("X-Rate-Limit-Reset in 5s gave %s", d)
	}
	if d, ok := serverWait(&http.Response{StatusCode: 200, Header: http.Header{"X-Rate-Limit-Reset": {"99999999999"}}}); ok {
		t.Errorf("X-Rate-Limit-Reset of a success must not count, got %s", d)
	}
}

func TestMetadata_wireForm(t *testing.T) {
	m := Metadata{ResponseTypes: []string{}, ClientName: "n", JWKS: json.RawMessage(`{"keys":[]}`),
		Extra: map[string]json.RawMessage{"client_name": json.RawMessage(`"extra loses"`), "x": json.RawMessage(`1`)}}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	_ = json.Unmarshal(b, &got)
	want := map[string]any{"response_types": []any{}, "client_name": "n", "jwks": map[string]any{"keys": []any{}}, "x": 1.0}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("wire = %s", b)
	}
	reg, err := decodeRegistration([]byte(`{"client_id":"c","client_name":null,"grant_types":["a"],"x":1,"client_secret_expires_at":1.7e9}`))
	if err != nil {
		t.Fatal(err)
	}
	if reg.ClientID != "c" || reg.Metadata.ClientName != "" || !reflect.DeepEqual(reg.Metadata.GrantTypes, []string{"a"}) ||
		reg.Metadata.ResponseTypes != nil || string(reg.Metadata.Extra["x"]) != "1" || reg.ClientSecretExpiresAt != 1700000000 {
		t.Errorf("decoded = %+v", reg)
	}
}

func TestMetadata_validate(t *testing.T) {
	for name, m := range map[string]Metadata{
		"jwks and jwks_uri": {JWKS: json.RawMessage(`{"keys":[]}`), JWKSURI: "https://x/jwks"},
		"reserved extra":    {Extra: map[string]json.RawMessage{"client_secret": json.RawMessage(`"s"`)}},
		"typed extra":       {Extra: map[string]json.RawMessage{"scope": json.RawMessage(`"s"`)}},
	} {
		if err := m.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestRead_notFoundRightAfterCreateIsAskedAgain(t *testing.T) {
	f := newFakeIdP(t)
	c := newTestClient(t, f, Config{})
	ctx := context.Background()
	reg := registered(t, c)
	// The fake issues client_id_issued_at in 2023; make this one new.
	reg.ClientIDIssuedAt = time.Now().Unix()
	f.intercept = func(w http.ResponseWriter, r *http.Request, _ int) bool {
		if r.Method == http.MethodGet && len(requestsOf(f, http.MethodGet)) <= 2 {
			writeJSON(w, 404, map[string]any{"error": "not_found"})
			return true
		}
		return false
	}
	if _, err := c.Read(ctx, reg); err != nil {
		t.Errorf("Read of a new client hidden by eventual consistency: %v", err)
	}
	if n := len(requestsOf(f, http.MethodGet)); n != 3 {
		t.Errorf("GETs = %d, want 3", n)
	}

	// An old client that answers 404 is gone at once.
	f.mu.Lock()
	f.requests = nil
	f.mu.Unlock()
	reg.ClientIDIssuedAt = time.Now().Add(-time.Hour).Unix()
	if _, err := c.Read(ctx, reg); !errors.Is(err, ErrNotFound) {
		t.Errorf("err = %v, want ErrNotFound", err)
	}
	if n := len(requestsOf(f, http.MethodGet)); n != 1 {
		t.Errorf("GETs = %d, want 1", n)
	}
}
