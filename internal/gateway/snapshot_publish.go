package gateway

import (
	"errors"
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

// localWriteWait bounds how long a change waits for the local writes before it.
const localWriteWait = 250 * time.Millisecond

// writeStarted counts a store write whose outcome writeFinished will publish.
func (g *Gateway) writeStarted() {
	g.reloadMu.Lock()
	g.inflight++
	g.reloadMu.Unlock()
}

// writeFinished publishes the change of a write writeStarted counted (version 0: the write
// failed or changed nothing) and returns once the snapshot serves it, or the error of the
// reload that was to load it: the change is then stored but not served, and the caller
// must not be told otherwise.
func (g *Gateway) writeFinished(c configChange) error {
	g.reloadMu.Lock()
	defer g.reloadMu.Unlock()
	g.inflight--
	if c.version > g.snap.Load().version { // else a catch-up or reload brought it in already
		g.pending[c.version] = c
	}
	g.wakeWaiters()
	if c.version == 0 {
		return nil
	}
	return g.advanceTo(c.version)
}

// commit runs a store write between writeStarted and writeFinished. storeErr is the write's
// own failure (nothing changed); applyErr says the write is stored but not served.
func (g *Gateway) commit(write func() (configChange, error)) (storeErr, applyErr error) {
	g.writeStarted()
	c, storeErr := write()
	if storeErr != nil {
		c = configChange{}
	}
	return storeErr, g.writeFinished(c)
}

// catchUp brings the snapshot to the store's current version after a change notice or the
// version poll (Redis): nothing when it is there already (this replica's own writes), else
// the pending local changes or a reload.
func (g *Gateway) catchUp() {
	// Versions only move forward, so the store went back only if it is behind what was
	// served before it was read; local writes applied since that read are not a step back.
	served := g.snap.Load().version
	v, err := g.store.Version()
	if err != nil {
		g.metrics.Reloads.WithLabelValues("error").Inc()
		g.log.Error("reading the configuration version failed; keeping the current snapshot", "error", err)
		return
	}
	g.reloadMu.Lock()
	defer g.reloadMu.Unlock()
	switch cur := g.snap.Load().version; {
	case v < served: // the store went back (restored, or replaced): what it holds now counts
		_ = g.reloadLocked()
	case v <= cur:
	default:
		_ = g.advanceTo(v)
	}
}

// advanceTo returns once the snapshot holds version v: by applying pending changes in
// order, waiting up to localWriteWait for local writes to fill a gap, else by catching up
// with the store (catchUpLocked).
// g.reloadMu is held (and released while waiting).
func (g *Gateway) advanceTo(v int64) error {
	deadline := time.Now().Add(localWriteWait)
	for {
		cur := g.snap.Load()
		if cur.version >= v {
			return nil
		}
		next := cur
		for {
			c, ok := g.pending[next.version+1]
			if !ok {
				break
			}
			delete(g.pending, c.version)
			next = g.builder.apply(next, c)
			g.metrics.ChangesApplied.Inc()
		}
		if next != cur {
			g.publish(next)
			continue
		}
		if g.inflight == 0 || !time.Now().Before(deadline) {
			return g.catchUpLocked(cur)
		}
		wake := g.wake
		g.reloadMu.Unlock()
		t := time.NewTimer(time.Until(deadline))
		select {
		case <-wake:
		case <-t.C:
		}
		t.Stop()
		g.reloadMu.Lock()
	}
}

// catchUpLocked brings the snapshot to the store's current version: by applying the objects
// the writes since cur changed, read from the store's change log (Redis), else by a reload.
// g.reloadMu is held.
func (g *Gateway) catchUpLocked(cur *snapshot) error {
	v, changed, err := g.store.ChangesSince(cur.version)
	if err != nil {
		if !errors.Is(err, store.ErrNoChangeLog) {
			g.log.Warn("reading the configuration's change log failed; reloading it all", "error", err)
		}
		return g.reloadLocked()
	}
	next := cur
	for _, c := range changed {
		next = g.builder.apply(next, configChange{version: v, apiID: c.APIID, api: c.API, policyID: c.PolicyID, policy: c.Policy})
		g.metrics.ChangesApplied.Inc()
	}
	if next == cur { // no object changed: the version moved all the same
		copied := *cur
		copied.version, next = v, &copied
	}
	g.publish(next)
	g.dropPending(v)
	return nil
}

// dropPending forgets the pending changes a snapshot at version v holds; g.reloadMu is held.
func (g *Gateway) dropPending(v int64) {
	for pv := range g.pending {
		if pv <= v {
			delete(g.pending, pv)
		}
	}
}

// wakeWaiters wakes the changes waiting in advanceTo; g.reloadMu is held.
func (g *Gateway) wakeWaiters() {
	close(g.wake)
	g.wake = make(chan struct{})
}

// publish makes s the snapshot requests see; g.reloadMu is held.
func (g *Gateway) publish(s *snapshot) {
	g.snap.Store(s)
	g.metrics.APIs.Set(float64(s.routes.byID.Len()))
	g.metrics.Policies.Set(float64(s.policies.byID.Len()))
	g.wakeWaiters()
}

// reload builds a snapshot from the store's whole contents and publishes it.
func (g *Gateway) reload() error {
	g.reloadMu.Lock()
	defer g.reloadMu.Unlock()
	return g.reloadLocked()
}

// reloadLocked is reload with g.reloadMu held. A failed load keeps the current snapshot.
func (g *Gateway) reloadLocked() error {
	cfg, err := g.store.Load()
	if err != nil {
		g.metrics.Reloads.WithLabelValues("error").Inc()
		g.log.Error("reloading configuration failed; keeping the previous snapshot", "error", err)
		return err
	}
	prev := g.snap.Load()
	if prev == nil {
		prev = emptySnapshot()
	}
	g.publish(g.builder.build(cfg.Version, cfg.APIs, cfg.Policies, prev))
	g.dropPending(cfg.Version)
	g.metrics.Reloads.WithLabelValues("ok").Inc()
	g.log.Info("configuration loaded", "apis", len(cfg.APIs), "policies", len(cfg.Policies), "version", cfg.Version)
	return nil
}
