package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// DBFileName is the bbolt file the gateway keeps under its data directory.
const DBFileName = "idpgate.db"

// BoltLockTimeout is how long opening waits for another process's lock on the file.
var BoltLockTimeout = 2 * time.Second

// versionKey holds, in the meta bucket, the number of the last committed write (8 bytes,
// big endian).
var versionKey = []byte("version")

// boltBackend keeps the objects in a bbolt file. bbolt fsyncs every committed transaction,
// so a write the admin API acknowledged survives kill -9, and it serializes writers, so the
// checks inside a write transaction cannot race. One process owns the file.
//
// Writes go through one committer (groupcommit.go): the writes that arrive while a
// transaction is being fsynced share the next one, so concurrent admin calls (Terraform's
// parallelism) do not queue behind one fsync each.
type boltBackend struct {
	db      *bolt.DB
	commits *groupCommitter
}

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
	if err := db.Update(initBolt); err != nil {
		_ = db.Close() // the initialisation error is the one to report
		return nil, fmt.Errorf("initialising %s: %w", path, err)
	}
	return newStore(&boltBackend{db: db, commits: newGroupCommitter(db)}), nil
}

// initBolt creates the buckets, and indexes a file written before the indexes existed.
func initBolt(tx *bolt.Tx) error {
	for _, t := range tables {
		if _, err := tx.CreateBucketIfNotExists([]byte(t)); err != nil {
			return err
		}
	}
	t := boltTxn{tx}
	if ok, err := indexed(t); err != nil || ok {
		return err
	}
	return reindex(t, t)
}

func (b *boltBackend) close() error {
	b.commits.stop()
	return b.db.Close()
}

// One process owns the file, so it is up while open, and nobody else changes it.
func (b *boltBackend) up() bool                                    { return true }
func (b *boltBackend) shared() bool                                { return false }
func (b *boltBackend) watch(context.Context, func() int64, func()) {}

func (b *boltBackend) view(_ context.Context, fn func(tx txn) error) error {
	return b.db.View(func(tx *bolt.Tx) error { return fn(boltTxn{tx}) })
}

// A bbolt read transaction is a consistent snapshot already.
func (b *boltBackend) snapshot(ctx context.Context, fn func(tx txn) error) error {
	return b.view(ctx, fn)
}

func (b *boltBackend) update(ctx context.Context, fn func(tx txn) error) (int64, error) {
	return b.commits.do(ctx, fn)
}

// ready reports whether the file is open and initialised.
func (b *boltBackend) ready(context.Context) error {
	return b.db.View(func(tx *bolt.Tx) error {
		for _, t := range tables {
			if tx.Bucket([]byte(t)) == nil {
				return errors.New("store not initialised")
			}
		}
		return nil
	})
}

type boltTxn struct{ tx *bolt.Tx }

func (t boltTxn) bucket(name table) *bolt.Bucket { return t.tx.Bucket([]byte(name)) }

func (t boltTxn) get(name table, key string) ([]byte, error) {
	v := t.bucket(name).Get([]byte(key))
	if v == nil {
		return nil, nil
	}
	return bytes.Clone(v), nil // bbolt's slices are valid only during the transaction
}

func (t boltTxn) put(name table, key string, value []byte) error {
	return t.bucket(name).Put([]byte(key), value)
}

func (t boltTxn) del(name table, key string) error { return t.bucket(name).Delete([]byte(key)) }

func (t boltTxn) clear(name table) error {
	if err := t.tx.DeleteBucket([]byte(name)); err != nil {
		return err
	}
	_, err := t.tx.CreateBucket([]byte(name))
	return err
}

func (t boltTxn) scan(name table, from string, fn func(key string, value []byte) (bool, error)) error {
	c := t.bucket(name).Cursor()
	for k, v := c.Seek([]byte(from)); k != nil; k, v = c.Next() {
		if more, err := fn(string(k), v); err != nil || !more {
			return err
		}
	}
	return nil
}

func (t boltTxn) version() (int64, error) { return readVersion(t.tx), nil }

func readVersion(tx *bolt.Tx) int64 {
	v := tx.Bucket([]byte(tableMeta)).Get(versionKey)
	if len(v) != 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(v))
}

func writeVersion(tx *bolt.Tx, v int64) error {
	return tx.Bucket([]byte(tableMeta)).Put(versionKey, binary.BigEndian.AppendUint64(nil, uint64(v)))
}
