package store

import (
	"context"
	"errors"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// maxGroup bounds the writes one bbolt transaction commits together.
const maxGroup = 256

// errClosed answers a write submitted after Close.
var errClosed = errors.New("the configuration store is closed")

// groupCommitter runs bbolt write transactions on one goroutine. It takes every write
// waiting when a transaction starts into it, so N concurrent writes cost about one fsync
// instead of N, and a lone write waits for nothing (bbolt's own DB.Batch would delay it by
// MaxBatchDelay). Each write still gets its own version and its own error: one whose
// checks fail is taken out and the rest committed without it, so a 409 never undoes
// another caller's write.
type groupCommitter struct {
	db    *bolt.DB
	calls chan *commitCall
	done  chan struct{}
}

type commitCall struct {
	fn      func(tx txn) error
	version int64
	err     error
	replied chan struct{}
}

func newGroupCommitter(db *bolt.DB) *groupCommitter {
	g := &groupCommitter{db: db, calls: make(chan *commitCall), done: make(chan struct{})}
	go g.run()
	return g
}

func (g *groupCommitter) stop() {
	select {
	case <-g.done:
	default:
		close(g.done)
	}
}

// do runs fn in a write transaction and returns, once it is durable, the version it
// committed as. A write that has not reached a transaction when ctx ends is abandoned;
// one that has always completes (its caller learns the outcome).
func (g *groupCommitter) do(ctx context.Context, fn func(tx txn) error) (int64, error) {
	c := &commitCall{fn: fn, replied: make(chan struct{})}
	select {
	case g.calls <- c:
	case <-g.done:
		return 0, errClosed
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	<-c.replied
	return c.version, c.err
}

func (g *groupCommitter) run() {
	for {
		var group []*commitCall
		select {
		case c := <-g.calls:
			group = append(group, c)
		case <-g.done:
			return
		}
	more:
		for len(group) < maxGroup {
			select {
			case c := <-g.calls:
				group = append(group, c)
			default:
				break more
			}
		}
		g.commit(group)
	}
}

// commit commits group in one transaction. A write whose fn fails is taken out and the
// transaction run again without it; such writes then run alone, after the group, so the
// error each one reports is against a state that was committed.
func (g *groupCommitter) commit(group []*commitCall) {
	var alone []*commitCall
	for len(group) > 0 {
		failed := -1
		err := g.db.Update(func(tx *bolt.Tx) error {
			t, v := boltTxn{tx}, readVersion(tx)
			for i, c := range group {
				if err := c.fn(t); err != nil {
					failed = i
					return err
				}
				v++
				c.version = v
			}
			return writeVersion(tx, v)
		})
		if failed >= 0 && len(group) > 1 {
			alone = append(alone, group[failed])
			group = slices.Delete(group, failed, failed+1)
			continue
		}
		for _, c := range group {
			c.err = err
			if err != nil {
				c.version = 0
			}
			close(c.replied)
		}
		break
	}
	for _, c := range alone {
		g.commit([]*commitCall{c})
	}
}
