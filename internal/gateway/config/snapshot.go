package config

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sort"
	"strings"
	"sync"

	"github.com/benbjohnson/immutable"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/metrics"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
)

// Snapshot is one immutable view of the configuration: the routes, their validators and the
// compiled policies. The proxy picks it up with one atomic load per request, so an update
// never blocks or drops a request in flight.
//
// Its maps are persistent (hash array mapped tries): a change makes a new Snapshot that
// shares everything it does not touch with the old one (snapshot_change.go), so an admin
// write costs the same with one API or a thousand, and no configuration is copied per
// request or per change.
type Snapshot struct {
	// version is the store version the snapshot holds every write up to.
	version  int64
	routes   routeIndex
	Policies PolicyIndex
	// resources finds the APIs with a resource by adminapi.ResourceKey, and metadata holds
	// their documents as served from this snapshot, made on first request (resource.go).
	resources *immutable.Map[string, *Route]
	metadata  *sync.Map
	// jwksUsers counts the APIs using each jwks_uri, to drop a JWKS cache when none does.
	jwksUsers *immutable.Map[string, int]
}

// routeIndex finds routes by host and listen path, and by API id for changes.
type routeIndex struct {
	byID *immutable.Map[string, *Route]
	// anyHost holds the APIs that name no hosts; byHost, per normalized host, those that
	// name it.
	anyHost routeTable
	byHost  *immutable.Map[string, routeTable]
	// depths counts the routes by the number of segments of their listen path ("/" has
	// none), and maxDepth is the deepest with any: lookupPath tries no longer prefix, so a
	// request path of any length costs a bounded number of map lookups. A value, so a
	// snapshot copy is a copy of it.
	depths   [adminapi.MaxPathSegments + 1]int32
	maxDepth int
	// caseInsensitive counts the routes with case_insensitive_paths (path_normalization.go).
	caseInsensitive int
}

