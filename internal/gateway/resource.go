package gateway

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/accesslog"
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

// routeResource is what a route with a resource keeps for its metadata and challenges.
type routeResource struct {
	// key is adminapi.ResourceKey: where the metadata is served.
	key string
	// metadataURL is the resource's well-known URL, named in challenges.
	metadataURL string
	// doc is the metadata without scopes_supported when scopes is nil.
	doc adminapi.ProtectedResourceMetadata
	// explicit: doc.ScopesSupported is the API's scopes_supported; otherwise the scopes are
	// the API's required scopes (required) and those of the policies granting it, read from
	// the snapshot each time.
	explicit bool
	required []string
}

// newRouteResource prepares api's metadata; nil when api has no resource.
func newRouteResource(api *adminapi.API) *routeResource {
	if api.Resource == "" {
		return nil
	}
	rr := &routeResource{
		key:         adminapi.ResourceKey(api.Resource),
		metadataURL: adminapi.ResourceMetadataURL(api.Resource),
		doc: adminapi.ProtectedResourceMetadata{
			Resource:               api.Resource,
			AuthorizationServers:   slices.Clone(api.MetadataAuthorizationServers()),
			BearerMethodsSupported: []string{"header"},
			ResourceName:           api.ResourceName,
			ResourceDocumentation:  api.ResourceDocumentation,
			// The gateway checks DPoP proofs for every API (sender_constraint.go).
			DPoPSigningAlgValuesSupported: strings.Fields(token.DPoPAlgorithms()),
		},
	}
	switch api.SenderConstraint {
	case adminapi.SenderConstraintDPoP:
		rr.doc.DPoPBoundAccessTokensRequired = true
	case adminapi.SenderConstraintMTLS:
		rr.doc.TLSClientCertificateBoundTokens = true
	case adminapi.SenderConstraintDPoPOrMTLS:
		rr.doc.TLSClientCertificateBoundTokens = true
	}
	if len(api.ScopesSupported) > 0 {
		rr.explicit = true
		rr.doc.ScopesSupported = slices.Clone(api.ScopesSupported)
	} else if api.JWT != nil {
		rr.required = slices.Clone(api.JWT.RequiredScopes)
	} else if api.Introspection != nil {
		rr.required = slices.Clone(api.Introspection.RequiredScopes)
	}
	return rr
}

// lookupResource finds the route whose resource has its metadata at host and path (the
// request path after the well-known prefix).
func (s *snapshot) lookupResource(host, path string) *route {
	rt, _ := s.resources.Get(adminapi.NormalizeHost(host) + "\x00" + path)
	return rt
}

// scopesFor is the metadata's scopes_supported for rt: the explicit list, or the API's
// required scopes and those every policy's access rights to it require, sorted.
func (s *snapshot) scopesFor(rt *route) []string {
	rr := rt.resource
	if rr.explicit {
		return rr.doc.ScopesSupported
	}
	scopes := slices.Clone(rr.required)
	for it := s.policies.byID.Iterator(); !it.Done(); {
		_, p, _ := it.Next()
		for _, g := range p.grants[rt.id] {
			scopes = append(scopes, g.scopes...)
		}
	}
	slices.Sort(scopes)
	return slices.Compact(scopes)
}

// metadataOf is rt's metadata document as served from this snapshot: made once, as the
// scopes read every policy, and the well-known path is open to anyone.
func (s *snapshot) metadataOf(rt *route) ([]byte, error) {
	if body, ok := s.metadata.Load(rt); ok {
		return body.([]byte), nil
	}
	doc := rt.resource.doc
	doc.ScopesSupported = s.scopesFor(rt)
	body, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	s.metadata.Store(rt, body)
	return body, nil
}

// wellKnownBelow reports whether path is the RFC 9728 well-known path or below it, and
// returns the part below it.
func wellKnownBelow(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, adminapi.WellKnownProtectedResource)
	return rest, ok && (rest == "" || rest[0] == '/')
}

// serveResourceMetadata answers a request under the well-known path.
func (g *Gateway) serveResourceMetadata(w http.ResponseWriter, r *http.Request, below string, rec *accesslog.Record) {
	rec.Request(r)
	snap := g.snap.Load()
	host := r.Host
	if g.trustedProxy(r.RemoteAddr) {
		if fh := r.Header.Values("X-Forwarded-Host"); len(fh) == 1 {
			host = fh[0]
		}
	}
	var rt *route
	if r.URL.RawQuery == "" && !r.URL.ForceQuery {
		rt = snap.lookupResource(host, below)
	}
	if rt == nil {
		g.refuse(w, rec, &decision{}, &refusal{outcome: metrics.NoRoute, status: http.StatusNotFound, code: "not_found",
			description: "no protected resource has its metadata at this URL"})
		return
	}
	if rec != nil {
		rec.API, rec.Outcome = rt.name, "resource_metadata"
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
	body, err := snap.metadataOf(rt)
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
func (ref *refusal) withResourceMetadata(rt *route) {
	if rt == nil || rt.resource == nil {
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
	ref.challenge += `, resource_metadata="` + quotable(rt.resource.metadataURL) + `"`
}
