// Package store keeps the gateway's configuration of record: protected APIs and access
// policies. The operations and their checks (unique names and listen paths, a policy grants
// only existing APIs, a granted API cannot be deleted) are written once, in this file, over a
// small transactional key-value backend; bolt.go keeps them in an embedded bbolt file (one
// process), redis.go in Redis (several replicas, with change notification).
//
// Every check is a point lookup in an index kept beside the objects (index.go), so a write
// costs the same with ten objects or ten thousand.
package store

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
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
	// Version is the number of the last write Config includes: every committed write gets
	// the next one.
	Version int64 `json:"-"`
}

// Store is the configuration of record over one backend. Its methods are safe for
// concurrent use, also by several processes when the backend is Redis.
type Store struct {
	b   backend
	now func() time.Time
}

// backend is what a Store needs from where the objects live: reads, a consistent view of
// everything, and atomic, isolated read-check-write transactions, each numbered.
type backend interface {
	// view runs fn over the committed state; consecutive reads in fn may see different
	// versions on Redis (each read is atomic, the view as a whole is not).
	view(ctx context.Context, fn func(tx txn) error) error
	// snapshot runs fn over one consistent state of the apis and policies tables.
	snapshot(ctx context.Context, fn func(tx txn) error) error
	// update runs fn in a transaction and commits its writes; it returns the version the
	// write committed as (0 when fn wrote nothing).
	update(ctx context.Context, fn func(tx txn) error) (int64, error)
	ready(ctx context.Context) error
	close() error
	// up reports whether the last contact succeeded; shared whether other processes use
	// the same data; watch calls onChange after their changes until ctx is done.
	up() bool
	shared() bool
	watch(ctx context.Context, served func() int64, onChange func())
}

// table names one keyed collection. The objects are kept as JSON under their id; the other
// tables are the indexes the checks look up (index.go).
type table string

const (
	tableAPIs        table = "apis"         // API id -> API JSON
	tablePolicies    table = "policies"     // policy id -> policy JSON
	tableAPINames    table = "api_names"    // API name -> API id
	tableAPIRoutes   table = "api_routes"   // route key (routeKeys) -> API id
	tablePolicyNames table = "policy_names" // policy name -> policy id
	tableGrants      table = "grants"       // API id + "\x00" + policy id -> "" (grantKey)
	tableMeta        table = "meta"         // "schema" -> schemaVersion
)

// tables lists every table; configTables those that hold the configuration or its indexes.
var (
	configTables = []table{tableAPIs, tablePolicies, tableAPINames, tableAPIRoutes, tablePolicyNames, tableGrants}
	tables       = append(slices.Clone(configTables), tableMeta)
)

// txn reads and writes inside one transaction.
type txn interface {
	// get returns the value under key, or nil when there is none.
	get(t table, key string) ([]byte, error)
	put(t table, key string, value []byte) error
	del(t table, key string) error
	// clear removes every key of t.
	clear(t table) error
	// scan calls fn with the keys of t from `from` on (inclusive, byte order) and their
	// values, until fn returns false or an error. Only apis, policies and grants are ordered.
	// In a Redis write transaction it sees the state before the transaction's own writes.
	scan(t table, from string, fn func(key string, value []byte) (bool, error)) error
	// version is the version of the state read (views and snapshots).
	version() (int64, error)
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

// stored runs a write that stores *out and returns out with the write's version, or the
// write's error.
func stored[T any](s *Store, out *T, fn func(tx txn) error) (*T, int64, error) {
	v, err := s.update(fn)
	if err != nil {
		return nil, 0, err
	}
	return out, v, nil
}

func (s *Store) update(fn func(tx txn) error) (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	return s.b.update(ctx, fn)
}

// Load reads every API and policy in one consistent view.
func (s *Store) Load() (Config, error) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	var c Config
	err := s.b.snapshot(ctx, func(tx txn) error {
		var err error
		if c.APIs, _, err = page[adminapi.API](tx, tableAPIs, "", 0); err != nil {
			return err
		}
		if c.Policies, _, err = page[adminapi.Policy](tx, tablePolicies, "", 0); err != nil {
			return err
		}
		c.Version, err = tx.version()
		return err
	})
	return c, err
}

// Version returns the version of the last committed write.
func (s *Store) Version() (int64, error) {
	var v int64
	err := s.view(func(tx txn) (err error) { v, err = tx.version(); return err })
	return v, err
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

// getJSON decodes the object under id, or returns nil when there is none.
func getJSON[T any](tx txn, t table, id string) (*T, error) {
	raw, err := tx.get(t, id)
	if err != nil || raw == nil {
		return nil, err
	}
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, &decodeError{id, err}
	}
	return &v, nil
}