// listenPathDepth is the number of segments of a normalized listen path, at most
// adminapi.MaxPathSegments (a deeper one can never match a request the gateway accepts).
func listenPathDepth(p string) int {
	return min(strings.Count(p, "/")-boolInt(p == "/"), adminapi.MaxPathSegments)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// countDepth adds n (1 or -1) routes of listen path p to the depth counts.
func (ri *routeIndex) countDepth(p string, n int32) {
	ri.depths[listenPathDepth(p)] += n
	ri.maxDepth = 0
	for d := len(ri.depths) - 1; d > 0; d-- {
		if ri.depths[d] > 0 {
			ri.maxDepth = d
			break
		}
	}
}

// routeTable is a set of routes by normalized listen path.
type routeTable = *immutable.Map[string, *Route]

func newRouteTable() routeTable { return immutable.NewMap[string, *Route](nil) }

func EmptySnapshot() *Snapshot {
	return &Snapshot{
		routes: routeIndex{byID: immutable.NewMap[string, *Route](nil), anyHost: newRouteTable(),
			byHost: immutable.NewMap[string, routeTable](nil)},
		Policies:  newPolicyIndex(),
		resources: immutable.NewMap[string, *Route](nil),
		metadata:  new(sync.Map),
		jwksUsers: immutable.NewMap[string, int](nil),
	}
}

// Route is one protected API as the request path needs it.
type Route struct {
	ID, Name   string
	ListenPath string   // normalized
	Hosts      []string // normalized; none: any host
	Strip      bool
	// Validator is nil when the API's token validation could not be built; then
	// ValidatorErr is set and the API answers 503. fingerprint identifies the token
	// settings it was built from, so a change that keeps them keeps the validator (and its
	// JWKS and token caches).
	Validator    token.Validator
	ValidatorErr error
	fingerprint  string
	jwksURI      string
	// JWT: tokens are JWTs, whose claims are at most a token's size (conditions.go).
	JWT     bool
	Forward []ForwardedClaim
	// ForwardOverrides lets the method and URL override headers through (internal/gateway/request's header_rules.go).
	ForwardOverrides bool
	// SenderConstraint is the API's sender_constraint (internal/gateway/request's sender_constraint.go).
	SenderConstraint string
	Resource         *Resource // the API's protected resource (resource.go); nil for none
	// Conditions every request to the API must meet (conditions.go).
	Conditions Conditions
	// CORS is nil for an API without CORS (cors.go).
	CORS  *CORSPolicy
	Proxy *httputil.ReverseProxy
	// Metrics are the API's series, resolved once per snapshot so the request path does not
	// hash label values.
	Metrics metrics.Route

	// pathNorm and CaseInsensitive are the API's path_normalization and
	// case_insensitive_paths (path_normalization.go).
	pathNorm        pathMode
	CaseInsensitive bool
}

type ForwardedClaim struct{ Header, Claim string }

var errNoValidator = errors.New("no token validator")

// Lookup finds the API of a request: among those naming its host, then among those naming
// none, the one with the longest listen path that is path or a segment-wise prefix of it.
func (s *Snapshot) Lookup(host, path string) *Route {
	if s.routes.byHost.Len() > 0 {
		if t, ok := s.routes.byHost.Get(adminapi.NormalizeHost(host)); ok {
			if r := lookupPath(t, path, s.routes.maxDepth); r != nil {
				return r
			}
		}
	}
	return lookupPath(s.routes.anyHost, path, s.routes.maxDepth)
}

// lookupPath finds the route with the longest listen path that is path or a segment-wise
// prefix of it ("/api" serves "/api" and "/api/x", never "/apiary"), trying each ancestor of
// at most maxDepth segments, the deepest listen path's: a map lookup hashes its key, so
// trying every ancestor of a path of n segments would cost n times its length.
func lookupPath(t routeTable, path string, maxDepth int) *Route {
	p := path
	for i, depth := 0, 0; i < len(p); i++ {
		if p[i] != '/' {
			continue
		}
		if depth == maxDepth {
			p = p[:max(i, 1)]
			break
		}
		depth++
	}
	for {
		if r, ok := t.Get(p); ok {
			return r
		}
		if p == "/" || p == "" {
			return nil
		}
		i := strings.LastIndexByte(p, '/')
		if i <= 0 {
			p = "/"
		} else {
			p = p[:i]
		}
	}
}

// RelativePath is the request path below the route's listen path, always starting with "/".
func (r *Route) RelativePath(path string) string {
	if r.ListenPath == "/" {
		return path
	}
	rel := path[len(r.ListenPath):]
	if rel == "" {
		return "/"
	}
	return rel
}

func routeValidatorFingerprint(api adminapi.API) string {
	b, _ := json.Marshal(struct {
		J *adminapi.JWTValidation
		I *adminapi.Introspection
		S string
		R string
	}{api.JWT, api.Introspection, secretOf(api), api.ResourceAudience()})
	return string(b)
}

func secretOf(api adminapi.API) string {
	if api.Introspection == nil {
		return ""
	}
	return api.Introspection.ClientSecret
}

// ValidatorSource builds the token validator of one API; *token.Factory is one.
type ValidatorSource interface {
	ForAPI(api adminapi.API) (token.Validator, error)
	// Retain lets the source drop what only APIs outside apis used (JWKS caches).
	Retain(apis []adminapi.API)
	Close()
}

// Builder holds what building a snapshot needs besides the stored objects. What a route
// needs from the rooms above this one (its reverse proxy, its metric series) it makes with
// their functions.
type Builder struct {
	Validators ValidatorSource
	Log        *slog.Logger
	// ReverseProxy builds the upstream side of a route (the request path owns how a request
	// is forwarded and how an upstream failure is answered).
	ReverseProxy func(r *Route, target *url.URL) *httputil.ReverseProxy
	// Metrics holds every API's metric series.
	Metrics *metrics.Metrics
}

// compilePolicy compiles p for the snapshot, logging conditions that no longer compile.
func (b *Builder) compilePolicy(p adminapi.Policy) *Policy {
	cp := CompilePolicy(p)
	if cp.compileErr != nil {
		b.Log.Error("conditions of the access policy do not compile; the grants they guard apply to nobody until they are fixed",
			"policy", p.Name, "policy_id", p.ID, "error", cp.compileErr)
	}
	return cp
}

// build makes a snapshot of every API and policy at version, reusing the validators of
// prev's routes whose token settings are unchanged.
func (b *Builder) build(version int64, apis []adminapi.API, policies []adminapi.Policy, prev *Snapshot) *Snapshot {
	s := EmptySnapshot()
	s.version = version
	sort.Slice(apis, func(i, j int) bool { return apis[i].ID < apis[j].ID })
	for i := range apis {
		old, _ := prev.routes.byID.Get(apis[i].ID)
		s.addRoute(b, &apis[i], old)
	}
	sort.Slice(policies, func(i, j int) bool { return policies[i].ID < policies[j].ID })
	for _, p := range policies {
		s.Policies = s.Policies.with(b.compilePolicy(p))
	}
	b.Validators.Retain(apis)
	return s
}

func (b *Builder) route(api *adminapi.API, old *Route) (*Route, error) {
	target, err := url.Parse(api.UpstreamURL)
	if err != nil {
		return nil, err
	}
	r := &Route{
		ID: api.ID, Name: api.Name,
		ListenPath:       adminapi.NormalizeListenPath(api.ListenPath),
		Strip:            api.StripListenPath,
		ForwardOverrides: api.ForwardOverrideHeaders,
		SenderConstraint: api.SenderConstraint,
		Resource:         newRouteResource(api),
		pathNorm:         pathModeOf(api.PathNormalization),
		CaseInsensitive:  api.CaseInsensitivePaths,
		Metrics:          b.Metrics.ForRoute(api.Name),
	}
	for _, h := range api.Hosts {
		r.Hosts = append(r.Hosts, adminapi.NormalizeHost(h))
	}
	if api.JWT != nil {
		r.jwksURI, r.JWT = api.JWT.JWKSURI, true
	}
	headers := make([]string, 0, len(api.ForwardClaims))
	for h := range api.ForwardClaims {
		headers = append(headers, h)
	}
	sort.Strings(headers)
	for _, h := range headers {
		r.Forward = append(r.Forward, ForwardedClaim{Header: http.CanonicalHeaderKey(h), Claim: api.ForwardClaims[h]})
	}

	if r.Conditions, err = compileConditions("conditions", api.Conditions); err != nil {
		b.Log.Error("the API's conditions do not compile; it refuses every request until they are fixed",
			"api", api.Name, "api_id", api.ID, "error", err)
	}

	r.CORS = compileCORS(api.CORS)

	r.fingerprint = routeValidatorFingerprint(*api)
	if old != nil && old.fingerprint == r.fingerprint {
		r.Validator, r.ValidatorErr = old.Validator, old.ValidatorErr
	} else {
		r.Validator, r.ValidatorErr = b.Validators.ForAPI(*api)
		if r.ValidatorErr != nil {
			b.Log.Error("token validation for API unavailable; it answers 503 until fixed", "api", api.Name, "api_id", api.ID, "error", r.ValidatorErr)
		}
	}
	if r.Validator == nil && r.ValidatorErr == nil {
		r.ValidatorErr = errNoValidator
	}
	r.Proxy = b.ReverseProxy(r, target)
	return r, nil
}
