package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/redistest"
)

// backends runs fn against a bbolt store and a Redis store.
func backends(t *testing.T, fn func(t *testing.T, s *Store)) {
	srv := redistest.Start(t)
	t.Run("bolt", func(t *testing.T) { fn(t, openBoltT(t)) })
	t.Run("redis", func(t *testing.T) { fn(t, openRedisT(t, srv.URL, "idx-"+t.Name()+":")) })
}

// TestListPages: lists come in id order, limit at a time, each page saying where the next
// one starts.
func TestListPages(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		var want []string
		for _, n := range []string{"a", "b", "c", "d", "e"} {
			a, _, err := s.CreateAPI(jwtAPI(n, "/"+n))
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, a.ID)
		}
		var got []string
		pages := 0
		for after := ""; ; pages++ {
			page, next, err := s.ListAPIs(after, 2)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range page {
				got = append(got, a.ID)
			}
			if after = next; after == "" {
				break
			}
		}
		slices.Sort(want)
		if pages != 2 || !slices.Equal(got, want) {
			t.Errorf("pages of 2: %v in %d pages after the first, want %v in 2", got, pages, want)
		}
		if all, next, err := s.ListAPIs("", 0); err != nil || len(all) != 5 || next != "" {
			t.Errorf("no limit: %d APIs, next %q, %v", len(all), next, err)
		}
		if page, next, err := s.ListAPIs(want[4], 2); err != nil || len(page) != 0 || next != "" {
			t.Errorf("after the last id: %v, next %q, %v", page, next, err)
		}
	})
}

// TestIndexesFollowReplaceAndDelete: what a replace or delete frees (a name, a route, a
// grant) is free again, and what it takes is taken.
func TestIndexesFollowReplaceAndDelete(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		a, _, _ := s.CreateAPI(jwtAPI("a", "/a"))
		b, _, _ := s.CreateAPI(jwtAPI("b", "/b"))
		moved := jwtAPI("a2", "/a2")
		moved.Hosts = []string{"x.example", "Y.example."}
		if _, _, err := s.ReplaceAPI(a.ID, moved); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.CreateAPI(jwtAPI("a", "/a")); err != nil {
			t.Errorf("the name and path a replace freed: %v", err)
		}
		clash := jwtAPI("c", "/a2")
		clash.Hosts = []string{"y.example"}
		_, _, err := s.CreateAPI(clash)
		wantStatus(t, "a host and path a replace took", err, http.StatusConflict, "hosts")
		clash.Hosts = nil
		if _, _, err := s.CreateAPI(clash); err != nil {
			t.Errorf("the same path without hosts does not compete: %v", err)
		}

		p, _, err := s.CreatePolicy(adminapi.Policy{Name: "p", AccessRights: grant(a.ID, a.ID)})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.ReplacePolicy(p.ID, adminapi.Policy{Name: "p2", AccessRights: grant(b.ID)}); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, "delete the API the policy now grants", del(s.DeleteAPI(b.ID)), http.StatusConflict, "")
		if _, _, err := s.CreatePolicy(adminapi.Policy{Name: "p"}); err != nil {
			t.Errorf("the policy name a replace freed: %v", err)
		}
		if err := del(s.DeleteAPI(a.ID)); err != nil {
			t.Errorf("delete the API the policy no longer grants: %v", err)
		}
		if err := del(s.DeletePolicy(p.ID)); err != nil {
			t.Fatal(err)
		}
		if err := del(s.DeleteAPI(b.ID)); err != nil {
			t.Errorf("delete once its policy is gone: %v", err)
		}
	})
}

// legacy is a configuration as stores before the indexes held it.
func legacy() (apis map[string][]byte, policies map[string][]byte) {
	a := jwtAPI("a", "/a")
	a.ID = "api_legacy"
	p := adminapi.Policy{ID: "pol_legacy", Name: "p", AccessRights: grant(a.ID)}
	ra, _ := json.Marshal(a)
	rp, _ := json.Marshal(p)
	return map[string][]byte{a.ID: ra}, map[string][]byte{p.ID: rp}
}

// checkLegacyIndexed: the legacy objects are listed, and the checks see them.
func checkLegacyIndexed(t *testing.T, s *Store) {
	t.Helper()
	if apis, _, err := s.ListAPIs("", 0); err != nil || len(apis) != 1 {
		t.Errorf("list after opening: %v, %v", apis, err)
	}
	_, _, err := s.CreateAPI(jwtAPI("a", "/other"))
	wantStatus(t, "an API name the legacy store holds", err, http.StatusConflict, "name")
	_, _, err = s.CreateAPI(jwtAPI("other", "/a"))
	wantStatus(t, "a path the legacy store holds", err, http.StatusConflict, "listen_path")
	wantStatus(t, "delete a granted legacy API", del(s.DeleteAPI("api_legacy")), http.StatusConflict, "")
}

