package request

import (
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/accesslog"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/config"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/limits"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/metrics"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/tracing"
)

// Options are what the request path needs from the gateway that wires it.
type Options struct {
	// Config is the configuration served; each request reads its snapshot once.
	Config *config.Live
	// Metrics counts every outcome; Limits counts each policy's rate limit and quota.
	Metrics *metrics.Metrics
	Limits  limits.Counter
	// FailedAuth limits the refused tokens per client address; nil turns the limit off.
	FailedAuth *limits.FailedAuth
	// DPoP checks DPoP proofs and remembers them (sender_constraint.go).
	DPoP *token.DPoPChecker
	// Tracer starts the child spans of a request (tracing_wiring.go); nil is tracing off.
	Tracer *tracing.Tracer
	Log    *slog.Logger
	// Now is the clock of the checks (a token's age, conditions' now, limits); nil is
	// time.Now.
	Now func() time.Time
	// DecisionPath is where the decision endpoint is answered; "" is DefaultDecisionPath.
	DecisionPath string
	// TrustedProxies may name the request a decision is about, the client's address and
	// certificate and the scheme; nil is DefaultTrustedProxies.
	TrustedProxies []netip.Prefix
	// ClientCertHeader is where a trusted proxy passes the client certificate; "" is none.
	ClientCertHeader string
	// AllowLinkLocal lets an API name a link-local target (targets.go).
	AllowLinkLocal bool
}

// Checker is the request path of the proxy listener: it answers the decision endpoint and
// the RFC 9728 metadata, runs the checks, and forwards or refuses (Serve); and it decides
// described requests without traffic for the admin API (Explain). Build it with New.
type Checker struct {
	config       *config.Live
	metrics      *metrics.Metrics
	limits       limits.Counter
	authFailures *limits.FailedAuth // nil when off
	dpop         *token.DPoPChecker
	tracer       *tracing.Tracer // nil when tracing is off
	log          *slog.Logger
	now          func() time.Time

	decisionPath   string
	trustedProxies []netip.Prefix
	// clientCertHeader is Options.ClientCertHeader, canonical.
	clientCertHeader string
	allowLinkLocal   bool
	// remoteIP is request.remote_ip for conditions, made once so that a request does not
	// allocate a method value.
	remoteIP func(*http.Request) string
}

// New builds the request path from the gateway's parts.
func New(o Options) *Checker {
	c := &Checker{config: o.Config, metrics: o.Metrics, limits: o.Limits, authFailures: o.FailedAuth, dpop: o.DPoP,
		tracer: o.Tracer, log: o.Log, now: o.Now, decisionPath: o.DecisionPath, trustedProxies: o.TrustedProxies,
		allowLinkLocal: o.AllowLinkLocal}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.decisionPath == "" {
		c.decisionPath = DefaultDecisionPath
	}
	if c.trustedProxies == nil {
		c.trustedProxies = DefaultTrustedProxies
	}
	if o.ClientCertHeader != "" {
		c.clientCertHeader = http.CanonicalHeaderKey(o.ClientCertHeader)
	}
	c.remoteIP = c.requestRemoteIP
	return c
}

// Serve answers one request on the proxy listener, in this order: a request target refused
// before any other work (path_rules.go), the decision endpoint (decision.go), RFC 9728
// metadata (resource.go), else the checks and the upstream (proxy.go). rec is the request's
// access record, nil without an access log or tracing.
func (c *Checker) Serve(w http.ResponseWriter, r *http.Request, rec *accesslog.Record) {
	if ref := checkRequestTarget(requestTarget(r)); ref != nil {
		c.refuseTarget(w, r, rec, ref)
		return
	}
	path := r.URL.EscapedPath()
	if below, ok := c.decisionPathBelow(path); ok {
		c.serveDecision(w, r, below, rec)
		return
	}
	if below, ok := wellKnownBelow(path); ok {
		c.serveResourceMetadata(w, r, below, rec)
		return
	}
	c.serveProxy(w, r, rec)
}

