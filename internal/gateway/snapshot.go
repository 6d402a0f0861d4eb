package gateway

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
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/tracing"
)

// snapshot is one immutable view of the configuration: the routes, their validators and the
// compiled policies. The proxy picks it up with one atomic load per request, so an update
// never blocks or drops a request in flight.
//
// Its maps are persistent (hash array mapped tries): a change makes a new snapshot that
// shares everything it does not touch with the old one (snapshot_change.go), so an admin
// write costs the same with one API or a thousand, and no configuration is copied per
// request or per change.
type snapshot struct {
	// version is the store version the snapshot holds every write up to.
	version  int64
	routes   routeIndex
	policies policyIndex
	// resources finds the APIs with a resource by adminapi.ResourceKey, and metadata holds
	// their documents as served from this snapshot, made on first request (resource.go).
	resources *immutable.Map[string, *route]
	metadata  *sync.Map
	// jwksUsers counts the APIs using each jwks_uri, to drop a JWKS cache when none does.
	jwksUsers *immutable.Map[string, int]
}

// routeIndex finds routes by host and listen path, and by API id for changes.
type routeIndex struct {
	byID *immutable.Map[string, *route]
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
type routeTable = *immutable.Map[string, *route]

func newRouteTable() routeTable { return immutable.NewMap[string, *route](nil) }

func emptySnapshot() *snapshot {
	return &snapshot{
		routes: routeIndex{byID: immutable.NewMap[string, *route](nil), anyHost: newRouteTable(),
			byHost: immutable.NewMap[string, routeTable](nil)},
		policies:  newPolicyIndex(),
		resources: immutable.NewMap[string, *route](nil),
		metadata:  new(sync.Map),
		jwksUsers: immutable.NewMap[string, int](nil),
	}
}

// route is one protected API as the request path needs it.
type route struct {
	id, name   string
	listenPath string   // normalized
	hosts      []string // normalized; none: any host
	strip      bool
	// validator is nil when the API's token validation could not be built; then
	// validatorErr is set and the API answers 503. fingerprint identifies the token
	// settings it was built from, so a change that keeps them keeps the validator (and its
	// JWKS and token caches).
	validator    token.Validator
	validatorErr error
	fingerprint  string
	jwksURI      string
	// jwt: tokens are JWTs, whose claims are at most a token's size (conditions.go).
	jwt     bool
	forward []forwardedClaim
	// forwardOverrides lets the method and URL override headers through (header_rules.go).
	forwardOverrides bool
	// senderConstraint is the API's sender_constraint (sender_constraint.go).
	senderConstraint string
	resource         *routeResource // the API's protected resource (resource.go); nil for none
	// conditions every request to the API must meet (conditions.go).
	conditions conditions
	// cors is nil for an API without CORS (cors.go).
	cors    *corsPolicy
	proxy   *httputil.ReverseProxy
	metrics metrics.Route

	// pathNorm and caseInsensitive are the API's path_normalization and
	// case_insensitive_paths (path_normalization.go).
	pathNorm        pathMode
	caseInsensitive bool
}

type forwardedClaim struct{ header, claim string }

var errNoValidator = errors.New("no token validator")

// lookup finds the API of a request: among those naming its host, then among those naming
// none, the one with the longest listen path that is path or a segment-wise prefix of it.
func (s *snapshot) lookup(host, path string) *route {
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
func lookupPath(t routeTable, path string, maxDepth int) *route {
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

// relativePath is the request path below the route's listen path, always starting with "/".
func (r *route) relativePath(path string) string {
	if r.listenPath == "/" {
		return path
	}
	rel := path[len(r.listenPath):]
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

// snapshotBuilder holds what building a snapshot needs besides the stored objects.
type snapshotBuilder struct {
	validators apiValidatorSource
	transport  http.RoundTripper
	tracer     *tracing.Tracer // nil when tracing is off
	metrics    *metrics.Metrics
	log        *slog.Logger
	bufferPool httputil.BufferPool
}

// compilePolicy compiles p for the snapshot, logging conditions that no longer compile.
func (b *snapshotBuilder) compilePolicy(p adminapi.Policy) *compiledPolicy {
	cp := compilePolicy(p)
	if cp.compileErr != nil {
		b.log.Error("conditions of the access policy do not compile; the grants they guard apply to nobody until they are fixed",
			"policy", p.Name, "policy_id", p.ID, "error", cp.compileErr)
	}
	return cp
}

// build makes a snapshot of every API and policy at version, reusing the validators of
// prev's routes whose token settings are unchanged.
func (b *snapshotBuilder) build(version int64, apis []adminapi.API, policies []adminapi.Policy, prev *snapshot) *snapshot {
	s := emptySnapshot()
	s.version = version
	sort.Slice(apis, func(i, j int) bool { return apis[i].ID < apis[j].ID })
	for i := range apis {
		old, _ := prev.routes.byID.Get(apis[i].ID)
		s.addRoute(b, &apis[i], old)
	}
	sort.Slice(policies, func(i, j int) bool { return policies[i].ID < policies[j].ID })
	for _, p := range policies {
		s.policies = s.policies.with(b.compilePolicy(p))
	}
	b.validators.Retain(apis)
	return s
}

func (b *snapshotBuilder) route(api *adminapi.API, old *route) (*route, error) {
	target, err := url.Parse(api.UpstreamURL)
	if err != nil {
		return nil, err
	}
	r := &route{
		id: api.ID, name: api.Name,
		listenPath:       adminapi.NormalizeListenPath(api.ListenPath),
		strip:            api.StripListenPath,
		forwardOverrides: api.ForwardOverrideHeaders,
		senderConstraint: api.SenderConstraint,
		resource:         newRouteResource(api),
		pathNorm:         pathModeOf(api.PathNormalization),
		caseInsensitive:  api.CaseInsensitivePaths,
		metrics:          b.metrics.ForRoute(api.Name),
	}
	for _, h := range api.Hosts {
		r.hosts = append(r.hosts, adminapi.NormalizeHost(h))
	}
	if api.JWT != nil {
		r.jwksURI, r.jwt = api.JWT.JWKSURI, true
	}
	headers := make([]string, 0, len(api.ForwardClaims))
	for h := range api.ForwardClaims {
		headers = append(headers, h)
	}
	sort.Strings(headers)
	for _, h := range headers {
		r.forward = append(r.forward, forwardedClaim{header: http.CanonicalHeaderKey(h), claim: api.ForwardClaims[h]})
	}

	if r.conditions, err = compileConditions("conditions", api.Conditions); err != nil {
		b.log.Error("the API's conditions do not compile; it refuses every request until they are fixed",
			"api", api.Name, "api_id", api.ID, "error", err)
	}

	r.cors = compileCORS(api.CORS)

	r.fingerprint = routeValidatorFingerprint(*api)
	if old != nil && old.fingerprint == r.fingerprint {
		r.validator, r.validatorErr = old.validator, old.validatorErr
	} else {
		r.validator, r.validatorErr = b.validators.ForAPI(*api)
		if r.validatorErr != nil {
			b.log.Error("token validation for API unavailable; it answers 503 until fixed", "api", api.Name, "api_id", api.ID, "error", r.validatorErr)
		}
	}
	if r.validator == nil && r.validatorErr == nil {
		r.validatorErr = errNoValidator
	}
	r.proxy = b.reverseProxy(r, target)
	return r, nil
}
