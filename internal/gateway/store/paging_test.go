package store

import (
	"fmt"
	"slices"
	"testing"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/redistest"
)

// TestRedisScanPagesPastOneBatch: with more objects than one ZRANGE of a scan returns
// (scanBatch), a list, a paged list and a full load each see every object exactly once.
func TestRedisScanPagesPastOneBatch(t *testing.T) {
	srv := redistest.Start(t)
	s := openRedisT(t, srv.URL, "paging:")
	n := 2*scanBatch + 1
	var want []string
	for i := range n {
		a, _, err := s.CreateAPI(jwtAPI(fmt.Sprintf("api-%04d", i), fmt.Sprintf("/p%04d", i)))
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, a.ID)
	}
	slices.Sort(want)

	all, next, err := s.ListAPIs("", 0)
	if err != nil || next != "" {
		t.Fatalf("ListAPIs: next %q, %v", next, err)
	}
	if got := idsOf(all); !slices.Equal(got, want) {
		t.Errorf("one list: %d APIs (%d distinct), want the %d created, once each", len(got), len(slices.Compact(slices.Clone(got))), n)
	}

	var paged []string
	for after := ""; ; {
		page, next, err := s.ListAPIs(after, 333) // pages that straddle the scan's batches
		if err != nil {
			t.Fatal(err)
		}
		paged = append(paged, idsOf(page)...)
		if after = next; after == "" {
			break
		}
	}
	if !slices.Equal(paged, want) {
		t.Errorf("pages of 333: %d APIs, want the %d created, once each, in order", len(paged), n)
	}

	cfg, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.APIs) != n {
		t.Errorf("Load: %d APIs, want %d", len(cfg.APIs), n)
	}
}

func idsOf(apis []adminapi.API) []string {
	ids := make([]string, len(apis))
	for i, a := range apis {
		ids[i] = a.ID
	}
	return ids
}
