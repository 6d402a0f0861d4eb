package gateway

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

// compiledPolicy is an access policy prepared for the request path: grants indexed by API,
// methods as a bit set and path patterns split into segments once, when the snapshot is
// built, so that deciding a request allocates nothing.
type compiledPolicy struct {
	id, name    string
	clientIDs   []string           // sorted, distinct
	grants      map[string][]grant // by API id
	rateLimit   *adminapi.Limit
	quota       *adminapi.Limit
	limits      limits.Policy // id, rateLimit and quota, as the limiters take them
	maxTokenAge time.Duration
	// compileErr is set when some of its conditions no longer compile (they are then never
	// met); the snapshot builder logs it.
	compileErr error
}

type grant struct {
	index      int           // in the policy's access_rights
	methods    methodSet     // zero: every method
	paths      []pathPattern // nil: every path
	scopes     []string
	conditions conditions
	// rawMethods and rawPaths are the access right's, for a decision's reasons.
	rawMethods, rawPaths []string
}

func compilePolicy(p adminapi.Policy) *compiledPolicy {
	cp := &compiledPolicy{
		id: p.ID, name: p.Name,
		clientIDs:   slices.Compact(slices.Sorted(slices.Values(p.ClientIDs))),
		grants:      make(map[string][]grant, len(p.AccessRights)),
		maxTokenAge: p.MaxTokenAge.D(),
	}
	if p.RateLimit != nil {
		l := *p.RateLimit
		cp.rateLimit = &l
	}
	if p.Quota != nil {
		l := *p.Quota
		cp.quota = &l
	}
	cp.limits = limits.Policy{ID: cp.id, Rate: cp.rateLimit, Quota: cp.quota}
	for i, ar := range p.AccessRights {
		g := grant{index: i, scopes: ar.RequiredScopes, rawMethods: ar.Methods, rawPaths: ar.Paths}
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
		cp.grants[ar.APIID] = append(cp.grants[ar.APIID], g)
	}
	return cp
}

// methodSet is a bit set of the methods in adminapi.Methods; a method outside it is only
// granted by a grant that names no methods.
type methodSet uint16

const otherMethod methodSet = 1 << 15

func methodBit(m string) methodSet {
	switch m {
	case "GET":
		return 1 << 0
	case "HEAD":
		return 1 << 1
	case "POST":
		return 1 << 2
	case "PUT":
		return 1 << 3
	case "PATCH":
		return 1 << 4
	case "DELETE":
		return 1 << 5
	case "OPTIONS":
		return 1 << 6
	case "CONNECT":
		return 1 << 7
	case "TRACE":
		return 1 << 8
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

func (g *grant) matches(method methodSet, path string) bool {
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

// verdict is what the policy engine decided about one request.
type verdict int

const (
	verdictAllowed   verdict = iota
	verdictDenied            // no policy bound to the token grants this API, method and path
	verdictScope             // a grant matched but the token lacks its required scopes
	verdictTooOld            // the only granting policies refuse a token this old
	verdictCondition         // a grant matched but one of its conditions is not met
)

// policyIndex finds the policies bound to a token: by client id (each client's in policy
// id order), or named (by id, else by name) in the API's policy claim. Its maps are
// persistent, changed by with and without (snapshot_change.go).
type policyIndex struct {
	byID       *immutable.Map[string, *compiledPolicy]
	byName     *immutable.Map[string, *compiledPolicy]
	byClientID *immutable.Map[string, []*compiledPolicy]
}

func newPolicyIndex() policyIndex {
	return policyIndex{
		byID:       immutable.NewMap[string, *compiledPolicy](nil),
		byName:     immutable.NewMap[string, *compiledPolicy](nil),
		byClientID: immutable.NewMap[string, []*compiledPolicy](nil),
	}
}

// byRef finds the policy a policy claim value names: by id, else by name.
func (idx *policyIndex) byRef(ref string) *compiledPolicy {
	if p, ok := idx.byID.Get(ref); ok {
		return p
	}
	p, _ := idx.byName.Get(ref)
	return p
}

// authorize returns the first policy bound to id that grants apiID, method and path, or a
// verdict explaining the refusal; for verdictScope it also returns the scopes that would
// have satisfied the closest grant. Grant conditions are evaluated with cond (nil: a grant
// with conditions never applies), last, so that the cheaper checks go first; cond notes the
// first one that failed.
func (idx *policyIndex) authorize(apiID string, id *token.Identity, method, path string, now time.Time, cond *conditionSource) (*compiledPolicy, verdict, []string) {
	return idx.authorizeTraced(apiID, id, method, path, now, cond, nil)
}

// authorizeTraced is authorize, noting in tr (when non-nil: a decision without traffic)
// each policy it tried and what each grant found.
func (idx *policyIndex) authorizeTraced(apiID string, id *token.Identity, method, path string, now time.Time, cond *conditionSource, tr *policyTrace) (*compiledPolicy, verdict, []string) {
	m := methodBit(method)
	best := verdictDenied
	var missing []string
	try := func(p *compiledPolicy, byClaim bool) bool {
		var pt *policyTry
		if tr != nil {
			pt = tr.add(p, byClaim)
		}
		for i := range p.grants[apiID] {
			g := &p.grants[apiID][i]
			if !g.matches(m, path) {
				pt.note(g, grantNoMatch)
				continue
			}
			if !hasScopes(id, g.scopes) {
				pt.note(g, grantScope)
				if best == verdictDenied {
					best, missing = verdictScope, g.scopes
				}
				continue
			}
			if p.maxTokenAge > 0 && (id.IssuedAt.IsZero() || now.Sub(id.IssuedAt) > p.maxTokenAge) {
				pt.note(g, grantTooOld)
				best = verdictTooOld
				continue
			}
			if !cond.holds(&g.conditions, p) {
				pt.note(g, grantCondition)
				if best != verdictTooOld {
					best, missing = verdictCondition, nil
				}
				continue
			}
			pt.note(g, grantGranted)
			return true
		}
		return false
	}
	if id.ClientID != "" {
		bound, _ := idx.byClientID.Get(id.ClientID)
		for _, p := range bound {
			if try(p, false) {
				return p, verdictAllowed, nil
			}
		}
	}
	for _, ref := range id.Policies {
		if p := idx.byRef(ref); p != nil && try(p, true) {
			return p, verdictAllowed, nil
		} else if p == nil && tr != nil {
			tr.unknownRefs = append(tr.unknownRefs, ref)
		}
	}
	return nil, best, missing
}

// policyTrace is what authorizeTraced found, for a decision's reasons: each policy tried, in
// order, and the policy claim values that name no policy.
type policyTrace struct {
	tries       []policyTry
	unknownRefs []string
}

// policyTry is one policy tried and what each of its grants for the API found.
type policyTry struct {
	policy  *compiledPolicy
	byClaim bool
	grants  []grantResult
}

type grantResult struct {
	grant   *grant
	outcome grantOutcome
}

type grantOutcome int

const (
	grantNoMatch   grantOutcome = iota // method or path not granted
	grantScope                         // the token lacks the grant's scopes
	grantTooOld                        // the token is older than the policy's max_token_age
	grantCondition                     // one of the grant's conditions does not hold
	grantGranted
)

func (tr *policyTrace) add(p *compiledPolicy, byClaim bool) *policyTry {
	tr.tries = append(tr.tries, policyTry{policy: p, byClaim: byClaim})
	return &tr.tries[len(tr.tries)-1]
}

func (pt *policyTry) note(g *grant, o grantOutcome) {
	if pt != nil {
		pt.grants = append(pt.grants, grantResult{grant: g, outcome: o})
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