// decodeError is a stored object that does not decode: the store answered, wrongly.
type decodeError struct {
	id  string
	err error
}

func (e *decodeError) Error() string {
	return fmt.Sprintf("decoding stored object %s: %v", e.id, e.err)
}
func (e *decodeError) Unwrap() error { return e.err }

// mustGet is getJSON with a 404 *adminapi.Error when the object does not exist.
func mustGet[T any](tx txn, t table, id, kind string) (*T, error) {
	v, err := getJSON[T](tx, t, id)
	if err == nil && v == nil {
		err = notFound(kind, id)
	}
	return v, err
}

// page decodes up to limit objects of t with ids after `after` (0: all of them), in id
// order, and says which id the next page starts after ("" when this is the last).
func page[T any](tx txn, t table, after string, limit int) ([]T, string, error) {
	out, next := []T{}, ""
	from := ""
	if after != "" {
		from = after + "\x00" // the smallest key greater than after
	}
	err := tx.scan(t, from, func(id string, raw []byte) (bool, error) {
		if limit > 0 && len(out) == limit {
			next = after
			return false, nil
		}
		var v T
		if err := json.Unmarshal(raw, &v); err != nil {
			return false, fmt.Errorf("decoding stored object %s: %w", id, err)
		}
		out, after = append(out, v), id
		return true, nil
	})
	return out, next, err
}

func putJSON(tx txn, t table, id string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.put(t, id, raw)
}

// --- APIs ---

// ListAPIs returns up to limit APIs (0: all) with ids after `after`, in id order, client
// secrets included (the admin API redacts them), and the id to pass as after for the next
// page ("" on the last).
func (s *Store) ListAPIs(after string, limit int) ([]adminapi.API, string, error) {
	var out []adminapi.API
	var next string
	err := s.view(func(tx txn) (err error) { out, next, err = page[adminapi.API](tx, tableAPIs, after, limit); return err })
	return out, next, err
}

// GetAPI returns one API, or a 404 *adminapi.Error.
func (s *Store) GetAPI(id string) (*adminapi.API, error) {
	var out *adminapi.API
	err := s.view(func(tx txn) (err error) { out, err = mustGet[adminapi.API](tx, tableAPIs, id, "API"); return err })
	return out, err
}

// CreateAPI stores a validated API under a new id and returns it with the version of the write.
func (s *Store) CreateAPI(api adminapi.API) (*adminapi.API, int64, error) {
	now := s.now().UTC()
	api.ID, api.CreatedAt, api.UpdatedAt = newID("api_"), now, now
	if api.Introspection != nil {
		api.Introspection.ClientSecretSet = false
	}
	return stored(s, &api, func(tx txn) error {
		if err := checkAPIUnique(tx, api); err != nil {
			return err
		}
		return putAPI(tx, nil, api)
	})
}

// ReplaceAPI is a PUT: the whole API is replaced except its id and created_at, and an
// introspection client secret that the body leaves out is kept.
func (s *Store) ReplaceAPI(id string, api adminapi.API) (*adminapi.API, int64, error) {
	return stored(s, &api, func(tx txn) error {
		old, err := mustGet[adminapi.API](tx, tableAPIs, id, "API")
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
		return putAPI(tx, old, api)
	})
}

// DeleteAPI refuses (409) while a policy still grants the API: Terraform destroys the policy
// first since it references the API, and a dangling grant would be a silent hole.
func (s *Store) DeleteAPI(id string) (int64, error) {
	return s.update(func(tx txn) error {
		old, err := mustGet[adminapi.API](tx, tableAPIs, id, "API")
		if err != nil {
			return err
		}
		ids, err := grantingPolicies(tx, id)
		if err != nil {
			return err
		}
		if len(ids) > 0 {
			users := make([]string, 0, len(ids))
			for _, pid := range ids {
				name := "?"
				if p, err := getJSON[adminapi.Policy](tx, tablePolicies, pid); err == nil && p != nil {
					name = p.Name
				}
				users = append(users, fmt.Sprintf("%s (%s)", name, pid))
			}
			return conflict("", "API %s is still granted by policies %s; remove those grants first", id, strings.Join(users, ", "))
		}
		return deleteAPI(tx, old)
	})
}

