package config

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
)

// Protected resources (RFC 9728), as the snapshot holds them; internal/gateway/request's
// resource.go serves them. An API with a resource has its metadata served by the
// proxy listener at the resource's well-known URL (adminapi.ResourceMetadataURL), without a
// token, to requests for the resource's host: the Host header, or X-Forwarded-Host from a
// trusted proxy (an edge proxy that routes the well-known path here). The gateway owns every
// path under adminapi.WellKnownProtectedResource: what no resource claims, a trailing-slash
// or query variant of one that does included, is a 404, never proxied. Its refusals name the
// URL in WWW-Authenticate (the gateway's withResourceMetadata), and its token check wants the resource in
// aud (internal/gateway/token).

// Resource is what a route with a resource keeps for its metadata and challenges.
type Resource struct {
	// key is adminapi.ResourceKey: where the metadata is served.
	key string
	// MetadataURL is the resource's well-known URL, named in challenges.
	MetadataURL string
	// doc is the metadata without scopes_supported when scopes is nil.
	doc adminapi.ProtectedResourceMetadata
	// explicit: doc.ScopesSupported is the API's scopes_supported; otherwise the scopes are
	// the API's required scopes (required) and those of the policies granting it, read from
	// the snapshot each time.
	explicit bool
	required []string
}

// newRouteResource prepares api's metadata; nil when api has no resource.
func newRouteResource(api *adminapi.API) *Resource {
	if api.Resource == "" {
		return nil
	}
	rr := &Resource{
		key:         adminapi.ResourceKey(api.Resource),
		MetadataURL: adminapi.ResourceMetadataURL(api.Resource),
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

// LookupResource finds the route whose resource has its metadata at host and path (the
// request path after the well-known prefix).
func (s *Snapshot) LookupResource(host, path string) *Route {
	rt, _ := s.resources.Get(adminapi.NormalizeHost(host) + "\x00" + path)
	return rt
}

// scopesFor is the metadata's scopes_supported for rt: the explicit list, or the API's
// required scopes and those every policy's access rights to it require, sorted.
func (s *Snapshot) scopesFor(rt *Route) []string {
	rr := rt.Resource
	if rr.explicit {
		return rr.doc.ScopesSupported
	}
	scopes := slices.Clone(rr.required)
	for it := s.Policies.byID.Iterator(); !it.Done(); {
		_, p, _ := it.Next()
		for _, g := range p.Grants[rt.ID] {
			scopes = append(scopes, g.Scopes...)
		}
	}
	slices.Sort(scopes)
	return slices.Compact(scopes)
}

// MetadataOf is rt's metadata document as served from this snapshot: made once, as the
// scopes read every policy, and the well-known path is open to anyone.
func (s *Snapshot) MetadataOf(rt *Route) ([]byte, error) {
	if body, ok := s.metadata.Load(rt); ok {
		return body.([]byte), nil
	}
	doc := rt.Resource.doc
	doc.ScopesSupported = s.scopesFor(rt)
	body, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	s.metadata.Store(rt, body)
	return body, nil
}
