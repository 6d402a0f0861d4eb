package gateway

import (
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/accesslog"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/limits"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/metrics"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/config"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
)

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
// route, the client address's refused tokens (auth_failures.go), token and its binding
// (sender_constraint.go), policy, limits. It returns the decision, or why the request is
// refused.
func (g *Gateway) check(r *http.Request, snap *config.Snapshot) (d decision, ref *refusal) {
	return g.checkRequest(r, snap, nil)
}

// simulation is how a decision without traffic (admin_decision.go) runs the same checks:
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
func (g *Gateway) checkRequest(r *http.Request, snap *config.Snapshot, sim *simulation) (d decision, ref *refusal) {
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
	now := g.now()
	var attempt limits.Attempt
	if client, counted := g.clientAddr(r); counted && sim == nil {
		var wait time.Duration
		var ok bool
		if attempt, wait, ok = g.authFailures.Begin(client, now); !ok {
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
		ctx, span := g.tracer.Start(r.Context(), "token check") // tracing_wiring.go
		id, err = rt.Validator.Validate(ctx, tok)
		g.metrics.Validation.Observe(time.Since(start).Seconds())
		endTokenSpan(span, err)
	}
	if err != nil {
		ref = refusalOfToken(err)
		if scheme == schemeDPoP && ref.status == http.StatusUnauthorized {
			ref.challenge = dpopChallenge(ref.code, ref.description)
		}
	} else {
		ref = g.checkBinding(r, rt, scheme, tok, id, sim) // sender_constraint.go
	}
	attempt.End(ref != nil && ref.outcome == metrics.Unauthorized, now)
	if ref != nil {
		return d, ref
	}
	d.id = id

	cond := config.ConditionSource{RemoteIP: g.remoteIP, Request: r, Identity: id, Now: now, BoundedClaims: rt.JWT}
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
		d.limit = g.limits.Count(&policy.Limits, caller, now, limits.Peek)
	} else {
		span := g.startLimitSpan(r.Context())
		d.limit = g.limits.Count(&policy.Limits, caller, now, limits.Take)
		endLimitSpan(span, &d.limit)
	}
	if !d.limit.Allowed {
		return d, refusalOfLimit(d.limit)
	}
	return d, nil
}

// requestRemoteIP is request.remote_ip: the client's address as the failed-authentication limit
// counts it (clientAddr: the nearest address in X-Forwarded-For that is not a trusted
// proxy), else, from a trusted peer, the first X-Forwarded-For address (every hop is
// trusted) or the peer itself (it names no client: it is the client). "" when X-Forwarded-For
// is malformed, which fails an address condition.
func (g *Gateway) requestRemoteIP(r *http.Request) string {
	if a, ok := g.clientAddr(r); ok {
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