// checkAPIUnique looks the API's name and routes up in the indexes.
func checkAPIUnique(tx txn, api adminapi.API) error {
	if owner, err := tx.get(tableAPINames, api.Name); err != nil {
		return err
	} else if owner != nil && string(owner) != api.ID {
		return conflict("name", "an API named %q already exists (%s)", api.Name, owner)
	}
	for _, key := range routeKeys(&api) {
		owner, err := tx.get(tableAPIRoutes, key)
		if err != nil {
			return err
		}
		if owner == nil || string(owner) == api.ID {
			continue
		}
		o, err := getJSON[adminapi.API](tx, tableAPIs, string(owner))
		if err != nil {
			return err
		}
		if o == nil { // an index entry without its object: the index is wrong, not the request
			return fmt.Errorf("route index names API %s, which is not stored", owner)
		}
		if len(api.Hosts) == 0 {
			return conflict("listen_path", "listen path %q is already used by API %q (%s)", api.ListenPath, o.Name, o.ID)
		}
		return conflict("hosts", "listen path %q on these hosts is already used by API %q (%s, hosts %s)",
			api.ListenPath, o.Name, o.ID, strings.Join(o.Hosts, ", "))
	}
	return checkResourceUnique(tx, api)
}

// checkResourceUnique refuses a resource whose metadata another API's resource already has
// at the same place (adminapi.ResourceKey): the same host, whatever the port, and path.
func checkResourceUnique(tx txn, api adminapi.API) error {
	key := resourceIndexKey(&api)
	if key == "" {
		return nil
	}
	owner, err := tx.get(tableAPIRoutes, key)
	if err != nil || owner == nil || string(owner) == api.ID {
		return err
	}
	o, err := getJSON[adminapi.API](tx, tableAPIs, string(owner))
	if err != nil {
		return err
	}
	if o == nil {
		return fmt.Errorf("resource index names API %s, which is not stored", owner)
	}
	return conflict("resource", "resource %q is already claimed by API %q (%s) as %q: its metadata would be served at the same URL",
		api.Resource, o.Name, o.ID, o.Resource)
}

// --- policies ---

// ListPolicies returns up to limit policies (0: all) with ids after `after`, in id order,
// and the id to pass as after for the next page ("" on the last).
func (s *Store) ListPolicies(after string, limit int) ([]adminapi.Policy, string, error) {
	var out []adminapi.Policy
	var next string
	err := s.view(func(tx txn) (err error) {
		out, next, err = page[adminapi.Policy](tx, tablePolicies, after, limit)
		return err
	})
	return out, next, err
}

// GetPolicy returns one policy, or a 404 *adminapi.Error.
func (s *Store) GetPolicy(id string) (*adminapi.Policy, error) {
	var out *adminapi.Policy
	err := s.view(func(tx txn) (err error) {
		out, err = mustGet[adminapi.Policy](tx, tablePolicies, id, "policy")
		return err
	})
	return out, err
}

// CreatePolicy stores a validated policy under a new id and returns it with the version of
// the write.
func (s *Store) CreatePolicy(p adminapi.Policy) (*adminapi.Policy, int64, error) {
	now := s.now().UTC()
	p.ID, p.CreatedAt, p.UpdatedAt = newID("pol_"), now, now
	if p.AccessRights == nil {
		p.AccessRights = []adminapi.AccessRight{}
	}
	return stored(s, &p, func(tx txn) error {
		if err := checkPolicyRefs(tx, p); err != nil {
			return err
		}
		return putPolicy(tx, nil, p)
	})
}

// ReplacePolicy is a PUT of the whole policy except its id and created_at.
func (s *Store) ReplacePolicy(id string, p adminapi.Policy) (*adminapi.Policy, int64, error) {
	return stored(s, &p, func(tx txn) error {
		old, err := mustGet[adminapi.Policy](tx, tablePolicies, id, "policy")
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
		return putPolicy(tx, old, p)
	})
}

// DeletePolicy removes a policy, or answers a 404 *adminapi.Error.
func (s *Store) DeletePolicy(id string) (int64, error) {
	return s.update(func(tx txn) error {
		old, err := mustGet[adminapi.Policy](tx, tablePolicies, id, "policy")
		if err != nil {
			return err
		}
		return deletePolicy(tx, old)
	})
}

// checkPolicyRefs enforces a unique name, and that every granted API exists (409: the
// request is well formed but conflicts with the gateway's state).
func checkPolicyRefs(tx txn, p adminapi.Policy) error {
	if owner, err := tx.get(tablePolicyNames, p.Name); err != nil {
		return err
	} else if owner != nil && string(owner) != p.ID {
		return conflict("name", "a policy named %q already exists (%s)", p.Name, owner)
	}
	for i, ar := range p.AccessRights {
		raw, err := tx.get(tableAPIs, ar.APIID)
		if err != nil {
			return err
		}
		if raw == nil {
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

// Watch calls onChange whenever a process may have changed the stored configuration (its
// own writes included) or the stored version differs from served(), the version the caller
// serves, until ctx is done. It returns at once for a store that no other process writes
// (bbolt).
func (s *Store) Watch(ctx context.Context, served func() int64, onChange func()) {
	s.b.watch(ctx, served, onChange)
}
