package mockidp

import (
	"bytes"
	"io"
	"net/http"
	"slices"
)

// maxRecordedRequests bounds the request log; the oldest entries go first.
const maxRecordedRequests = 10000

// RecordedRequest is one request the server received, in arrival order.
type RecordedRequest struct {
	Method string
	Path   string
	Header http.Header
	// Body is the request body as received (at most 1 MiB), secrets included, so that a test
	// can look for them in logs.
	Body []byte
	// Status is the answer's status code; 0 when the connection was dropped by a fault or
	// the handler has not answered yet.
	Status int
}

// statusRecorder logs the status a handler writes, before the first byte leaves, so a test
// that has read an answer always finds its status in the log. Unwrap lets
// http.ResponseController reach the underlying connection (for the drop fault).
type statusRecorder struct {
	http.ResponseWriter
	server  *Server
	entry   *RecordedRequest
	written bool
}

func (r *statusRecorder) WriteHeader(status int) {
	r.setStatus(status)
	r.ResponseWriter.WriteHeader(status)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.setStatus(http.StatusOK)
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) setStatus(status int) {
	if r.written {
		return
	}
	r.written = true
	r.server.mu.Lock()
	r.entry.Status = status
	r.server.mu.Unlock()
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// recordRequest reads the (bounded) body, replaces it so handlers can read it again, and
// appends the request to the log at arrival, so the log keeps arrival order. It returns the
// writer that logs the answer's status; ok is false when the body exceeds the bound.
func (s *Server) recordRequest(w http.ResponseWriter, r *http.Request) (*statusRecorder, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	r.Body = io.NopCloser(bytes.NewReader(body))
	entry := &RecordedRequest{
		Method: r.Method,
		Path:   r.URL.Path,
		Header: r.Header.Clone(),
		Body:   body,
	}
	s.mu.Lock()
	if len(s.requests) >= maxRecordedRequests { // a long-running `idpgate mock-idp`
		s.requests = slices.Delete(s.requests, 0, len(s.requests)-maxRecordedRequests+1)
	}
	s.requests = append(s.requests, entry)
	s.mu.Unlock()
	return &statusRecorder{ResponseWriter: w, server: s, entry: entry}, err == nil
}

// Requests returns copies of every recorded request (the last 10,000), in arrival order.
func (s *Server) Requests() []RecordedRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]RecordedRequest, 0, len(s.requests))
	for _, e := range s.requests {
		out = append(out, RecordedRequest{
			Method: e.Method,
			Path:   e.Path,
			Header: e.Header.Clone(),
			Body:   bytes.Clone(e.Body),
			Status: e.Status,
		})
	}
	return out
}

// RequestsTo returns the recorded requests with this method to this endpoint URL (as given
// by TokenEndpoint, RegistrationEndpoint and the like), in arrival order.
func (s *Server) RequestsTo(method, endpoint string) []RecordedRequest {
	issuer := s.URL()
	var out []RecordedRequest
	for _, r := range s.Requests() {
		if r.Method == method && issuer+r.Path == endpoint {
			out = append(out, r)
		}
	}
	return out
}

// ResetRequests forgets every recorded request.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}
