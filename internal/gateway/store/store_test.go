package store

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/redistest"
)

func openRedisT(t *testing.T, url, prefix string) *Store {
	t.Helper()
	s, err := OpenRedis(context.Background(), RedisOptions{URL: url, KeyPrefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func openBoltT(t *testing.T) *Store {
	t.Helper()
	s, err := OpenBolt(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func jwtAPI(name, path string) adminapi.API {
	return adminapi.API{Name: name, ListenPath: path, UpstreamURL: "http://127.0.0.1:1",
		JWT: &adminapi.JWTValidation{Issuer: "https://idp.example", JWKSURI: "https://idp.example/jwks"}}
}

func grant(apiIDs ...string) []adminapi.AccessRight {
	var out []adminapi.AccessRight
	for _, id := range apiIDs {
		out = append(out, adminapi.AccessRight{APIID: id})
	}
	return out
}

func wantStatus(t *testing.T, what string, err error, status int, field string) {
	t.Helper()
	var ae *adminapi.Error
	if !errors.As(err, &ae) || ae.Status != status || ae.Field != field {
		t.Errorf("%s: %v, want HTTP %d on field %q", what, err, status, field)
	}
}

// TestStoreChecks: both backends enforce the same rules, written once in store.go.
func TestStoreChecks(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		a, _, err := s.CreateAPI(jwtAPI("a", "/a"))
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = s.CreateAPI(jwtAPI("a", "/other"))
		wantStatus(t, "same name", err, http.StatusConflict, "name")
		_, _, err = s.CreateAPI(jwtAPI("b", "/a/"))
		wantStatus(t, "same listen path, normalized", err, http.StatusConflict, "listen_path")
		_, _, err = s.CreatePolicy(adminapi.Policy{Name: "p", AccessRights: grant(a.ID, "api_unknown")})
		wantStatus(t, "grant of an unknown API", err, http.StatusConflict, "access_rights[1].api_id")
		p, _, err := s.CreatePolicy(adminapi.Policy{Name: "p", AccessRights: grant(a.ID)})
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = s.CreatePolicy(adminapi.Policy{Name: "p"})
		wantStatus(t, "same policy name", err, http.StatusConflict, "name")
		wantStatus(t, "delete a granted API", del(s.DeleteAPI(a.ID)), http.StatusConflict, "")
		wantStatus(t, "delete an unknown API", del(s.DeleteAPI("api_nope")), http.StatusNotFound, "")
		_, err = s.GetPolicy("pol_nope")
		wantStatus(t, "get an unknown policy", err, http.StatusNotFound, "")

		in := jwtAPI("i", "/i")
		in.JWT, in.Introspection = nil, &adminapi.Introspection{Endpoint: "https://idp.example/introspect", ClientID: "gw", ClientSecret: "s3cret"}
		i, _, err := s.CreateAPI(in)
		if err != nil {
			t.Fatal(err)
		}
		in.Introspection.ClientSecret = ""
		if _, _, err := s.ReplaceAPI(i.ID, in); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetAPI(i.ID); got == nil || got.Introspection.ClientSecret != "s3cret" {
			t.Errorf("a PUT without client_secret must keep the stored one: %+v", got)
		}

		if err := del(s.DeletePolicy(p.ID)); err != nil {
			t.Fatal(err)
		}
		if err := del(s.DeleteAPI(a.ID)); err != nil {
			t.Errorf("delete once no policy grants it: %v", err)
		}
		cfg, err := s.Load()
		if err != nil || len(cfg.APIs) != 1 || len(cfg.Policies) != 0 {
			t.Errorf("Load: %d APIs, %d policies, %v; want 1, 0", len(cfg.APIs), len(cfg.Policies), err)
		}
	})
}

// TestRedisChecksHoldAcrossReplicas: two stores (two replicas' connections) racing on one
// Redis never both win a unique name, and never leave a grant of a deleted API.
func TestRedisChecksHoldAcrossReplicas(t *testing.T) {
	srv := redistest.Start(t)
	// What is tested is who wins, not how fast: with the default 500ms per call, a CI machine
	// at full load (the race detector, a niced redis-server) once timed a call out.
	slowOK := srv.URL + "?read_timeout=5s&write_timeout=5s"
	s1, s2 := openRedisT(t, slowOK, ""), openRedisT(t, slowOK, "")

	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 16 {
		s := []*Store{s1, s2}[i%2]
		wg.Go(func() {
			_, _, err := s.CreateAPI(jwtAPI("same", "/same"))
			switch {
			case err == nil:
				wins.Add(1)
			case !errors.As(err, new(*adminapi.Error)):
				t.Errorf("create: %v", err)
			}
		})
	}
	wg.Wait()
	if n := wins.Load(); n != 1 {
		t.Errorf("%d concurrent creates of one name succeeded, want 1", n)
	}

	for round := range 20 {
		a, _, err := s1.CreateAPI(jwtAPI("r", "/r"))
		if err != nil {
			t.Fatal(err)
		}
		var delErr, polErr error
		var p *adminapi.Policy
		var wg sync.WaitGroup
		wg.Go(func() { delErr = del(s1.DeleteAPI(a.ID)) })
		wg.Go(func() { p, _, polErr = s2.CreatePolicy(adminapi.Policy{Name: "g", AccessRights: grant(a.ID)}) })
		wg.Wait()
		if delErr == nil && polErr == nil {
			t.Fatalf("round %d: the API was deleted and a policy granting it was created", round)
		}
		if polErr == nil {
			if err := del(s2.DeletePolicy(p.ID)); err != nil {
				t.Fatal(err)
			}
		}
		if delErr != nil {
			if err := del(s1.DeleteAPI(a.ID)); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestRedisUnavailable: with Redis stopped, reads and writes fail with ErrUnavailable and
// change nothing; once it is back they work again with the same client.
func TestRedisUnavailable(t *testing.T) {
	srv := redistest.Start(t)
	s := openRedisT(t, srv.URL, "")
	if _, _, err := s.CreateAPI(jwtAPI("kept", "/kept")); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	if _, _, err := s.CreateAPI(jwtAPI("lost", "/lost")); !errors.Is(err, ErrUnavailable) {
		t.Errorf("create with Redis down: %v, want ErrUnavailable", err)
	}
	if _, err := s.Load(); !errors.Is(err, ErrUnavailable) {
		t.Errorf("load with Redis down: %v, want ErrUnavailable", err)
	}
	if s.Up() {
		t.Error("Up() with Redis down")
	}
	srv.StartAgain()
	cfg, err := s.Load()
	if err != nil || len(cfg.APIs) != 1 || cfg.APIs[0].Name != "kept" {
		t.Fatalf("after Redis is back: %+v, %v; want only the API written before", cfg.APIs, err)
	}
	if !s.Up() {
		t.Error("Up() false after a successful read")
	}
}

// TestWatchCatchesChanges: a replica hears of another's write by pub/sub at once, and of a
// change whose message it missed (here: none was published) through the version poll.
func TestWatchCatchesChanges(t *testing.T) {
	srv := redistest.Start(t)
	s1, s2 := openRedisT(t, srv.URL, ""), openRedisT(t, srv.URL, "")
	if _, err := s2.Load(); err != nil {
		t.Fatal(err)
	}
	changed := make(chan struct{}, 10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		var served atomic.Int64
		s2.Watch(ctx, served.Load, func() {
			if cfg, err := s2.Load(); err == nil {
				served.Store(cfg.Version)
			}
			changed <- struct{}{}
		})
		close(done)
	}()
	defer func() { cancel(); <-done }()
	time.Sleep(100 * time.Millisecond) // subscribed

	start := time.Now()
	if _, _, err := s1.CreateAPI(jwtAPI("a", "/a")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Errorf("pub/sub change seen after %s", d)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the write was not announced")
	}

	if err := srv.Client().Incr(context.Background(), DefaultKeyPrefix+"{config}:version").Err(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	case <-time.After(PollInterval + 2*time.Second):
		t.Fatal("a version change without a message was not caught by the poll")
	}
}

// TestImportExport: a bbolt store's export imports into Redis as is (ids, timestamps and
// secrets kept); a non-empty store refuses it unless replace.
func TestImportExport(t *testing.T) {
	srv := redistest.Start(t)
	b := openBoltT(t)
	a, _, err := b.CreateAPI(jwtAPI("a", "/a"))
	if err != nil {
		t.Fatal(err)
	}
	in := jwtAPI("i", "/i")
	in.JWT, in.Introspection = nil, &adminapi.Introspection{Endpoint: "https://idp.example/introspect", ClientID: "gw", ClientSecret: "s3cret"}
	if _, _, err := b.CreateAPI(in); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.CreatePolicy(adminapi.Policy{Name: "p", ClientIDs: []string{"app"}, AccessRights: grant(a.ID),
		RateLimit: &adminapi.Limit{Requests: 5, Per: adminapi.Duration(time.Minute)}}); err != nil {
		t.Fatal(err)
	}
	exp, err := b.Export()
	if err != nil {
		t.Fatal(err)
	}
	r := openRedisT(t, srv.URL, "")
	if err := r.Import(exp, false); err != nil {
		t.Fatal(err)
	}
	got, err := r.Export()
	if err != nil {
		t.Fatal(err)
	}
	got.Version, exp.Version = 0, 0
	if !reflect.DeepEqual(got, exp) {
		t.Errorf("round trip differs:\n got %+v\nwant %+v", got, exp)
	}
	if err := r.Import(exp, false); !errors.Is(err, ErrNotEmpty) {
		t.Errorf("import into a non-empty store: %v, want ErrNotEmpty", err)
	}
	exp.Policies = nil
	if err := r.Import(exp, true); err != nil {
		t.Fatalf("import with replace: %v", err)
	}
	if got, _ := r.Load(); len(got.Policies) != 0 || len(got.APIs) != 2 {
		t.Errorf("after replace: %d APIs, %d policies; want 2, 0", len(got.APIs), len(got.Policies))
	}
	bad := Config{Policies: []adminapi.Policy{{ID: "pol_x", Name: "x", AccessRights: grant("api_missing")}}}
	if err := r.Import(bad, true); err == nil {
		t.Error("an import granting an unknown API was accepted")
	}
	if got, _ := r.Load(); len(got.APIs) != 2 {
		t.Errorf("a refused import changed the store: %d APIs", len(got.APIs))
	}
}

// An import is checked object by object before anything is written, and a refusal names the
// object by its place in the file and its id.
func TestImportNamesTheObjectItRefuses(t *testing.T) {
	b := openBoltT(t)
	valid := jwtAPI("a", "/a")
	valid.ID = "api_a"
	invalid := jwtAPI("b", "no-slash")
	invalid.ID = "api_b"
	invalidErr := invalid.Validate()
	policy := adminapi.Policy{ID: "pol_p"}
	policyErr := policy.Validate()
	if invalidErr == nil || policyErr == nil {
		t.Fatal("the invalid objects are valid")
	}
	for _, tc := range []struct {
		name string
		in   Config
		want string
	}{
		{"API without id", Config{APIs: []adminapi.API{jwtAPI("a", "/a")}}, "apis[0]: id is empty"},
		{"invalid API", Config{APIs: []adminapi.API{valid, invalid}}, "apis[1] (api_b): " + invalidErr.Error()},
		{"policy without id", Config{Policies: []adminapi.Policy{{Name: "p"}}}, "policies[0]: id is empty"},
		{"invalid policy", Config{Policies: []adminapi.Policy{policy}}, "policies[0] (pol_p): " + policyErr.Error()},
	} {
		if err := b.Import(tc.in, true); err == nil || err.Error() != tc.want {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	if got, _ := b.Load(); len(got.APIs)+len(got.Policies) != 0 {
		t.Errorf("refused imports wrote %d APIs, %d policies", len(got.APIs), len(got.Policies))
	}
}

// del drops the version a delete returns.
func del(_ int64, err error) error { return err }
