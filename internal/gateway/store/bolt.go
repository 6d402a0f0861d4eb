package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

// DBFileName is the bbolt file the gateway keeps under its data directory.
const DBFileName = "idpgate.db"

// BoltLockTimeout is how long opening waits for another process's lock on the file.
var BoltLockTimeout = 2 * time.Second

var (
	bucketAPIs     = []byte("apis")
	bucketPolicies = []byte("policies")
)

// boltBackend keeps the objects in a bbolt file. bbolt fsyncs every committed transaction,
// so a write the admin API acknowledged survives kill -9, and it serializes writers, so the
// checks inside a write transaction cannot race. One process owns the file.
type boltBackend struct{ db *bolt.DB }

// OpenBolt opens (creating if missing) the store file under dir.
func OpenBolt(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data directory: %w", err)
	}
	path := filepath.Join(dir, DBFileName)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: BoltLockTimeout})
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
	return newStore(&boltBackend{db: db}), nil
}

func (b *boltBackend) close() error { return b.db.Close() }

// One process owns the file, so it is up while open, and nobody else changes it.
func (b *boltBackend) up() bool                      { return true }
func (b *boltBackend) shared() bool                  { return false }
func (b *boltBackend) watch(context.Context, func()) {}

func (b *boltBackend) view(_ context.Context, fn func(tx txn) error) error {
	return b.db.View(func(tx *bolt.Tx) error { return fn(boltTxn{tx}) })
}

func (b *boltBackend) update(_ context.Context, fn func(tx txn) error) error {
	return b.db.Update(func(tx *bolt.Tx) error { return fn(boltTxn{tx}) })
}

// ready reports whether the file is open and initialised.
func (b *boltBackend) ready(context.Context) error {
	return b.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketAPIs) == nil || tx.Bucket(bucketPolicies) == nil {
			return errors.New("store not initialised")
		}
		return nil
	})
}

type boltTxn struct{ tx *bolt.Tx }

func (t boltTxn) apis() ([]adminapi.API, error) {
	return readAll[adminapi.API](t.tx.Bucket(bucketAPIs))
}
func (t boltTxn) policies() ([]adminapi.Policy, error) {
	return readAll[adminapi.Policy](t.tx.Bucket(bucketPolicies))
}
func (t boltTxn) putAPI(api adminapi.API) error     { return put(t.tx.Bucket(bucketAPIs), api.ID, api) }
func (t boltTxn) putPolicy(p adminapi.Policy) error { return put(t.tx.Bucket(bucketPolicies), p.ID, p) }
func (t boltTxn) deleteAPI(id string) error         { return t.tx.Bucket(bucketAPIs).Delete([]byte(id)) }
func (t boltTxn) deletePolicy(id string) error      { return t.tx.Bucket(bucketPolicies).Delete([]byte(id)) }
func (t boltTxn) version() int64                    { return 0 }

func put(b *bolt.Bucket, id string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put([]byte(id), raw)
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
