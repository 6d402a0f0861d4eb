package admin

import (
	"context"
	"errors"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Health and metrics are served on the admin listener only, so that no path of the data
// plane is reserved and neither needs the admin token (probes and scrapers have none).
//
//	/healthz  200 while the process serves HTTP (liveness)
//	/readyz   200 once the store is open and a snapshot is loaded, else 503 (readiness);
//	          200 with "status":"degraded" while a shared store (Redis) is unreachable and
//	          the last snapshot is served (see internal/gateway's gateway.go)
//	/metrics  Prometheus text format
func (h *handler) observabilityRoutes(mux *http.ServeMux, gatherer prometheus.Gatherer) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		degraded, err := h.ready(r.Context())
		switch {
		case err != nil:
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": err.Error()})
			return
		case degraded != "":
			writeJSON(w, http.StatusOK, map[string]string{"status": "degraded", "reason": degraded})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	if gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}))
	}
}

// ready reports whether the gateway can serve: nil, or degraded (a shared store that cannot
// be reached while the last snapshot is served), or an error (not ready).
func (h *handler) ready(ctx context.Context) (degraded string, err error) {
	if h.config == nil || h.config.Snapshot() == nil {
		return "", errors.New("no configuration snapshot loaded")
	}
	if err := h.store.Ready(ctx); err != nil {
		if h.store.Shared() {
			return "configuration store (Redis) unreachable: serving the last loaded configuration; admin writes answer 503", nil
		}
		return "", err
	}
	return "", nil
}
