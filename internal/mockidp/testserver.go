package mockidp

import (
	"net"
	"net/http/httptest"
	"testing"
)

// NewTestServer starts the IdP on a loopback port, sets its issuer to the listener's URL
// and closes it when the test ends.
func NewTestServer(t testing.TB, opts Options) *Server {
	t.Helper()
	s := New(opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mockidp: listen on 127.0.0.1: %v", err)
	}
	ts := &httptest.Server{Listener: ln, Config: newHTTPServer(s)}
	ts.Start()
	s.test = ts
	s.SetIssuer(ts.URL)
	t.Cleanup(s.Close)
	return s
}

// ServiceClient registers a client_credentials client named "svc" with scope directly, as an
// administrator would, for a test; it fails t when the IdP refuses it.
func (s *Server) ServiceClient(t testing.TB, scope string) ClientRecord {
	t.Helper()
	rec, err := s.RegisterClient(map[string]any{
		"client_name": "svc", "grant_types": []any{"client_credentials"}, "response_types": []any{}, "scope": scope})
	if err != nil {
		t.Fatal(err)
	}
	return rec
}
