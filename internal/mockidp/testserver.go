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
