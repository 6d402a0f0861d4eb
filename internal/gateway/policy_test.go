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
	if p, v, _ := idx.authorize("api1", id, "POST", "/", now); v != verdictAllowed || p.id != "pol_b" {
		t.Errorf("POST: %v %v", p, v)
	}
	if p, v, _ := idx.authorize("api1", id, "GET", "/", now); v != verdictAllowed || p.id != "pol_a" {
		t.Errorf("GET: %v %v", p, v)
	}
	if _, v, _ := idx.authorize("api2", id, "GET", "/", now); v != verdictDenied {
		t.Errorf("other API: %v", v)
	}
}

func TestLimiterRefillsAndSweeps(t *testing.T) {
	l := newLimiter()
	p := compilePolicy(adminapi.Policy{ID: "pol", RateLimit: &adminapi.Limit{Requests: 2, Per: adminapi.Duration(time.Second)}})
	now := time.Now()
	for i, want := range []bool{true, true, false} {
		if got := l.take(p, "c", now).allowed; got != want {
			t.Fatalf("request %d: allowed=%v", i, got)
		}
	}
	if r := l.take(p, "c", now.Add(500*time.Millisecond)); !r.allowed || r.remaining != 0 {
		t.Errorf("after half a period one token is back: %+v", r)
	}
	// idle, full entries are dropped when a shard grows
	for i := 0; i < 3*minSweepAt*limiterShards/limiterShards; i++ {
		l.take(p, "client-"+string(rune('a'+i%26))+time.Duration(i).String(), now)
	}
	later := now.Add(2 * tooOldToRemain)
	total := 0
	for i := range l.shards {
		l.shards[i].mu.Lock()
		l.shards[i].sweep(later)
		total += len(l.shards[i].entries)
		l.shards[i].mu.Unlock()
	}
	if total != 0 {
		t.Errorf("%d idle entries survived a sweep", total)
	}
}

func policyIndexOf(policies []adminapi.Policy) policyIndex {
	idx := newPolicyIndex()
	for _, p := range policies {
		idx = idx.with(compilePolicy(p))
	}
	return idx
}
