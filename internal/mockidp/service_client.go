package mockidp

import "testing"

// RegisterServiceClient registers a client_credentials client named "svc" with scope directly
// at s, without the registration endpoint, for tests that need a client Terraform did not make.
func (s *Server) RegisterServiceClient(t testing.TB, scope string) ClientRecord {
	t.Helper()
	rec, err := s.RegisterClient(map[string]any{
		"client_name": "svc", "grant_types": []any{"client_credentials"}, "response_types": []any{}, "scope": scope})
	if err != nil {
		t.Fatal(err)
	}
	return rec
}