// decision is what the checks found out about a request they let pass.
type decision struct {
	// route is set as soon as the request is routed, also when it is then refused, so the
	// refusal is counted under its API.
	route  *config.Route
	id     *token.Identity
	policy *config.Policy
	// limit is the rate limit or quota state to report in X-RateLimit-* (when limit.report).
	limit limits.Result
	// forwardPath, when set, is the path to forward instead of the request's own: its normal
	// form (config.Snapshot.SettlePath).
	forwardPath string
	// preflight: the request is a CORS preflight to an API with CORS, answered by the
	// gateway without any other check (cors.go).
	preflight bool
}

// log notes on rec (nil: no access log nor tracing) what the checks decided.
func (d *decision) log(rec *accesslog.Record, o metrics.Outcome) {
	if rec == nil {
		return
	}
	c := accesslog.Checked{Outcome: o.String()}
	if d.route != nil {
		c.API, c.APIID = d.route.Name, d.route.ID
	}
	if d.id != nil {
		c.ClientID, c.Subject = d.id.ClientID, d.id.Subject
	}
	if d.policy != nil {
		c.Policy = d.policy.ID
	}
	rec.Decided(c)
}

// check runs every check of the request path, in oauth2-proxy's order: path and headers,
// route, the client address's refused tokens (limits.FailedAuth), token and its binding
// (sender_constraint.go), policy, limits. It returns the decision, or why the request is
// refused.
func (c *Checker) check(r *http.Request, snap *config.Snapshot) (d decision, ref *refusal) {
	return c.checkRequest(r, snap, nil)
}

// simulation is how a decision without traffic (explain.go) runs the same checks:
// counting nothing (no failed authentication, no limit taken, no DPoP proof remembered, no
// metric), with the caller's identity described instead of a token when caller is set, and
// noting why in trace.
type simulation struct {
	// caller, when set, stands for a valid token carrying these claims, presented with
	// scheme; its proof or certificate is taken as presented.
	caller *token.DescribedCaller
	scheme string
	trace  config.PolicyTrace
}

