package main

import (
	"net/http"
	"sync"
	"time"
)

// callMeter counts the gateway admin API's calls and how long its handlers took, reads
// and writes apart: the writes are where the gateway's store spends its fsyncs, the share
// of a run that a faster store would save.
type callMeter struct {
	mu     sync.Mutex
	counts callCounts
}

// callCounts is what a callMeter saw since it was last reset.
type callCounts struct {
	reads, writes       int
	readTime, writeTime time.Duration
	writeBusy           time.Duration // wall time during which at least one write was in flight
	inFlight            int
	busySince           time.Time
}

func (m *callMeter) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		write := r.Method != http.MethodGet && r.Method != http.MethodHead
		start := time.Now()
		if write {
			m.mu.Lock()
			if m.counts.inFlight == 0 {
				m.counts.busySince = start
			}
			m.counts.inFlight++
			m.mu.Unlock()
		}
		next.ServeHTTP(w, r)
		end := time.Now()
		m.mu.Lock()
		defer m.mu.Unlock()
		if !write {
			m.counts.reads++
			m.counts.readTime += end.Sub(start)
			return
		}
		m.counts.writes++
		m.counts.writeTime += end.Sub(start)
		m.counts.inFlight--
		if m.counts.inFlight == 0 {
			m.counts.writeBusy += end.Sub(m.counts.busySince)
		}
	})
}

// take returns the counts and starts new ones.
func (m *callMeter) take() callCounts {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.counts
	m.counts = callCounts{inFlight: c.inFlight, busySince: c.busySince}
	return c
}
