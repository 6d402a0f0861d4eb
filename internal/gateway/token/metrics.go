package token

import (
	"errors"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
)

// counterVec registers a counter vector labelled by result, or reuses the one already
// registered under the same name (several factories in one process, as in tests), and
// exports a zero for each of results. A nil reg leaves the counter unregistered.
func counterVec(reg prometheus.Registerer, log *slog.Logger, name, help string, results ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{"result"})
	if reg != nil {
		if err := reg.Register(c); err != nil {
			if existing, ok := alreadyRegistered(err); ok {
				c = existing
			} else {
				log.Warn("metric not registered", "metric", name, "error", err)
			}
		}
	}
	for _, r := range results {
		c.WithLabelValues(r) // export zeros
	}
	return c
}

// alreadyRegistered returns the counter vector a failed Register found in its place.
func alreadyRegistered(err error) (*prometheus.CounterVec, bool) {
	var already prometheus.AlreadyRegisteredError
	if !errors.As(err, &already) {
		return nil, false
	}
	c, ok := already.ExistingCollector.(*prometheus.CounterVec)
	return c, ok
}
