package dcr

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeIdP is a small RFC 7591/7592 server for these tests: it records what it received and
// lets a test answer any request itself through intercept.
type fakeIdP struct {
	t   *testing.T
	srv *httptest.Server

	mu        sync.Mutex
	requests  []recorded
	clients   map[string]map[string]any
	tokens    map[string]string // client_id -> current registration access token
	next      int
	rotate    bool // issue a new registration access token on every GET and PUT
	omitRead  bool // GET answers leave out client_secret
	intercept func(w http.ResponseWriter, r *http.Request, n int) bool
}

type recorded struct {
	Method, Path string
	Header       http.Header
	Body         map[string]any
}

func newFakeIdP(t *testing.T) *fakeIdP {
	f := &fakeIdP{t: t, clients: map[string]map[string]any{}, tokens: map[string]string{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeIdP) issuer() string   { return f.srv.URL }
func (f *fakeIdP) endpoint() string { return f.srv.URL + "/register" }

func (f *fakeIdP) recorded() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.requests...)
}

func (f *fakeIdP) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	var body map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &body); err != nil {
			f.t.Errorf("request body is not a JSON object: %v", err)
		}
	}
	f.mu.Lock()
	f.requests = append(f.requests, recorded{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
	n := len(f.requests)
	intercept := f.intercept
	f.mu.Unlock()
	if intercept != nil && intercept(w, r, n) {
		return
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.URL.Path == "/.well-known/openid-configuration":
		writeJSON(w, 200, map[string]any{"issuer": f.srv.URL, "registration_endpoint": f.endpoint(),
			"token_endpoint": f.srv.URL + "/token"})
	case r.URL.Path == "/register" && r.Method == http.MethodPost:
		f.next++
		id := fmt.Sprintf("client-%d", f.next)
		c := map[string]any{}
		for k, v := range body {
			c[k] = v
		}
		c["client_id"] = id
		c["client_secret"] = "secret-" + id
		c["client_id_issued_at"] = 1700000000
		c["client_secret_expires_at"] = 0
		f.clients[id] = c
		f.tokens[id] = "rat-" + id + "-1"
		writeJSON(w, 201, f.answer(id, true))
	case strings.HasPrefix(r.URL.Path, "/register/"):
		id := strings.TrimPrefix(r.URL.Path, "/register/")
		c, ok := f.clients[id]
		if !ok || r.Header.Get("Authorization") != "Bearer "+f.tokens[id] {
			writeJSON(w, 401, map[string]any{"error": "invalid_token"})
			return
		}
		switch r.Method {
		case http.MethodGet:
			if f.rotate {
				f.tokens[id] += "r"
			}
			writeJSON(w, 200, f.answer(id, !f.omitRead))
		case http.MethodPut:
			next := map[string]any{"client_id": id, "client_secret": c["client_secret"],
				"client_id_issued_at": c["client_id_issued_at"], "client_secret_expires_at": 0}
			for k, v := range body {
				if k != "client_secret" {
					next[k] = v
				}
			}
			f.clients[id] = next
			if f.rotate {
				f.tokens[id] += "u"
			}
			writeJSON(w, 200, f.answer(id, false))
		case http.MethodDelete:
			delete(f.clients, id)
			w.WriteHeader(http.StatusNoContent)
		}
	default:
		http.NotFound(w, r)
	}
}

// answer is the client's registration as the IdP returns it; callers hold f.mu.
func (f *fakeIdP) answer(id string, withSecret bool) map[string]any {
	out := map[string]any{}
	for k, v := range f.clients[id] {
		out[k] = v
	}
	if !withSecret {
		delete(out, "client_secret")
	}
	out["registration_access_token"] = f.tokens[id]
	out["registration_client_uri"] = f.endpoint() + "/" + id
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// dropConnection closes the connection without an answer, after the request was read.
func dropConnection(t *testing.T, w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		t.Errorf("response writer cannot be hijacked")
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		t.Errorf("hijack: %v", err)
		return
	}
	_ = conn.Close()
}

// newTestClient is a Client against f with fast retries.
// registered registers a client named "a" through c, failing t when that fails.
func registered(t *testing.T, c *Client) Registration {
	t.Helper()
	reg, err := c.Register(t.Context(), Metadata{ClientName: "a"})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func newTestClient(t *testing.T, f *fakeIdP, cfg Config) *Client {
	t.Helper()
	if cfg.Issuer == "" && cfg.RegistrationEndpoint == "" {
		cfg.Issuer = f.issuer()
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 3
	}
	cfg.RetryWaitMin, cfg.RetryWaitMax = time.Millisecond, 5*time.Millisecond
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 2 * time.Second}
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}
