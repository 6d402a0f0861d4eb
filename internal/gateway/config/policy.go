package config

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/benbjohnson/immutable"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/limits"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
)

// Policy is an access policy prepared for the request path: grants indexed by API,
// methods as a bit set and path patterns split into segments once, when the snapshot is
// built, so that deciding a request allocates nothing.
type Policy struct {
	ID, Name  string
	ClientIDs []string           // sorted, distinct
	Grants    map[string][]Grant // by API id
	// Limits are its rate limit and quota as the limiters count them.
	Limits      limits.Policy
	MaxTokenAge time.Duration
	// compileErr is set when some of its conditions no longer compile (they are then never
	// met); the snapshot builder logs it.
	compileErr error
}

type Grant struct {
	Index      int           // in the policy's access_rights
	methods    methodSet     // zero: every method
	paths      []pathPattern // nil: every path
	Scopes     []string
	conditions Conditions
	// RawMethods and RawPaths are the access right's, for a decision's reasons.
	RawMethods, RawPaths []string
}

func CompilePolicy(p adminapi.Policy) *Policy {
	cp := &Policy{
		ID: p.ID, Name: p.Name,
		ClientIDs:   slices.Compact(slices.Sorted(slices.Values(p.ClientIDs))),
		Grants:      make(map[string][]Grant, len(p.AccessRights)),
		MaxTokenAge: p.MaxTokenAge.D(),
	}
	cp.Limits.ID = p.ID
	if p.RateLimit != nil {
		l := *p.RateLimit
		cp.Limits.Rate = &l
	}
	if p.Quota != nil {
		l := *p.Quota
		cp.Limits.Quota = &l
	}
	for i, ar := range p.AccessRights {
		g := Grant{Index: i, Scopes: ar.RequiredScopes, RawMethods: ar.Methods, RawPaths: ar.Paths}
		var err error
		if g.conditions, err = compileConditions(fmt.Sprintf("access_rights[%d].conditions", i), ar.Conditions); err != nil && cp.compileErr == nil {
			cp.compileErr = err
		}
		for _, m := range ar.Methods {
			g.methods |= methodBit(m)
		}
		for _, pat := range ar.Paths {
			g.paths = append(g.paths, compilePattern(pat))
		}
		cp.Grants[ar.APIID] = append(cp.Grants[ar.APIID], g)
	}
	return cp
}

// methodSet is a bit set of the methods in adminapi.Methods (bit i for Methods[i]; there
// are fewer than 15); a method outside it is only granted by a grant that names no methods.
type methodSet uint16

const otherMethod methodSet = 1 << 15

func methodBit(m string) methodSet {
	for i, name := range adminapi.Methods {
		if m == name {
			return 1 << i
		}
	}
	return otherMethod
}

func (s methodSet) allows(m methodSet) bool { return s == 0 || (s&m != 0 && m != otherMethod) }

// pathPattern is an access-right path: literal segments and "*" (exactly one non-empty
// segment), optionally ending in "**" (the path itself and anything below it).
type pathPattern struct {
	segs     []string
	anyDepth bool
}

func compilePattern(p string) pathPattern {
	s := strings.Trim(p, "/")
	if s == "" {
		return pathPattern{}
	}
	segs := strings.Split(s, "/")
	if segs[len(segs)-1] == "**" {
		return pathPattern{segs: segs[:len(segs)-1], anyDepth: true}
	}
	return pathPattern{segs: segs}
}

// match reports whether path (relative to the listen path, starting with "/") matches. A
// trailing slash on the request path is ignored.
func (pp *pathPattern) match(path string) bool {
	if len(path) > 1 && path[len(path)-1] == '/' {
		path = path[:len(path)-1]
	}
	rest := strings.TrimPrefix(path, "/")
	more := rest != ""
	for _, seg := range pp.segs {
		if !more {
			return false
		}
		cur := rest
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			cur, rest = rest[:i], rest[i+1:]
		} else {
			rest, more = "", false
		}
		if seg == "*" {
			if cur == "" {
				return false
			}
		} else if seg != cur {
			return false
		}
	}
	return pp.anyDepth || !more
}

// AllowsMethod reports whether the grant's methods include method.
func (g *Grant) AllowsMethod(method string) bool { return g.methods.allows(methodBit(method)) }

func (g *Grant) matches(method methodSet, path string) bool {
	if !g.methods.allows(method) {
		return false
	}
	if g.paths == nil {
		return true
	}
	for i := range g.paths {
		if g.paths[i].match(path) {
			return true
		}
	}
	return false
}

// Verdict is what the policy engine decided about one request.
type Verdict int

const (
	VerdictAllowed   Verdict = iota
	VerdictDenied            // no policy bound to the token grants this API, method and path
	VerdictScope             // a grant matched but the token lacks its required scopes
	VerdictTooOld            // the only granting policies refuse a token this old
	VerdictCondition         // a grant matched but one of its conditions is not met
)

