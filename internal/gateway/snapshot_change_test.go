package gateway

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
	"github.com/idpgate/terraform-provider-idpgate/internal/redistest"
)

// doHost is h.do with a Host.
func doHost(h *harness, method, path, host, tok string) *http.Response {
	h.t.Helper()
	return h.getAs(method, path, host, "Authorization", "Bearer "+tok)
}

// TestAdminWritesApplyWithoutReload: every kind of admin write is served as soon as it is
// acknowledged, by changing the snapshot, never by reading the whole store again.
func TestAdminWritesApplyWithoutReload(t *testing.T) {
	h := newHarness(t)
	up := newEchoUpstream(t)
	ctx := context.Background()
	tok := h.fake.token("t", token.Identity{ClientID: "app"})
	reloads := h.reloads()

	a := h.createAPI(adminapi.API{Name: "a", ListenPath: "/a", UpstreamURL: up.URL})
	expect(t, h.do("GET", "/a/x", tok), http.StatusForbidden) // routed, no policy yet
	p := h.createPolicy(adminapi.Policy{Name: "p", ClientIDs: []string{"app"},
		AccessRights: []adminapi.AccessRight{{APIID: a.ID, Methods: []string{"GET"}}}})
	expect(t, h.do("GET", "/a/x", tok), http.StatusOK)
	expect(t, h.do("POST", "/a/x", tok), http.StatusForbidden)

	p.AccessRights[0].Methods = []string{"POST"}
	if _, err := h.admin.UpdatePolicy(ctx, p.ID, *p); err != nil {
		t.Fatal(err)
	}
	expect(t, h.do("GET", "/a/x", tok), http.StatusForbidden)
	expect(t, h.do("POST", "/a/x", tok), http.StatusOK)

	a.ListenPath, a.Hosts = "/moved", []string{"api.example"}
	if _, err := h.admin.UpdateAPI(ctx, a.ID, *a); err != nil {
		t.Fatal(err)
	}
	expect(t, h.do("POST", "/a/x", tok), http.StatusNotFound)
	expect(t, h.do("POST", "/moved/x", tok), http.StatusNotFound) // another host
	expect(t, doHost(h, "POST", "/moved/x", "API.example:8080", tok), http.StatusOK)

	// A policy bound by its name in the policy claim, renamed: the old name no longer binds.
	byName := h.fake.token("n", token.Identity{Subject: "s", Policies: []string{"p"}})
	expect(t, doHost(h, "POST", "/moved/x", "api.example", byName), http.StatusOK)
	p.Name, p.ClientIDs = "renamed", []string{"other"}
	if _, err := h.admin.UpdatePolicy(ctx, p.ID, *p); err != nil {
		t.Fatal(err)
	}
	expect(t, doHost(h, "POST", "/moved/x", "api.example", byName), http.StatusForbidden)
	expect(t, doHost(h, "POST", "/moved/x", "api.example", tok), http.StatusForbidden) // client id unbound

	if err := h.admin.DeletePolicy(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if err := h.admin.DeleteAPI(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	expect(t, doHost(h, "POST", "/moved/x", "api.example", tok), http.StatusNotFound)

	if got := h.reloads(); got != reloads {
		t.Errorf("%v full reloads after admin writes, want none", got-reloads)
	}
	if got := h.applied(); got != 7 {
		t.Errorf("%v changes applied to the snapshot, want the 7 writes", got)
	}
	if s := h.gw.config.Snapshot(); s.Entries() != 0 {
		t.Errorf("the snapshot keeps entries of deleted objects: %s", s.Describe())
	}
}

// TestChangedSnapshotEqualsReload: after concurrent random writes (creates, replaces that
// move routes, hosts, names and client ids, deletes), the snapshot the changes built is the
// one a full reload of the store builds; on Redis, with the writes spread over two replicas,
// each catching up with the other's from the change log.
func TestChangedSnapshotEqualsReload(t *testing.T) {
	srv := redistest.Start(t)
	for name, newReplicas := range map[string]func(t *testing.T) []*harness{
		"bolt": func(t *testing.T) []*harness { return []*harness{newHarness(t)} },
		"redis": func(t *testing.T) []*harness {
			return []*harness{newRedisHarness(t, srv.URL, "eq:", newFakeValidators()), newRedisHarness(t, srv.URL, "eq:", newFakeValidators())}
		},
	} {
		t.Run(name, func(t *testing.T) {
			hs := newReplicas(t)
			const writers, each = 8, 40
			var wg sync.WaitGroup
			for w := range writers {
				wg.Go(func() { randomWrites(t, hs[w%len(hs)], rand.New(rand.NewPCG(uint64(w), 1)), each) })
			}
			wg.Wait()
			version, err := hs[0].gw.store.Version()
			if err != nil {
				t.Fatal(err)
			}
			for i, h := range hs {
				for deadline := time.Now().Add(3 * time.Second); h.gw.config.Version() != version; time.Sleep(10 * time.Millisecond) {
					if time.Now().After(deadline) {
						t.Fatalf("replica %d serves version %d, the store is at %d", i, h.gw.config.Version(), version)
					}
				}
				changed := h.gw.config.Snapshot().Describe()
				if err := h.gw.config.Reload(); err != nil {
					t.Fatal(err)
				}
				if reloaded := h.gw.config.Snapshot().Describe(); changed != reloaded {
					t.Errorf("replica %d: the snapshot built by changes differs from a reload:\nchanged:  %s\nreloaded: %s", i, changed, reloaded)
				}
				if h.applied() == 0 {
					t.Errorf("replica %d applied no change without a reload", i)
				}
			}
		})
	}
}

// randomWrites makes n random admin writes among a few names, paths, hosts and clients, so
// that writers collide (409s are expected and ignored).
func randomWrites(t *testing.T, h *harness, r *rand.Rand, n int) {
	ctx := context.Background()
	pick := func(s ...string) string { return s[r.IntN(len(s))] }
	for range n {
		apis, err := h.admin.ListAPIs(ctx)
		if err != nil {
			t.Error(err)
			return
		}
		pols, err := h.admin.ListPolicies(ctx)
		if err != nil {
			t.Error(err)
			return
		}
		api := adminapi.API{Name: pick("a", "b", "c", "d", "e"), ListenPath: pick("/x", "/y", "/z", "/x/y"), UpstreamURL: "http://127.0.0.1:1",
			JWT: &adminapi.JWTValidation{Issuer: "https://idp.example", JWKSURI: pick("https://idp.example/jwks", "https://idp2.example/jwks")}}
		if r.IntN(2) == 0 {
			api.Hosts = []string{pick("h1.example", "h2.example"), "h3.example"}
		}
		pol := adminapi.Policy{Name: pick("p", "q", "r", "s"), ClientIDs: []string{pick("c1", "c2", "c3")}}
		if len(apis) > 0 {
			pol.AccessRights = []adminapi.AccessRight{{APIID: apis[r.IntN(len(apis))].ID}}
		}
		switch op := r.IntN(6); {
		case op == 0 || len(apis) == 0:
			_, err = h.admin.CreateAPI(ctx, api)
		case op == 1:
			_, err = h.admin.UpdateAPI(ctx, apis[r.IntN(len(apis))].ID, api)
		case op == 2:
			err = h.admin.DeleteAPI(ctx, apis[r.IntN(len(apis))].ID)
		case op == 3 || len(pols) == 0:
			_, err = h.admin.CreatePolicy(ctx, pol)
		case op == 4:
			_, err = h.admin.UpdatePolicy(ctx, pols[r.IntN(len(pols))].ID, pol)
		default:
			err = h.admin.DeletePolicy(ctx, pols[r.IntN(len(pols))].ID)
		}
		if ae, ok := err.(*adminapi.Error); err != nil && (!ok || ae.Status >= 500) {
			t.Errorf("admin write: %v", err)
		}
	}
}

// TestRedisReplicasApplyChangesWithoutReload: a replica hears of its own writes (pub/sub,
// the version poll) and does nothing for them; another replica's it applies from the change
// log; neither reloads the configuration.
func TestRedisReplicasApplyChangesWithoutReload(t *testing.T) {
	srv := redistest.Start(t)
	h := newRedisHarness(t, srv.URL, "own:", newFakeValidators())
	other := newRedisHarness(t, srv.URL, "own:", newFakeValidators())
	reloads, otherReloads := h.reloads(), other.reloads()
	for i := range 5 {
		h.createAPI(adminapi.API{Name: fmt.Sprint("a", i), ListenPath: fmt.Sprint("/a", i), UpstreamURL: "http://127.0.0.1:1"})
	}
	time.Sleep(1500 * time.Millisecond) // the messages, and a version poll
	b := other.createAPI(adminapi.API{Name: "b", ListenPath: "/b", UpstreamURL: "http://127.0.0.1:1"})
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if h.gw.config.Snapshot().API(b.ID) != nil && other.gw.config.Snapshot().APIs() == 6 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a replica did not load the other's writes")
		}
	}
	if got := h.reloads(); got != reloads {
		t.Errorf("%v reloads of the replica that wrote 5 APIs and heard of 1, want none", got-reloads)
	}
	if got := other.reloads(); got != otherReloads {
		t.Errorf("%v reloads of the replica that heard of 5 APIs and wrote 1, want none", got-otherReloads)
	}
}
