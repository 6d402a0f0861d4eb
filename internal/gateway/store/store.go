// Package store keeps the gateway's configuration of record: protected APIs and access
// policies. The operations and their checks (unique names and listen paths, a policy grants
// only existing APIs, a granted API cannot be deleted) are written once, in this file, over a
// small transactional backend; bolt.go keeps them in an embedded bbolt file (one process),
// redis.go in Redis (several replicas, with change notification).
package store

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

// ErrUnavailable wraps every failure to reach the backend (Redis down or timing out): the
// operation changed nothing that was acknowledged, and the caller may retry.
var ErrUnavailable = errors.New("the configuration store is unreachable")

// Config is the whole stored configuration, read in one consistent view.
type Config struct {
	APIs     []adminapi.API    `json:"apis"`
	Policies []adminapi.Policy `json:"policies"`
	// Version increases with every committed write (Redis); 0 when the backend keeps none.
	Version int64 `json:"-"`
}

// Store is the configuration of record over one backend. Its methods are safe for
// concurrent use, also by several processes when the backend is Redis.
type Store struct {
	b   backend
	now func() time.Time
}

// backend is what a Store needs from where the objects live: consistent reads and atomic,
// isolated read-check-write transactions. Objects are kept as their JSON encoding.
type backend interface {
	view(ctx context.Context, fn func(tx txn) error) error
	update(ctx context.Context, fn func(tx txn) error) error
	ready(ctx context.Context) error
	close() error
	// up reports whether the last contact succeeded; shared whether other processes use
	// the same data; watch calls onChange after their changes until ctx is done.
	up() bool
	shared() bool
	watch(ctx context.Context, onChange func())
}

// txn reads and writes inside one transaction. Lists are in id order.
type txn interface {
	apis() ([]adminapi.API, error)
	policies() ([]adminapi.Policy, error)
	putAPI(api adminapi.API) error
	putPolicy(p adminapi.Policy) error
	deleteAPI(id string) error
	deletePolicy(id string) error
	version() int64
}

// opTimeout bounds every store operation (a write retried after concurrent writers included).
const opTimeout = 5 * time.Second

func newStore(b backend) *Store { return &Store{b: b, now: time.Now} }

// Close releases the backend.
func (s *Store) Close() error { return s.b.close() }

// Ready reports whether the backend can be read now.
func (s *Store) Ready(ctx context.Context) error { return s.b.ready(ctx) }

func (s *Store) view(fn func(tx txn) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	return s.b.view(ctx, fn)
}

func (s *Store) update(fn func(tx txn) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	return s.b.update(ctx, fn)
}

// Load reads every API and policy in one consistent view.
func (s *Store) Load() (Config, error) {
	var c Config
	err := s.view(func(tx txn) error {
		var err error
		if c.APIs, err = tx.apis(); err != nil {
			return err
		}
		c.Policies, err = tx.policies()
		c.Version = tx.version()
		return err
	})
	return c, err
}

