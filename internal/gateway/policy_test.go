package gateway

import (
	"testing"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
)

func TestPathPatterns(t *testing.T) {
	cases := []struct {
		pattern string
		match   []string
		noMatch []string
	}{
		{"/", []string{"/"}, []string{"/x"}},
		{"/items", []string{"/items", "/items/"}, []string{"/", "/items/1", "/itemsx", "/item"}},
		{"/items/*", []string{"/items/1", "/items/abc/"}, []string{"/items", "/items/", "/items/1/2"}},
		{"/items/*/parts", []string{"/items/1/parts"}, []string{"/items//parts", "/items/1/parts/2"}},
		{"/admin/**", []string{"/admin", "/admin/", "/admin/a", "/admin/a/b/c"}, []string{"/administrator", "/"}},
		{"/**", []string{"/", "/a", "/a/b"}, nil},
	}
	for _, tc := range cases {
		if err := adminapi.ValidatePathPattern(tc.pattern); err != nil {
			t.Fatalf("%s: %v", tc.pattern, err)
		}
		pp := compilePattern(tc.pattern)
		for _, p := range tc.match {
			if !pp.match(p) {
				t.Errorf("%q should match %q", tc.pattern, p)
			}
		}
		for _, p := range tc.noMatch {
			if pp.match(p) {
				t.Errorf("%q should not match %q", tc.pattern, p)
			}
		}
	}
}

func TestMethodSet(t *testing.T) {
	get := methodBit("GET")
	if !get.allows(methodBit("GET")) || get.allows(methodBit("POST")) || get.allows(methodBit("PROPFIND")) {
		t.Error("a GET-only set")
	}
	var all methodSet
	if !all.allows(methodBit("PROPFIND")) || !all.allows(methodBit("DELETE")) {
		t.Error("an empty set allows every method")
	}
}

func TestAuthorizePrefersFirstGrantingPolicy(t *testing.T) {
	idx := policyIndexOf([]adminapi.Policy{
		{ID: "pol_a", Name: "reader", ClientIDs: []string{"app"}, AccessRights: []adminapi.AccessRight{{APIID: "api1", Methods: []string{"GET"}}}},
		{ID: "pol_b", Name: "writer", ClientIDs: []string{"app"}, AccessRights: []adminapi.AccessRight{{APIID: "api1", Methods: []string{"POST"}}}},
	})
	now := time.Now()
	id := &token.Identity{ClientID: "app"}
	if p, v, _ := idx.authorize("api1", id, "POST", "/", now, nil); v != verdictAllowed || p.id != "pol_b" {
		t.Errorf("POST: %v %v", p, v)
	}
	if p, v, _ := idx.authorize("api1", id, "GET", "/", now, nil); v != verdictAllowed || p.id != "pol_a" {
		t.Errorf("GET: %v %v", p, v)
	}
	if _, v, _ := idx.authorize("api2", id, "GET", "/", now, nil); v != verdictDenied {
		t.Errorf("other API: %v", v)
	}
}

// The documented order: the policies bound to the token's client id are tried before the
// ones its policy claim names, so a token cannot pick looser limits by naming a policy.
func TestAuthorizeTriesClientBindingsBeforeThePolicyClaim(t *testing.T) {
	grant := []adminapi.AccessRight{{APIID: "api1"}}
	idx := policyIndexOf([]adminapi.Policy{
		{ID: "pol_a", Name: "unlimited", AccessRights: grant},
		{ID: "pol_b", Name: "bound", ClientIDs: []string{"app"}, AccessRights: grant,
			RateLimit: &adminapi.Limit{Requests: 1, Per: adminapi.Duration(time.Minute)}},
	})
	id := &token.Identity{ClientID: "app", Policies: []string{"unlimited"}}
	if p, v, _ := idx.authorize("api1", id, "GET", "/", time.Now(), nil); v != verdictAllowed || p.id != "pol_b" {
		t.Errorf("decided by %+v (%v), want pol_b, the policy bound to the client id", p, v)
	}
	// The claim still counts when no bound policy grants the request.
	id.ClientID = "other-app"
	if p, v, _ := idx.authorize("api1", id, "GET", "/", time.Now(), nil); v != verdictAllowed || p.id != "pol_a" {
		t.Errorf("decided by %+v (%v), want pol_a, named by the policy claim", p, v)
	}
}

// A policy claim value is a policy id or a name; when one policy's name equals another's
// id, the id wins, whichever of the two sorts first.
func TestPolicyClaimIDIsNotShadowedByAName(t *testing.T) {
	for _, tc := range []struct {
		name     string
		policies []adminapi.Policy
	}{
		{"name holder sorts later", []adminapi.Policy{
			{ID: "pol_a", Name: "real", AccessRights: []adminapi.AccessRight{{APIID: "api1"}}},
			{ID: "pol_z", Name: "pol_a", AccessRights: []adminapi.AccessRight{{APIID: "api2"}}},
		}},
		{"name holder sorts first", []adminapi.Policy{
			{ID: "pol_0", Name: "pol_a", AccessRights: []adminapi.AccessRight{{APIID: "api2"}}},
			{ID: "pol_a", Name: "real", AccessRights: []adminapi.AccessRight{{APIID: "api1"}}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			idx := policyIndexOf(tc.policies)
			id := &token.Identity{Policies: []string{"pol_a"}}
			if p, v, _ := idx.authorize("api1", id, "GET", "/", time.Now(), nil); v != verdictAllowed || p.id != "pol_a" {
				t.Errorf("api1: %+v (%v), want allowed by policy id pol_a", p, v)
			}
			if _, v, _ := idx.authorize("api2", id, "GET", "/", time.Now(), nil); v != verdictDenied {
				t.Errorf("api2: %v, want denied: the claim names policy id pol_a, not the policy named pol_a", v)
			}
		})
	}
}

func policyIndexOf(policies []adminapi.Policy) policyIndex {
	idx := newPolicyIndex()
	for _, p := range policies {
		idx = idx.with(compilePolicy(p))
	}
	return idx
}