// checkRequest is check, or with sim a decision without traffic.
func (c *Checker) checkRequest(r *http.Request, snap *config.Snapshot, sim *simulation) (d decision, ref *refusal) {
	if reason, ok := checkRequestPath(r.URL); !ok {
		return d, badRequest(reason)
	}
	if reason, ok := checkInboundHeaders(r.Header); !ok {
		return d, badRequest(reason)
	}
	rt, path, forward, refused := snap.SettlePath(r.Host, r.URL.Path, snap.Lookup(r.Host, r.URL.Path))
	if refused != "" {
		return d, badRequest(refused)
	}
	if rt == nil {
		return d, noRoute()
	}
	d.route, d.forwardPath = rt, forward
	if !rt.ForwardOverrides && r.URL.RawQuery != "" && hasMethodOverrideParam(r.URL.RawQuery) {
		return d, badRequest("the query parameter _method overrides the method the policy decides on; " +
			"this API does not accept it (forward_override_headers)")
	}
	if rt.CORS != nil && isPreflight(r) {
		d.preflight = true
		return d, nil
	}

	scheme, tok, present := accessToken(r.Header.Get("Authorization"))
	described := sim != nil && sim.caller != nil
	if described {
		scheme, present = sim.scheme, true
	}
	switch {
	case !present:
		return d, noToken(rt)
	case tok == "" && !described:
		return d, invalidToken("the access token is empty", "")
	case rt.Validator == nil:
		return d, unavailable("token validation for this API is not available", rt.ValidatorErr.Error())
	}
	now := c.now()
	var attempt limits.Attempt
	if client, counted := c.clientAddr(r); counted && sim == nil {
		var wait time.Duration
		var ok bool
		if attempt, wait, ok = c.authFailures.Begin(client, now); !ok {
			return d, authLimited(wait)
		}
	}
	var id *token.Identity
	var err error
	switch {
	case described:
		id, err = token.Describe(rt.Validator, *sim.caller, now)
	case sim != nil:
		id, err = rt.Validator.Validate(r.Context(), tok)
	default:
		start := time.Now()
		ctx, span := c.tracer.Start(r.Context(), "token check") // tracing_wiring.go
		id, err = rt.Validator.Validate(ctx, tok)
		c.metrics.Validation.Observe(time.Since(start).Seconds())
		endTokenSpan(span, err)
	}
	if err != nil {
		ref = refusalOfToken(err)
		if scheme == schemeDPoP && ref.status == http.StatusUnauthorized {
			ref.challenge = dpopChallenge(ref.code, ref.description)
		}
	} else {
		ref = c.checkBinding(r, rt, scheme, tok, id, sim) // sender_constraint.go
	}
	attempt.End(ref != nil && ref.outcome == metrics.Unauthorized, now)
	if ref != nil {
		return d, ref
	}
	d.id = id

	cond := config.ConditionSource{RemoteIP: c.remoteIP, Request: r, Identity: id, Now: now, BoundedClaims: rt.JWT}
	if !cond.Holds(&rt.Conditions, nil) {
		return d, conditionNotMet(nil, cond.Failure)
	}
	var trace *config.PolicyTrace
	if sim != nil {
		trace = &sim.trace
	}
	policy, verdict, missing := snap.Policies.AuthorizeTraced(rt.ID, id, r.Method, rt.RelativePath(path), now, &cond, trace)
	if verdict == config.VerdictCondition {
		return d, conditionNotMet(cond.FailedPolicy, cond.Failure)
	}
	if verdict != config.VerdictAllowed {
		return d, refusalOfVerdict(verdict, missing)
	}
	d.policy = policy

	caller := id.ClientID
	if caller == "" {
		caller = id.Subject
	}
	if sim != nil {
		d.limit = c.limits.Count(&policy.Limits, caller, now, limits.Peek)
	} else {
		span := c.startLimitSpan(r.Context())
		d.limit = c.limits.Count(&policy.Limits, caller, now, limits.Take)
		endLimitSpan(span, &d.limit)
	}
	if !d.limit.Allowed {
		return d, refusalOfLimit(d.limit)
	}
	return d, nil
}

// admit runs the checks on r, for the proxy and the decision endpoint alike. When r is not let
// through it writes the answer (a preflight's, or the refusal) and returns false; when it is,
// it sets the headers every answer to it carries (an API's CORS headers, X-RateLimit-*) and
// returns the decision.
func (c *Checker) admit(w http.ResponseWriter, r *http.Request, rec *accesslog.Record) (d decision, ok bool) {
	d, ref := c.check(r, c.config.Snapshot())
	if d.route != nil && d.route.CORS != nil {
		if d.preflight {
			c.answerPreflight(w, r, rec, &d)
			return d, false
		}
		d.route.CORS.Decorate(w.Header(), r.Header.Get("Origin"))
	}
	if ref != nil {
		c.refuse(w, rec, &d, ref)
		return d, false
	}
	if d.limit.Report {
		setLimitHeaders(w.Header(), &d.limit)
	}
	return d, true
}

// requestRemoteIP is request.remote_ip: the client's address as the failed-authentication limit
// counts it (clientAddr: the nearest address in X-Forwarded-For that is not a trusted
// proxy), else, from a trusted peer, the first X-Forwarded-For address (every hop is
// trusted) or the peer itself (it names no client: it is the client). "" when X-Forwarded-For
// is malformed, which fails an address condition.
func (c *Checker) requestRemoteIP(r *http.Request) string {
	if a, ok := c.clientAddr(r); ok {
		return a.String()
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return ""
	}
	xff := r.Header.Values("X-Forwarded-For")
	if len(xff) == 0 {
		return ap.Addr().Unmap().String()
	}
	first, _, _ := strings.Cut(xff[0], ",")
	a, err := netip.ParseAddr(strings.TrimSpace(first))
	if err != nil {
		return ""
	}
	return a.Unmap().String()
}