// TestLegacyStoreIsIndexedOnOpen: a store written before the indexes existed is indexed
// when opened, on both backends.
func TestLegacyStoreIsIndexedOnOpen(t *testing.T) {
	apis, pols := legacy()
	t.Run("bolt", func(t *testing.T) {
		dir := t.TempDir()
		db, err := bolt.Open(filepath.Join(dir, DBFileName), 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = db.Update(func(tx *bolt.Tx) error {
			for name, objs := range map[string]map[string][]byte{"apis": apis, "policies": pols} {
				b, err := tx.CreateBucket([]byte(name))
				if err != nil {
					return err
				}
				for id, raw := range objs {
					if err := b.Put([]byte(id), raw); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil || db.Close() != nil {
			t.Fatal(err)
		}
		s, err := OpenBolt(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		checkLegacyIndexed(t, s)
	})
	t.Run("redis", func(t *testing.T) {
		srv := redistest.Start(t)
		ctx := context.Background()
		for key, objs := range map[string]map[string][]byte{"{config}:apis": apis, "{config}:policies": pols} {
			for id, raw := range objs {
				if err := srv.Client().HSet(ctx, DefaultKeyPrefix+key, id, raw).Err(); err != nil {
					t.Fatal(err)
				}
			}
		}
		checkLegacyIndexed(t, openRedisT(t, srv.URL, ""))
	})
}

// TestGroupCommit: concurrent bbolt writes each get their own version, and one whose check
// fails inside a group is refused alone while the others commit.
func TestGroupCommit(t *testing.T) {
	s := openBoltT(t)
	const n = 40
	versions := make([]int64, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			name := fmt.Sprint("api-", i)
			if i == n-1 {
				name = "api-0" // i == 0's name: exactly one of the two wins
			}
			_, versions[i], errs[i] = s.CreateAPI(jwtAPI(name, fmt.Sprint("/path-", i)))
		})
	}
	wg.Wait()
	seen := map[int64]bool{}
	failed := 0
	for i := range n {
		if errs[i] != nil {
			failed++
			wantStatus(t, "the duplicate name", errs[i], http.StatusConflict, "name")
			continue
		}
		if seen[versions[i]] || versions[i] < 1 || versions[i] > n-1 {
			t.Errorf("write %d committed as version %d: not unique in 1..%d", i, versions[i], n-1)
		}
		seen[versions[i]] = true
	}
	if failed != 1 {
		t.Errorf("%d writes failed, want the 1 duplicate", failed)
	}
	if v, err := s.Version(); err != nil || v != n-1 {
		t.Errorf("stored version %d, %v; want %d", v, err, n-1)
	}
	if apis, _, _ := s.ListAPIs("", 0); len(apis) != n-1 {
		t.Errorf("%d APIs stored, want %d", len(apis), n-1)
	}
}

// TestChangesSince: the Redis change log gives the current state of each object written
// since a version, and refuses (ErrNoChangeLog) what it cannot tell: an import or migration
// that emptied tables, a version written without an entry, a bbolt store.
func TestChangesSince(t *testing.T) {
	srv := redistest.Start(t)
	s := openRedisT(t, srv.URL, "log:")
	start, err := s.Version() // the indexing on open emptied the tables
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.ChangesSince(start - 1); !errors.Is(err, ErrNoChangeLog) {
		t.Errorf("since before the indexing: %v, want ErrNoChangeLog", err)
	}
	a, _, _ := s.CreateAPI(jwtAPI("a", "/a"))
	p, _, _ := s.CreatePolicy(adminapi.Policy{Name: "p", AccessRights: grant(a.ID)})
	if err := del(s.DeletePolicy(p.ID)); err != nil {
		t.Fatal(err)
	}
	v, changed, err := s.ChangesSince(start)
	if err != nil || v != start+3 || len(changed) != 2 {
		t.Fatalf("since %d: version %d, %+v, %v; want version %d and 2 objects", start, v, changed, err, start+3)
	}
	if changed[0].APIID != a.ID || changed[0].API == nil || changed[0].API.Name != "a" || changed[1].PolicyID != p.ID || changed[1].Policy != nil {
		t.Errorf("changes: %+v; want API a as stored and policy p deleted", changed)
	}
	if err := srv.Client().Incr(context.Background(), "log:{config}:version").Err(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.ChangesSince(start); !errors.Is(err, ErrNoChangeLog) {
		t.Errorf("with a version written without an entry: %v, want ErrNoChangeLog", err)
	}
	if _, _, err := openBoltT(t).ChangesSince(0); !errors.Is(err, ErrNoChangeLog) {
		t.Errorf("bbolt: %v, want ErrNoChangeLog", err)
	}
}

// TestRedisRefusalStraddlingACommitIsRetried: a write's reads are separate commands, so
// another replica can commit between two of them (here: delete the API a route index entry
// names). What fn concludes from such reads (a 409, or an index entry without its object) is
// not answered: fn runs again on the new state.
func TestRedisRefusalStraddlingACommitIsRetried(t *testing.T) {
	srv := redistest.Start(t)
	s1, s2 := openRedisT(t, srv.URL, "straddle:"), openRedisT(t, srv.URL, "straddle:")
	a, _, err := s1.CreateAPI(jwtAPI("a", "/a"))
	if err != nil {
		t.Fatal(err)
	}
	runs := 0
	_, err = s1.update(func(tx txn) error {
		runs++
		owner, err := tx.get(tableAPIRoutes, routeKeys(a)[0])
		if err != nil || owner == nil {
			return err
		}
		if runs == 1 { // another replica commits between this transaction's reads
			if err := del(s2.DeleteAPI(a.ID)); err != nil {
				return err
			}
		}
		if api, err := getJSON[adminapi.API](tx, tableAPIs, string(owner)); err != nil || api == nil {
			return fmt.Errorf("the route index names %s, which is not stored (%v)", owner, err)
		}
		return conflict("listen_path", "taken by %s", owner)
	})
	if err != nil || runs != 2 {
		t.Errorf("a write whose reads straddled a commit: %v after %d runs; want it run again and succeed", err, runs)
	}
}
