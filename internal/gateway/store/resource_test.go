package store

import (
	"net/http"
	"testing"
)

// TestResourceClaimedOnce: two APIs cannot claim one resource, nor two resources whose
// metadata would be served at one URL (the same host on another port); a resource is free
// again once its API lets go of it, and an API keeps its own on a replace.
func TestResourceClaimedOnce(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		a := jwtAPI("a", "/mcp")
		a.Resource = "https://mcp.example.com/mcp"
		created, _, err := s.CreateAPI(a)
		if err != nil {
			t.Fatal(err)
		}
		b := jwtAPI("b", "/mcp/b")
		b.Resource = "https://mcp.example.com/mcp"
		_, _, err = s.CreateAPI(b)
		wantStatus(t, "the same resource", err, http.StatusConflict, "resource")
		b.Resource = "https://mcp.example.com:8443/mcp"
		_, _, err = s.CreateAPI(b)
		wantStatus(t, "the same host on another port", err, http.StatusConflict, "resource")
		b.Resource = "https://mcp.example.com/mcp/b"
		other, _, err := s.CreateAPI(b)
		if err != nil {
			t.Fatalf("a resource of its own: %v", err)
		}
		b.Resource = "https://mcp.example.com/mcp"
		_, _, err = s.ReplaceAPI(other.ID, b)
		wantStatus(t, "a replace taking another API's resource", err, http.StatusConflict, "resource")

		a.Name = "a2" // a replace that keeps its resource
		if _, _, err := s.ReplaceAPI(created.ID, a); err != nil {
			t.Fatalf("replace keeping the resource: %v", err)
		}
		a.Resource = ""
		if _, _, err := s.ReplaceAPI(created.ID, a); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.ReplaceAPI(other.ID, b); err != nil {
			t.Errorf("the resource let go of is free again: %v", err)
		}
		if _, err := s.DeleteAPI(other.ID); err != nil {
			t.Fatal(err)
		}
		a.Resource = "https://mcp.example.com/mcp"
		if _, _, err := s.ReplaceAPI(created.ID, a); err != nil {
			t.Errorf("the resource of a deleted API is free again: %v", err)
		}
	})
}
