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

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
)

// snapshot is one immutable view of the configuration: the routes, their validators and the
// compiled policies. Every store change builds a new one, and the proxy picks it up with one
// atomic load per request, so an update never blocks or drops a request in flight.
type snapshot struct {
	// anyHost holds the APIs that name no hosts; byHost, per normalized host, those that
	// name it.
	anyHost  routeTable
	byHost   map[string]routeTable
	policies policyIndex
}

// routeTable is a set of routes by normalized listen path.
type routeTable map[string]*route

// route is one protected API as the request path needs it.
type route struct {
	id, name   string
	listenPath string // normalized
	strip      bool
	// validator is nil when the API's token validation could not be built; then
	// validatorErr is set and the API answers 503.
	validator    token.Validator
	validatorErr error
	forward      []forwardedClaim
	// forwardOverrides lets the method and URL override headers through (header_rules.go).
	forwardOverrides bool
	// senderConstraint is the API's sender_constraint (sender_constraint.go).
	senderConstraint string
	proxy            *httputil.ReverseProxy
	metrics          routeMetrics
}

type forwardedClaim struct{ header, claim string }

var errNoValidator = errors.New("no token validator")

// lookup finds the API of a request: among those naming its host, then among those naming
// none, the one with the longest listen path that is path or a segment-wise prefix of it.
func (s *snapshot) lookup(host, path string) *route {
	if len(s.byHost) > 0 {
		if t := s.byHost[adminapi.NormalizeHost(host)]; t != nil {
			if r := t.lookup(path); r != nil {
				return r
			}
		}
	}
	return s.anyHost.lookup(path)
}

// lookup finds the route with the longest listen path that is path or a segment-wise prefix
// of it ("/api" serves "/api" and "/api/x", never "/apiary"), trying each ancestor of path.
func (t routeTable) lookup(path string) *route {
	p := path
	for {
		if r := t[p]; r != nil {
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

// routeValidators keeps each API's validator across snapshots as long as its token settings
// do not change, so JWKS and token caches survive unrelated edits.
type routeValidators map[string]routeValidator

type routeValidator struct {
	fingerprint string
	validator   token.Validator
	err         error
}

func routeValidatorFingerprint(api adminapi.API) string {
	b, _ := json.Marshal(struct {
		J *adminapi.JWTValidation
		I *adminapi.Introspection
		S string
	}{api.JWT, api.Introspection, secretOf(api)})
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
	cache      routeValidators
	transport  http.RoundTripper
	metrics    *metrics
	log        *slog.Logger
	bufferPool httputil.BufferPool
}

func (b *snapshotBuilder) build(apis []adminapi.API, policies []adminapi.Policy) *snapshot {
	s := &snapshot{anyHost: make(routeTable, len(apis)), byHost: map[string]routeTable{}, policies: newPolicyIndex(policies)}
	seen := make(map[string]bool, len(apis))
	sort.Slice(apis, func(i, j int) bool { return apis[i].ID < apis[j].ID })
	for _, api := range apis {
		seen[api.ID] = true
		r, err := b.route(api)
		if err != nil { // the store validated it; a bad row must not take the others down
			b.log.Error("protected API skipped: invalid stored configuration", "api", api.Name, "api_id", api.ID, "error", err)
			continue
		}
		if len(api.Hosts) == 0 {
			s.anyHost[r.listenPath] = r
		}
		for _, h := range api.Hosts {
			h = adminapi.NormalizeHost(h)
			if s.byHost[h] == nil {
				s.byHost[h] = routeTable{}
			}
			s.byHost[h][r.listenPath] = r
		}
	}
	for id := range b.cache {
		if !seen[id] {
			delete(b.cache, id)
		}
	}
	b.validators.Retain(apis)
	return s
}

func (b *snapshotBuilder) route(api adminapi.API) (*route, error) {
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
		metrics:          b.metrics.forRoute(api.Name),
	}
	headers := make([]string, 0, len(api.ForwardClaims))
	for h := range api.ForwardClaims {
		headers = append(headers, h)
	}
	sort.Strings(headers)
	for _, h := range headers {
		r.forward = append(r.forward, forwardedClaim{header: http.CanonicalHeaderKey(h), claim: api.ForwardClaims[h]})
	}

	fp := routeValidatorFingerprint(api)
	c, ok := b.cache[api.ID]
	if !ok || c.fingerprint != fp {
		v, err := b.validators.ForAPI(api)
		if err != nil {
			b.log.Error("token validation for API unavailable; it answers 503 until fixed", "api", api.Name, "api_id", api.ID, "error", err)
		}
		c = routeValidator{fingerprint: fp, validator: v, err: err}
		b.cache[api.ID] = c
	}
	r.validator, r.validatorErr = c.validator, c.err
	if r.validator == nil && r.validatorErr == nil {
		r.validatorErr = errNoValidator
	}
	r.proxy = b.reverseProxy(r, target)
	return r, nil
}