// PolicyIndex finds the policies bound to a token: by client id (each client's in policy
// id order), or named (by id, else by name) in the API's policy claim. Its maps are
// persistent, changed by with and without (snapshot_change.go).
type PolicyIndex struct {
	byID       *immutable.Map[string, *Policy]
	byName     *immutable.Map[string, *Policy]
	byClientID *immutable.Map[string, []*Policy]
}

func newPolicyIndex() PolicyIndex {
	return PolicyIndex{
		byID:       immutable.NewMap[string, *Policy](nil),
		byName:     immutable.NewMap[string, *Policy](nil),
		byClientID: immutable.NewMap[string, []*Policy](nil),
	}
}

// byRef finds the policy a policy claim value names: by id, else by name.
func (idx *PolicyIndex) byRef(ref string) *Policy {
	if p, ok := idx.byID.Get(ref); ok {
		return p
	}
	p, _ := idx.byName.Get(ref)
	return p
}

// Authorize returns the first policy bound to id that grants apiID, method and path, or a
// verdict explaining the refusal; for verdictScope it also returns the scopes that would
// have satisfied the closest grant. Grant conditions are evaluated with cond (nil: a grant
// with conditions never applies), last, so that the cheaper checks go first; cond notes the
// first one that failed.
func (idx *PolicyIndex) Authorize(apiID string, id *token.Identity, method, path string, now time.Time, cond *ConditionSource) (*Policy, Verdict, []string) {
	return idx.AuthorizeTraced(apiID, id, method, path, now, cond, nil)
}

// AuthorizeTraced is Authorize, noting in tr (when non-nil: a decision without traffic)
// each policy it tried and what each grant found.
func (idx *PolicyIndex) AuthorizeTraced(apiID string, id *token.Identity, method, path string, now time.Time, cond *ConditionSource, tr *PolicyTrace) (*Policy, Verdict, []string) {
	m := methodBit(method)
	best := VerdictDenied
	var missing []string
	try := func(p *Policy, byClaim bool) bool {
		var pt *PolicyTry
		if tr != nil {
			pt = tr.add(p, byClaim)
		}
		for i := range p.Grants[apiID] {
			g := &p.Grants[apiID][i]
			if !g.matches(m, path) {
				pt.note(g, GrantNoMatch)
				continue
			}
			if !hasScopes(id, g.Scopes) {
				pt.note(g, GrantScope)
				if best == VerdictDenied {
					best, missing = VerdictScope, g.Scopes
				}
				continue
			}
			if p.MaxTokenAge > 0 && (id.IssuedAt.IsZero() || now.Sub(id.IssuedAt) > p.MaxTokenAge) {
				pt.note(g, GrantTooOld)
				best = VerdictTooOld
				continue
			}
			if !cond.Holds(&g.conditions, p) {
				pt.note(g, GrantCondition)
				if best != VerdictTooOld {
					best, missing = VerdictCondition, nil
				}
				continue
			}
			pt.note(g, GrantGranted)
			return true
		}
		return false
	}
	if id.ClientID != "" {
		bound, _ := idx.byClientID.Get(id.ClientID)
		for _, p := range bound {
			if try(p, false) {
				return p, VerdictAllowed, nil
			}
		}
	}
	for _, ref := range id.Policies {
		if p := idx.byRef(ref); p != nil && try(p, true) {
			return p, VerdictAllowed, nil
		} else if p == nil && tr != nil {
			tr.UnknownRefs = append(tr.UnknownRefs, ref)
		}
	}
	return nil, best, missing
}

// PolicyTrace is what AuthorizeTraced found, for a decision's reasons: each policy tried, in
// order, and the policy claim values that name no policy.
type PolicyTrace struct {
	Tries       []PolicyTry
	UnknownRefs []string
}

// PolicyTry is one policy tried and what each of its grants for the API found.
type PolicyTry struct {
	Policy  *Policy
	ByClaim bool
	Grants  []GrantResult
}

type GrantResult struct {
	Grant   *Grant
	Outcome GrantOutcome
}

type GrantOutcome int

const (
	GrantNoMatch   GrantOutcome = iota // method or path not granted
	GrantScope                         // the token lacks the grant's scopes
	GrantTooOld                        // the token is older than the policy's max_token_age
	GrantCondition                     // one of the grant's conditions does not hold
	GrantGranted
)

func (tr *PolicyTrace) add(p *Policy, byClaim bool) *PolicyTry {
	tr.Tries = append(tr.Tries, PolicyTry{Policy: p, ByClaim: byClaim})
	return &tr.Tries[len(tr.Tries)-1]
}

func (pt *PolicyTry) note(g *Grant, o GrantOutcome) {
	if pt != nil {
		pt.Grants = append(pt.Grants, GrantResult{Grant: g, Outcome: o})
	}
}

func hasScopes(id *token.Identity, scopes []string) bool {
	for _, s := range scopes {
		if !id.HasScope(s) {
			return false
		}
	}
	return true
}
