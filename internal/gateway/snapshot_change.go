package gateway

import (
	"slices"
	"strings"
	"sync"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

// configChange is one committed store write, applied to a snapshot without reading the
// store again: the API or policy as stored now, or nil once deleted.
type configChange struct {
	version  int64
	apiID    string
	api      *adminapi.API
	policyID string
	policy   *adminapi.Policy
}

// apply returns s with c in it, at c's version. Only what c touches is copied: the changed
// API's entries in the route tables, the changed policy's in the policy index.
func (b *snapshotBuilder) apply(s *snapshot, c configChange) *snapshot {
	next := *s
	next.version = c.version
	next.metadata = new(sync.Map) // documents depend on APIs and policies alike
	switch {
	case c.apiID != "":
		old, _ := next.routes.byID.Get(c.apiID)
		if old != nil {
			next.removeRoute(old)
		}
		if c.api != nil {
			next.addRoute(b, c.api, old)
		}
		if old != nil && old.jwksURI != "" {
			if _, used := next.jwksUsers.Get(old.jwksURI); !used {
				b.validators.Retain(next.jwksInUse())
			}
		}
	case c.policyID != "":
		if old, ok := next.policies.byID.Get(c.policyID); ok {
			next.policies = next.policies.without(old)
		}
		if c.policy != nil {
			next.policies = next.policies.with(b.compilePolicy(*c.policy))
		}
	}
	return &next
}

// addRoute builds api's route (keeping old's validator when its token settings are the
// same) and adds it. An API whose route cannot be built is logged and left out: the store
// validated it, and one bad row must not take the others down.
func (s *snapshot) addRoute(b *snapshotBuilder, api *adminapi.API, old *route) {
	r, err := b.route(api, old)
	if err != nil {
		b.log.Error("protected API skipped: invalid stored configuration", "api", api.Name, "api_id", api.ID, "error", err)
		return
	}
	ri := &s.routes
	ri.byID = ri.byID.Set(r.id, r)
	ri.countDepth(r.listenPath, 1)
	if r.caseInsensitive {
		ri.caseInsensitive++
	}
	if len(r.hosts) == 0 {
		ri.anyHost = ri.anyHost.Set(r.listenPath, r)
	}
	for _, h := range r.hosts {
		t, ok := ri.byHost.Get(h)
		if !ok {
			t = newRouteTable()
		}
		ri.byHost = ri.byHost.Set(h, t.Set(r.listenPath, r))
	}
	if r.jwksURI != "" {
		n, _ := s.jwksUsers.Get(r.jwksURI)
		s.jwksUsers = s.jwksUsers.Set(r.jwksURI, n+1)
	}
	if r.resource != nil {
		s.resources = s.resources.Set(r.resource.key, r)
	}
}

// removeRoute takes r out of every table that still points to it.
func (s *snapshot) removeRoute(r *route) {
	ri := &s.routes
	ri.byID = ri.byID.Delete(r.id)
	ri.countDepth(r.listenPath, -1)
	if r.caseInsensitive {
		ri.caseInsensitive--
	}
	if cur, _ := ri.anyHost.Get(r.listenPath); cur == r {
		ri.anyHost = ri.anyHost.Delete(r.listenPath)
	}
	for _, h := range r.hosts {
		t, ok := ri.byHost.Get(h)
		if !ok {
			continue
		}
		if cur, _ := t.Get(r.listenPath); cur != r {
			continue
		}
		if t = t.Delete(r.listenPath); t.Len() == 0 {
			ri.byHost = ri.byHost.Delete(h)
		} else {
			ri.byHost = ri.byHost.Set(h, t)
		}
	}
	if r.resource != nil {
		if cur, _ := s.resources.Get(r.resource.key); cur == r {
			s.resources = s.resources.Delete(r.resource.key)
		}
	}
	if r.jwksURI != "" {
		if n, _ := s.jwksUsers.Get(r.jwksURI); n > 1 {
			s.jwksUsers = s.jwksUsers.Set(r.jwksURI, n-1)
		} else {
			s.jwksUsers = s.jwksUsers.Delete(r.jwksURI)
		}
	}
}

// jwksInUse describes, for apiValidatorSource.Retain, the jwks_uris some API still uses:
// one API per URI is enough for it.
func (s *snapshot) jwksInUse() []adminapi.API {
	out := make([]adminapi.API, 0, s.jwksUsers.Len())
	for it := s.jwksUsers.Iterator(); !it.Done(); {
		uri, _, _ := it.Next()
		out = append(out, adminapi.API{JWT: &adminapi.JWTValidation{JWKSURI: uri}})
	}
	return out
}

// with returns idx with p added (a policy with the same id must have been removed first).
// A client's policies stay in id order, so the first granting one is deterministic.
func (idx policyIndex) with(p *compiledPolicy) policyIndex {
	idx.byID = idx.byID.Set(p.id, p)
	idx.byName = idx.byName.Set(p.name, p)
	for _, c := range p.clientIDs {
		list, _ := idx.byClientID.Get(c)
		i, _ := slices.BinarySearchFunc(list, p.id, func(q *compiledPolicy, id string) int { return strings.Compare(q.id, id) })
		idx.byClientID = idx.byClientID.Set(c, slices.Insert(slices.Clone(list), i, p))
	}
	return idx
}

// without returns idx with p taken out.
func (idx policyIndex) without(p *compiledPolicy) policyIndex {
	idx.byID = idx.byID.Delete(p.id)
	if cur, _ := idx.byName.Get(p.name); cur == p {
		idx.byName = idx.byName.Delete(p.name)
	}
	for _, c := range p.clientIDs {
		list, _ := idx.byClientID.Get(c)
		rest := slices.DeleteFunc(slices.Clone(list), func(q *compiledPolicy) bool { return q == p })
		if len(rest) == 0 {
			idx.byClientID = idx.byClientID.Delete(c)
		} else {
			idx.byClientID = idx.byClientID.Set(c, rest)
		}
	}
	return idx
}
