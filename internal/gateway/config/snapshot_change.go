package config

import (
	"slices"
	"strings"
	"sync"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

// Change is one committed store write, applied to a snapshot without reading the
// store again: the API or policy as stored now, or nil once deleted.
type Change struct {
	Version  int64
	APIID    string
	API      *adminapi.API
	PolicyID string
	Policy   *adminapi.Policy
}

// apply returns s with c in it, at c's version. Only what c touches is copied: the changed
// API's entries in the route tables, the changed policy's in the policy index.
func (b *Builder) apply(s *Snapshot, c Change) *Snapshot {
	next := *s
	next.version = c.Version
	next.metadata = new(sync.Map) // documents depend on APIs and policies alike
	switch {
	case c.APIID != "":
		old, _ := next.routes.byID.Get(c.APIID)
		if old != nil {
			next.removeRoute(old)
		}
		if c.API != nil {
			next.addRoute(b, c.API, old)
		}
		if old != nil && old.jwksURI != "" {
			if _, used := next.jwksUsers.Get(old.jwksURI); !used {
				b.Validators.Retain(next.jwksInUse())
			}
		}
	case c.PolicyID != "":
		if old, ok := next.Policies.byID.Get(c.PolicyID); ok {
			next.Policies = next.Policies.without(old)
		}
		if c.Policy != nil {
			next.Policies = next.Policies.with(b.compilePolicy(*c.Policy))
		}
	}
	return &next
}

// addRoute builds api's route (keeping old's validator when its token settings are the
// same) and adds it. An API whose route cannot be built is logged and left out: the store
// validated it, and one bad row must not take the others down.
func (s *Snapshot) addRoute(b *Builder, api *adminapi.API, old *Route) {
	r, err := b.route(api, old)
	if err != nil {
		b.Log.Error("protected API skipped: invalid stored configuration", "api", api.Name, "api_id", api.ID, "error", err)
		return
	}
	ri := &s.routes
	ri.byID = ri.byID.Set(r.ID, r)
	ri.countDepth(r.ListenPath, 1)
	if r.CaseInsensitive {
		ri.caseInsensitive++
	}
	if len(r.Hosts) == 0 {
		ri.anyHost = ri.anyHost.Set(r.ListenPath, r)
	}
	for _, h := range r.Hosts {
		t, ok := ri.byHost.Get(h)
		if !ok {
			t = newRouteTable()
		}
		ri.byHost = ri.byHost.Set(h, t.Set(r.ListenPath, r))
	}
	if r.jwksURI != "" {
		n, _ := s.jwksUsers.Get(r.jwksURI)
		s.jwksUsers = s.jwksUsers.Set(r.jwksURI, n+1)
	}
	if r.Resource != nil {
		s.resources = s.resources.Set(r.Resource.key, r)
	}
}

// removeRoute takes r out of every table that still points to it.
func (s *Snapshot) removeRoute(r *Route) {
	ri := &s.routes
	ri.byID = ri.byID.Delete(r.ID)
	ri.countDepth(r.ListenPath, -1)
	if r.CaseInsensitive {
		ri.caseInsensitive--
	}
	if cur, _ := ri.anyHost.Get(r.ListenPath); cur == r {
		ri.anyHost = ri.anyHost.Delete(r.ListenPath)
	}
	for _, h := range r.Hosts {
		t, ok := ri.byHost.Get(h)
		if !ok {
			continue
		}
		if cur, _ := t.Get(r.ListenPath); cur != r {
			continue
		}
		if t = t.Delete(r.ListenPath); t.Len() == 0 {
			ri.byHost = ri.byHost.Delete(h)
		} else {
			ri.byHost = ri.byHost.Set(h, t)
		}
	}
	if r.Resource != nil {
		if cur, _ := s.resources.Get(r.Resource.key); cur == r {
			s.resources = s.resources.Delete(r.Resource.key)
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
func (s *Snapshot) jwksInUse() []adminapi.API {
	out := make([]adminapi.API, 0, s.jwksUsers.Len())
	for it := s.jwksUsers.Iterator(); !it.Done(); {
		uri, _, _ := it.Next()
		out = append(out, adminapi.API{JWT: &adminapi.JWTValidation{JWKSURI: uri}})
	}
	return out
}

// with returns idx with p added (a policy with the same id must have been removed first).
// A client's policies stay in id order, so the first granting one is deterministic.
func (idx PolicyIndex) with(p *Policy) PolicyIndex {
	idx.byID = idx.byID.Set(p.ID, p)
	idx.byName = idx.byName.Set(p.Name, p)
	for _, c := range p.ClientIDs {
		list, _ := idx.byClientID.Get(c)
		i, _ := slices.BinarySearchFunc(list, p.ID, func(q *Policy, id string) int { return strings.Compare(q.ID, id) })
		idx.byClientID = idx.byClientID.Set(c, slices.Insert(slices.Clone(list), i, p))
	}
	return idx
}

// without returns idx with p taken out.
func (idx PolicyIndex) without(p *Policy) PolicyIndex {
	idx.byID = idx.byID.Delete(p.ID)
	if cur, _ := idx.byName.Get(p.Name); cur == p {
		idx.byName = idx.byName.Delete(p.Name)
	}
	for _, c := range p.ClientIDs {
		list, _ := idx.byClientID.Get(c)
		rest := slices.DeleteFunc(slices.Clone(list), func(q *Policy) bool { return q == p })
		if len(rest) == 0 {
			idx.byClientID = idx.byClientID.Delete(c)
		} else {
			idx.byClientID = idx.byClientID.Set(c, rest)
		}
	}
	return idx
}
