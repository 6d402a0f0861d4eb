package request

import (
	"net/http"
	"strings"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/accesslog"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/config"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/metrics"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
)

// Protected resources (RFC 9728). An API with a resource has its metadata served by the
// proxy listener at the resource's well-known URL (adminapi.ResourceMetadataURL), without a
// token, to requests for the resource's host: the Host header, or X-Forwarded-Host from a
// trusted proxy (an edge proxy that routes the well-known path here). The gateway owns every
// path under adminapi.WellKnownProtectedResource: what no resource claims, a trailing-slash
// or query variant of one that does included, is a 404, never proxied. Its refusals name the
// URL in WWW-Authenticate (withResourceMetadata), and its token check wants the resource in
// aud (internal/gateway/token).

// resourceMetadataCache is how long clients may reuse a metadata document. Configuration
// changes reach them within that time.
const resourceMetadataCache = "public, max-age=300"

// wellKnownBelow reports whether path is the RFC 9728 well-known path or below it, and
// returns the part below it.
func wellKnownBelow(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, adminapi.WellKnownProtectedResource)
	return rest, ok && (rest == "" || rest[0] == '/')
}

// serveResourceMetadata answers a request under the well-known path.
func (c *Checker) serveResourceMetadata(w http.ResponseWriter, r *http.Request, below string, rec *accesslog.Record) {
	rec.Request(r)
	snap := c.config.Snapshot()
	host := r.Host
	if c.trustedProxy(r.RemoteAddr) {
		if fh := r.Header.Values("X-Forwarded-Host"); len(fh) == 1 {
			host = fh[0]
		}
	}
	var rt *config.Route
	if r.URL.RawQuery == "" && !r.URL.ForceQuery {
		rt = snap.LookupResource(host, below)
	}
	if rt == nil {
		c.refuse(w, rec, &decision{}, &refusal{outcome: metrics.NoRoute, status: http.StatusNotFound, code: "not_found",
			description: "no protected resource has its metadata at this URL"})
		return
	}
	if rec != nil {
		rec.API, rec.Outcome = rt.Name, "resource_metadata"
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*") // a public document, read by browser-based clients too
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodOptions:
		h.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "*")
		h.Set("Access-Control-Max-Age", "86400")
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		h.Set("Allow", "GET, HEAD, OPTIONS")
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "the metadata is read with GET")
		return
	}
	body, err := snap.MetadataOf(rt)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "server_error", "")
		return
	}
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", resourceMetadataCache)
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// withResourceMetadata adds resource_metadata (RFC 9728 §5.1) to the challenge of a 401, and
// of the 403 for a missing scope, of an API with a resource.
func (ref *refusal) withResourceMetadata(rt *config.Route) {
	if rt == nil || rt.Resource == nil {
		return
	}
	switch {
	case ref.status == http.StatusUnauthorized && ref.challenge == "":
		ref.challenge = realm
	case ref.status == http.StatusUnauthorized:
	case ref.status == http.StatusForbidden && ref.code == string(token.CodeInsufficientScope):
	default:
		return
	}
	ref.challenge += `, resource_metadata="` + quotable(rt.Resource.MetadataURL) + `"`
}
