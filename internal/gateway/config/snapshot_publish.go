package config

import (
	"errors"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/metrics"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/store"
)

// How an admin write reaches the snapshot. The store numbers every committed write (its
// version); the snapshot says which version it holds. A write's own change is applied to the
// current snapshot when it is the next version (snapshot_change.go), without reading the
// store again. Writes commit together (the bbolt store's group commit) and their handlers
// may arrive out of order, so a change that is not next waits, briefly, for the local
// writes still on their way to fill the gap; a gap nobody here will fill (another replica
// wrote, on Redis) is closed as a change notice is: with the objects the store's change log
// says were written since (store.ChangesSince), else by loading the whole store.

// Live is the configuration the gateway serves: the current snapshot, and the writes and
// change notices on their way into it. Requests read it with one atomic load (Snapshot).
type Live struct {
	snap atomic.Pointer[Snapshot]

	// mu serializes snapshot changes and guards builder, pending, inflight and wake.
	mu       sync.Mutex
	builder  *Builder
	pending  map[int64]Change // committed, not yet applied, by version
	inflight int              // store writes started whose change is not published yet
	wake     chan struct{}    // closed when pending, inflight or the snapshot change

	store   *store.Store
	log     *slog.Logger
	metrics *metrics.Metrics // the builder's: reloads, changes applied, APIs and policies served
}

// NewLive loads the whole store into a first snapshot; b builds every snapshot after it.
func NewLive(st *store.Store, b *Builder, log *slog.Logger) (*Live, error) {
	l := &Live{builder: b, pending: map[int64]Change{}, wake: make(chan struct{}), store: st, log: log, metrics: b.Metrics}
	if err := l.Reload(); err != nil {
		return nil, err
	}
	return l, nil
}

// Snapshot is the snapshot requests see now.
func (l *Live) Snapshot() *Snapshot { return l.snap.Load() }

// Version is the store version the current snapshot holds.
func (l *Live) Version() int64 { return l.snap.Load().version }

// Changed returns s with c applied, as publishing it would, without publishing it (to
// measure what a change costs).
func (l *Live) Changed(s *Snapshot, c Change) *Snapshot { return l.builder.apply(s, c) }

// localWriteWait bounds how long a change waits for the local writes before it.
const localWriteWait = 250 * time.Millisecond

// writeStarted counts a store write whose outcome writeFinished will publish.
func (l *Live) writeStarted() {
	l.mu.Lock()
	l.inflight++
	l.mu.Unlock()
}

// writeFinished publishes the change of a write writeStarted counted (version 0: the write
// failed or changed nothing) and returns once the snapshot serves it, or the error of the
// reload that was to load it: the change is then stored but not served, and the caller
// must not be told otherwise.
func (l *Live) writeFinished(c Change) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inflight--
	if c.Version > l.snap.Load().version { // else a catch-up or reload brought it in already
		l.pending[c.Version] = c
	}
	l.wakeWaiters()
	if c.Version == 0 {
		return nil
	}
	return l.advanceTo(c.Version)
}

// Commit runs a store write between writeStarted and writeFinished. storeErr is the write's
// own failure (nothing changed); applyErr says the write is stored but not served.
func (l *Live) Commit(write func() (Change, error)) (storeErr, applyErr error) {
	l.writeStarted()
	c, storeErr := write()
	if storeErr != nil {
		c = Change{}
	}
	return storeErr, l.writeFinished(c)
}

