package config

import (
	"fmt"
	"slices"
	"strings"
)

// Describe lists what the snapshot serves, in a stable order: two snapshots that serve the
// same configuration describe alike, however they were built (for tests and debugging).
func (s *Snapshot) Describe() string {
	var out []string
	table := func(prefix string, t routeTable) {
		for it := t.Iterator(); !it.Done(); {
			path, r, _ := it.Next()
			out = append(out, fmt.Sprintf("%s%s=%s", prefix, path, r.ID))
		}
	}
	table("*", s.routes.anyHost)
	for it := s.routes.byHost.Iterator(); !it.Done(); {
		host, t, _ := it.Next()
		table(host, t)
	}
	for it := s.routes.byID.Iterator(); !it.Done(); {
		id, r, _ := it.Next()
		out = append(out, fmt.Sprintf("api %s %s %s %v %s validator=%v", id, r.Name, r.ListenPath, r.Hosts, r.jwksURI, r.Validator != nil))
	}
	for it := s.Policies.byID.Iterator(); !it.Done(); {
		id, p, _ := it.Next()
		out = append(out, fmt.Sprintf("policy %s %s %v %d", id, p.Name, p.ClientIDs, len(p.Grants)))
	}
	for it := s.Policies.byName.Iterator(); !it.Done(); {
		name, p, _ := it.Next()
		out = append(out, "name "+name+"="+p.ID)
	}
	for it := s.Policies.byClientID.Iterator(); !it.Done(); {
		c, ps, _ := it.Next()
		ids := make([]string, len(ps))
		for i, p := range ps {
			ids[i] = p.ID
		}
		out = append(out, "client "+c+"="+strings.Join(ids, ","))
	}
	for it := s.jwksUsers.Iterator(); !it.Done(); {
		uri, n, _ := it.Next()
		out = append(out, fmt.Sprintf("jwks %s=%d", uri, n))
	}
	slices.Sort(out)
	return fmt.Sprintf("version %d: %s", s.version, strings.Join(out, "; "))
}

// Entries counts the entries of the snapshot's indexes (routes by host and path, APIs,
// policies by name and client id, jwks_uris in use): zero when it serves nothing, however
// many changes it went through.
func (s *Snapshot) Entries() int {
	return s.routes.byHost.Len() + s.routes.anyHost.Len() + s.routes.byID.Len() + s.Policies.byName.Len() +
		s.Policies.byClientID.Len() + s.jwksUsers.Len()
}

// APIs counts the protected APIs the snapshot serves.
func (s *Snapshot) APIs() int { return s.routes.byID.Len() }

// API is the route of the API with this id, or nil.
func (s *Snapshot) API(id string) *Route {
	r, _ := s.routes.byID.Get(id)
	return r
}

// Version is the store version the snapshot holds every write up to.
func (s *Snapshot) Version() int64 { return s.version }

// Routes counts the routes the snapshot finds by host and path: those of the APIs that name
// no host, and per host those that name it.
func (s *Snapshot) Routes() int {
	n := s.routes.anyHost.Len()
	for it := s.routes.byHost.Iterator(); !it.Done(); {
		_, t, _ := it.Next()
		n += t.Len()
	}
	return n
}

// MaxDepth is the most segments of any listen path: Lookup tries no longer prefix of a path.
func (s *Snapshot) MaxDepth() int { return s.routes.maxDepth }
