package gateway

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Health and metrics are served on the admin listener only, so that no path of the data
// plane is reserved and neither needs the admin token (probes and scrapers have none).
//
//	/healthz  200 while the process serves HTTP (liveness)
//	/readyz   200 once the store is open and a snapshot is loaded, else 503 (readiness);
//	          200 with "status":"degraded" while a shared store (Redis) is unreachable and
//	          the last snapshot is served (see gateway.go)
//	/metrics  Prometheus text format
func (g *Gateway) observabilityRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		degraded, err := g.ready(r.Context())
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
	if g.metrics.Gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(g.metrics.Gatherer, promhttp.HandlerOpts{}))
	}
}