// CatchUp brings the snapshot to the store's current version after a change notice or the
// version poll (Redis): nothing when it is there already (this replica's own writes), else
// the pending local changes or a reload.
func (l *Live) CatchUp() {
	// Versions only move forward, so the store went back only if it is behind what was
	// served before it was read; local writes applied since that read are not a step back.
	served := l.snap.Load().version
	v, err := l.store.Version()
	if err != nil {
		l.metrics.Reloads.WithLabelValues("error").Inc()
		l.log.Error("reading the configuration version failed; keeping the current snapshot", "error", err)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch cur := l.snap.Load().version; {
	case v < served: // the store went back (restored, or replaced): what it holds now counts
		_ = l.reloadLocked()
	case v <= cur:
	default:
		_ = l.advanceTo(v)
	}
}

// advanceTo returns once the snapshot holds version v: by applying pending changes in
// order, waiting up to localWriteWait for local writes to fill a gap, else by catching up
// with the store (catchUpLocked).
// l.mu is held (and released while waiting).
func (l *Live) advanceTo(v int64) error {
	deadline := time.Now().Add(localWriteWait)
	for {
		cur := l.snap.Load()
		if cur.version >= v {
			return nil
		}
		next := cur
		for {
			c, ok := l.pending[next.version+1]
			if !ok {
				break
			}
			delete(l.pending, c.Version)
			next = l.builder.apply(next, c)
			l.metrics.ChangesApplied.Inc()
		}
		if next != cur {
			l.publish(next)
			continue
		}
		if l.inflight == 0 || !time.Now().Before(deadline) {
			return l.catchUpLocked(cur)
		}
		wake := l.wake
		l.mu.Unlock()
		t := time.NewTimer(time.Until(deadline))
		select {
		case <-wake:
		case <-t.C:
		}
		t.Stop()
		l.mu.Lock()
	}
}

// catchUpLocked brings the snapshot to the store's current version: by applying the objects
// the writes since cur changed, read from the store's change log (Redis), else by a reload.
// l.mu is held.
func (l *Live) catchUpLocked(cur *Snapshot) error {
	v, changed, err := l.store.ChangesSince(cur.version)
	if err != nil {
		if !errors.Is(err, store.ErrNoChangeLog) {
			l.log.Warn("reading the configuration's change log failed; reloading it all", "error", err)
		}
		return l.reloadLocked()
	}
	next := cur
	for _, c := range changed {
		next = l.builder.apply(next, Change{Version: v, APIID: c.APIID, API: c.API, PolicyID: c.PolicyID, Policy: c.Policy})
		l.metrics.ChangesApplied.Inc()
	}
	if next == cur { // no object changed: the version moved all the same
		copied := *cur
		copied.version, next = v, &copied
	}
	l.publish(next)
	l.dropPending(v)
	return nil
}

// dropPending forgets the pending changes a snapshot at version v holds; l.mu is held.
func (l *Live) dropPending(v int64) {
	for pv := range l.pending {
		if pv <= v {
			delete(l.pending, pv)
		}
	}
}

// wakeWaiters wakes the changes waiting in advanceTo; l.mu is held.
func (l *Live) wakeWaiters() {
	close(l.wake)
	l.wake = make(chan struct{})
}

// publish makes s the snapshot requests see; l.mu is held.
func (l *Live) publish(s *Snapshot) {
	l.snap.Store(s)
	l.metrics.APIs.Set(float64(s.APIs()))
	l.metrics.Policies.Set(float64(s.Policies.byID.Len()))
	l.wakeWaiters()
}

// Reload builds a snapshot from the store's whole contents and publishes it.
func (l *Live) Reload() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.reloadLocked()
}

// reloadLocked is reload with l.mu held. A failed load keeps the current snapshot.
func (l *Live) reloadLocked() error {
	cfg, err := l.store.Load()
	if err != nil {
		l.metrics.Reloads.WithLabelValues("error").Inc()
		l.log.Error("reloading configuration failed; keeping the previous snapshot", "error", err)
		return err
	}
	prev := l.snap.Load()
	if prev == nil {
		prev = EmptySnapshot()
	}
	l.publish(l.builder.build(cfg.Version, cfg.APIs, cfg.Policies, prev))
	l.dropPending(cfg.Version)
	l.metrics.Reloads.WithLabelValues("ok").Inc()
	l.log.Info("configuration loaded", "apis", len(cfg.APIs), "policies", len(cfg.Policies), "version", cfg.Version)
	return nil
}