// newID returns a random, URL-safe identifier with a readable prefix.
func newID(prefix string) string {
	b := make([]byte, 10)
	_, _ = rand.Read(b) // never fails (crypto/rand panics on a broken source)
	return prefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

func notFound(kind, id string) *adminapi.Error {
	return &adminapi.Error{Status: http.StatusNotFound, Code: adminapi.CodeNotFound, Message: fmt.Sprintf("no %s with id %q", kind, id)}
}

func conflict(field, format string, args ...any) *adminapi.Error {
	return &adminapi.Error{Status: http.StatusConflict, Code: adminapi.CodeConflict, Field: field, Message: fmt.Sprintf(format, args...)}
}

func find[T any](all []T, id string, idOf func(T) string, kind string) (*T, error) {
	for i := range all {
		if idOf(all[i]) == id {
			return &all[i], nil
		}
	}
	return nil, notFound(kind, id)
}

// lookup lists with list and finds id in the result.
func lookup[T any](list func() ([]T, error), id string, idOf func(T) string, kind string) (*T, error) {
	all, err := list()
	if err != nil {
		return nil, err
	}
	return find(all, id, idOf, kind)
}

func apiID(a adminapi.API) string       { return a.ID }
func policyID(p adminapi.Policy) string { return p.ID }

// --- APIs ---

// ListAPIs returns every API, client secrets included (the admin API redacts them).
func (s *Store) ListAPIs() ([]adminapi.API, error) {
	var out []adminapi.API
	err := s.view(func(tx txn) (err error) { out, err = tx.apis(); return err })
	return out, err
}

// GetAPI returns one API, or a 404 *adminapi.Error.
func (s *Store) GetAPI(id string) (*adminapi.API, error) {
	var out *adminapi.API
	err := s.view(func(tx txn) (err error) { out, err = lookup(tx.apis, id, apiID, "API"); return err })
	return out, err
}

// CreateAPI stores a validated API under a new id.
func (s *Store) CreateAPI(api adminapi.API) (*adminapi.API, error) {
	now := s.now().UTC()
	api.ID, api.CreatedAt, api.UpdatedAt = newID("api_"), now, now
	if api.Introspection != nil {
		api.Introspection.ClientSecretSet = false
	}
	err := s.update(func(tx txn) error {
		if err := checkAPIUnique(tx, api); err != nil {
			return err
		}
		return tx.putAPI(api)
	})
	if err != nil {
		return nil, err
	}
	return &api, nil
}

// ReplaceAPI is a PUT: the whole API is replaced except its id and created_at, and an
// introspection client secret that the body leaves out is kept.
func (s *Store) ReplaceAPI(id string, api adminapi.API) (*adminapi.API, error) {
	err := s.update(func(tx txn) error {
		old, err := lookup(tx.apis, id, apiID, "API")
		if err != nil {
			return err
		}
		api.ID, api.CreatedAt, api.UpdatedAt = id, old.CreatedAt, s.now().UTC()
		if api.Introspection != nil {
			api.Introspection.ClientSecretSet = false
			if api.Introspection.ClientSecret == "" && old.Introspection != nil {
				api.Introspection.ClientSecret = old.Introspection.ClientSecret
			}
		}
		if err := checkAPIUnique(tx, api); err != nil {
			return err
		}
		return tx.putAPI(api)
	})
	if err != nil {
		return nil, err
	}
	return &api, nil
}

// DeleteAPI refuses (409) while a policy still grants the API: Terraform destroys the policy
// first since it references the API, and a dangling grant would be a silent hole.
func (s *Store) DeleteAPI(id string) error {
	return s.update(func(tx txn) error {
		if _, err := lookup(tx.apis, id, apiID, "API"); err != nil {
			return err
		}
		policies, err := tx.policies()
		if err != nil {
			return err
		}
		var users []string
		for _, p := range policies {
			if slices.ContainsFunc(p.AccessRights, func(ar adminapi.AccessRight) bool { return ar.APIID == id }) {
				users = append(users, fmt.Sprintf("%s (%s)", p.Name, p.ID))
			}
		}
		if len(users) > 0 {
			return conflict("", "API %s is still granted by policies %s; remove those grants first", id, strings.Join(users, ", "))
		}
		return tx.deleteAPI(id)
	})
}

func checkAPIUnique(tx txn, api adminapi.API) error {
	others, err := tx.apis()
	if err != nil {
		return err
	}
	for _, o := range others {
		if o.ID == api.ID {
			continue
		}
		if o.Name == api.Name {
			return conflict("name", "an API named %q already exists (%s)", api.Name, o.ID)
		}
		if o.SharesRouteWith(&api) {
			if len(api.Hosts) == 0 {
				return conflict("listen_path", "listen path %q is already used by API %q (%s)", api.ListenPath, o.Name, o.ID)
			}
			return conflict("hosts", "listen path %q on these hosts is already used by API %q (%s, hosts %s)",
				api.ListenPath, o.Name, o.ID, strings.Join(o.Hosts, ", "))
		}
	}
	return nil
}

// --- policies ---

// ListPolicies returns every policy.
func (s *Store) ListPolicies() ([]adminapi.Policy, error) {
	var out []adminapi.Policy
	err := s.view(func(tx txn) (err error) { out, err = tx.policies(); return err })
	return out, err
}

// GetPolicy returns one policy, or a 404 *adminapi.Error.
func (s *Store) GetPolicy(id string) (*adminapi.Policy, error) {
	var out *adminapi.Policy
	err := s.view(func(tx txn) (err error) { out, err = lookup(tx.policies, id, policyID, "policy"); return err })
	return out, err
}

// CreatePolicy stores a validated policy under a new id.
func (s *Store) CreatePolicy(p adminapi.Policy) (*adminapi.Policy, error) {
	now := s.now().UTC()
	p.ID, p.CreatedAt, p.UpdatedAt = newID("pol_"), now, now
	if p.AccessRights == nil {
		p.AccessRights = []adminapi.AccessRight{}
	}
	err := s.update(func(tx txn) error {
		if err := checkPolicyRefs(tx, p); err != nil {
			return err
		}
		return tx.putPolicy(p)
	})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// ReplacePolicy is a PUT of the whole policy except its id and created_at.
func (s *Store) ReplacePolicy(id string, p adminapi.Policy) (*adminapi.Policy, error) {
	err := s.update(func(tx txn) error {
		old, err := lookup(tx.policies, id, policyID, "policy")
		if err != nil {
			return err
		}
		p.ID, p.CreatedAt, p.UpdatedAt = id, old.CreatedAt, s.now().UTC()
		if p.AccessRights == nil {
			p.AccessRights = []adminapi.AccessRight{}
		}
		if err := checkPolicyRefs(tx, p); err != nil {
			return err
		}
		return tx.putPolicy(p)
	})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// DeletePolicy removes a policy, or answers a 404 *adminapi.Error.
func (s *Store) DeletePolicy(id string) error {
	return s.update(func(tx txn) error {
		if _, err := lookup(tx.policies, id, policyID, "policy"); err != nil {
			return err
		}
		return tx.deletePolicy(id)
	})
}

// checkPolicyRefs enforces a unique name, and that every granted API exists (409: the
// request is well formed but conflicts with the gateway's state).
func checkPolicyRefs(tx txn, p adminapi.Policy) error {
	others, err := tx.policies()
	if err != nil {
		return err
	}
	for _, o := range others {
		if o.ID != p.ID && o.Name == p.Name {
			return conflict("name", "a policy named %q already exists (%s)", p.Name, o.ID)
		}
	}
	apis, err := tx.apis()
	if err != nil {
		return err
	}
	for i, ar := range p.AccessRights {
		if _, err := find(apis, ar.APIID, apiID, "API"); err != nil {
			return conflict(fmt.Sprintf("access_rights[%d].api_id", i), "no API with id %q", ar.APIID)
		}
	}
	return nil
}

// Shared reports whether several processes share the store (Redis): then an unreachable
// store is an outage to ride out, not a broken process.
func (s *Store) Shared() bool { return s.b.shared() }

// Up reports whether the last contact with the backend succeeded.
func (s *Store) Up() bool { return s.b.up() }

// Redis returns the client and key prefix of a Redis-backed store (for the shared limits),
// or nil.
func (s *Store) Redis() (redis.UniversalClient, string) {
	if rb, ok := s.b.(*redisBackend); ok {
		return rb.client, rb.prefix
	}
	return nil, ""
}

// Watch calls onChange whenever another process may have changed the stored configuration,
// until ctx is done. It returns at once for a store that no other process writes (bbolt).
func (s *Store) Watch(ctx context.Context, onChange func()) { s.b.watch(ctx, onChange) }
