package request

import (
	"net/http"

	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/accesslog"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/metrics"
)

// isPreflight reports whether r is a CORS preflight: OPTIONS with Origin and
// Access-Control-Request-Method.
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != ""
}

// corsRefused is the answer to a preflight whose origin, method or headers the API's CORS
// does not allow: without CORS headers, so the browser refuses the call.
func corsRefused() *refusal {
	return &refusal{outcome: metrics.Forbidden, status: http.StatusForbidden, code: "cors_refused",
		description: "this origin, method or request header is not allowed to call this API from a browser"}
}

// answerPreflight answers a preflight to an API with CORS (d.route.CORS): 204 with the
// Access-Control-Allow-* headers, or 403 without them. No token is asked for, none is
// checked, nothing is proxied.
func (c *Checker) answerPreflight(w http.ResponseWriter, r *http.Request, rec *accesslog.Record, d *decision) {
	if !d.route.CORS.Preflight(w.Header(), r) {
		c.refuse(w, rec, d, corsRefused())
		return
	}
	d.route.Metrics.Outcomes[metrics.Preflight].Inc()
	d.log(rec, metrics.Preflight)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}
