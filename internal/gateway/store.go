package gateway

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

// DBFileName is the bbolt file the gateway keeps under its data directory.
const DBFileName = "idpgate.db"

// storeLockTimeout is how long opening waits for another process's lock on the file.
var storeLockTimeout = 2 * time.Second

var (
	bucketAPIs     = []byte("apis")
	bucketPolicies = []byte("policies")
)

// store persists APIs and policies in a bbolt file. bbolt fsyncs every committed
// transaction, so a write the admin API acknowledged survives kill -9, and it serializes
// writers, so uniqueness checks inside a write transaction cannot race.
type store struct {
	db  *bolt.DB
	now func() time.Time
}

func openStore(dir string, now func() time.Time) (*store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data directory: %w", err)
	}
	path := filepath.Join(dir, DBFileName)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: storeLockTimeout})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("opening %s: the file is locked by another idpgate process", path)
		}
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketAPIs, bucketPolicies} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close() // the initialisation error is the one to report
		return nil, fmt.Errorf("initialising %s: %w", path, err)
	}
	return &store{db: db, now: now}, nil
}

func (s *store) close() error { return s.db.Close() }

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

// --- APIs ---

func (s *store) listAPIs() ([]adminapi.API, error) {
	var out []adminapi.API
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		out, err = readAll[adminapi.API](tx.Bucket(bucketAPIs))
		return err
	})
	return out, err
}

func (s *store) getAPI(id string) (*adminapi.API, error) {
	var out *adminapi.API
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		out, err = readOne[adminapi.API](tx.Bucket(bucketAPIs), id, "API")
		return err
	})
	return out, err
}

// createAPI stores a validated API under a new id.
func (s *store) createAPI(api adminapi.API) (*adminapi.API, error) {
	now := s.now().UTC()
	api.ID, api.CreatedAt, api.UpdatedAt = newID("api_"), now, now
	if api.Introspection != nil {
		api.Introspection.ClientSecretSet = false
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAPIs)
		if err := checkAPIUnique(b, api); err != nil {
			return err
		}
		return put(b, api.ID, api)
	})
	if err != nil {
		return nil, err
	}
	return &api, nil
}

// replaceAPI is a PUT: the whole API is replaced except its id and created_at, and an
// introspection client secret that the body leaves out is kept.
func (s *store) replaceAPI(id string, api adminapi.API) (*adminapi.API, error) {
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAPIs)
		old, err := readOne[adminapi.API](b, id, "API")
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
		if err := checkAPIUnique(b, api); err != nil {
			return err
		}
		return put(b, id, api)
	})
	if err != nil {
		return nil, err
	}
	return &api, nil
}

// deleteAPI refuses (409) while a policy still grants the API: Terraform destroys the policy
// first since it references the API, and a dangling grant would be a silent hole.
func (s *store) deleteAPI(id string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAPIs)
		if b.Get([]byte(id)) == nil {
			return notFound("API", id)
		}
		policies, err := readAll[adminapi.Policy](tx.Bucket(bucketPolicies))
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
		return b.Delete([]byte(id))
	})
}

func checkAPIUnique(b *bolt.Bucket, api adminapi.API) error {
	others, err := readAll[adminapi.API](b)
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

func (s *store) listPolicies() ([]adminapi.Policy, error) {
	var out []adminapi.Policy
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		out, err = readAll[adminapi.Policy](tx.Bucket(bucketPolicies))
		return err
	})
	return out, err
}

func (s *store) getPolicy(id string) (*adminapi.Policy, error) {
	var out *adminapi.Policy
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		out, err = readOne[adminapi.Policy](tx.Bucket(bucketPolicies), id, "policy")
		return err
	})
	return out, err
}

func (s *store) createPolicy(p adminapi.Policy) (*adminapi.Policy, error) {
	now := s.now().UTC()
	p.ID, p.CreatedAt, p.UpdatedAt = newID("pol_"), now, now
	if p.AccessRights == nil {
		p.AccessRights = []adminapi.AccessRight{}
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		if err := checkPolicyRefs(tx, p); err != nil {
			return err
		}
		return put(tx.Bucket(bucketPolicies), p.ID, p)
	})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

func (s *store) replacePolicy(id string, p adminapi.Policy) (*adminapi.Policy, error) {
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketPolicies)
		old, err := readOne[adminapi.Policy](b, id, "policy")
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
		return put(b, id, p)
	})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

func (s *store) deletePolicy(id string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketPolicies)
		if b.Get([]byte(id)) == nil {
			return notFound("policy", id)
		}
		return b.Delete([]byte(id))
	})
}

// checkPolicyRefs enforces a unique name, and that every granted API exists (409: the
// request is well formed but conflicts with the gateway's state).
func checkPolicyRefs(tx *bolt.Tx, p adminapi.Policy) error {
	others, err := readAll[adminapi.Policy](tx.Bucket(bucketPolicies))
	if err != nil {
		return err
	}
	for _, o := range others {
		if o.ID != p.ID && o.Name == p.Name {
			return conflict("name", "a policy named %q already exists (%s)", p.Name, o.ID)
		}
	}
	apis := tx.Bucket(bucketAPIs)
	for i, ar := range p.AccessRights {
		if apis.Get([]byte(ar.APIID)) == nil {
			return conflict(fmt.Sprintf("access_rights[%d].api_id", i), "no API with id %q", ar.APIID)
		}
	}
	return nil
}

// --- encoding ---

func put(b *bolt.Bucket, id string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put([]byte(id), raw)
}

func readOne[T any](b *bolt.Bucket, id, kind string) (*T, error) {
	raw := b.Get([]byte(id))
	if raw == nil {
		return nil, notFound(kind, id)
	}
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("decoding stored %s %s: %w", kind, id, err)
	}
	return &v, nil
}

// readAll returns every value, in key order (bbolt keeps keys sorted).
func readAll[T any](b *bolt.Bucket) ([]T, error) {
	out := []T{}
	err := b.ForEach(func(k, raw []byte) error {
		var v T
		if err := json.Unmarshal(raw, &v); err != nil {
			return fmt.Errorf("decoding stored object %s: %w", k, err)
		}
		out = append(out, v)
		return nil
	})
	return out, err
}

// ready reports whether the store is open and initialised.
func (s *store) ready() error {
	return s.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketAPIs) == nil || tx.Bucket(bucketPolicies) == nil {
			return errors.New("store not initialised")
		}
		return nil
	})
}

// loadAll reads every API and policy in one consistent read transaction.
func (s *store) loadAll() ([]adminapi.API, []adminapi.Policy, error) {
	var apis []adminapi.API
	var policies []adminapi.Policy
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		if apis, err = readAll[adminapi.API](tx.Bucket(bucketAPIs)); err != nil {
			return err
		}
		policies, err = readAll[adminapi.Policy](tx.Bucket(bucketPolicies))
		return err
	})
	return apis, policies, err
}
