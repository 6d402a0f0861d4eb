package gateway

import (
	"net/http"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
)

// decision is what the checks found out about a request they let pass.
type decision struct {
	// route is set as soon as the request is routed, also when it is then refused, so the
	// refusal is counted under its API.
	route  *route
	id     *token.Identity
	policy *compiledPolicy
	// limit is the rate limit or quota state to report in X-RateLimit-* (when limit.report).
	limit limitResult
}

// check runs every check of the request path, in oauth2-proxy's order: path and headers,
// route, the client address's refused tokens (auth_failures.go), token and its binding
// (sender_constraint.go), policy, limits. It returns the decision, or why the request is
// refused.
func (g *Gateway) check(r *http.Request, snap *snapshot) (d decision, ref *refusal) {
	if reason, ok := checkRequestPath(r.URL); !ok {
		return d, badRequest(reason)
	}
	if reason, ok := checkInboundHeaders(r.Header); !ok {
		return d, badRequest(reason)
	}
	path := r.URL.Path
	rt := snap.lookup(r.Host, path)
	if rt == nil {
		return d, noRoute()
	}
	d.route = rt

	scheme, tok, present := accessToken(r.Header.Get("Authorization"))
	switch {
	case !present:
		return d, noToken(rt)
	case tok == "":
		return d, invalidToken("the access token is empty", "")
	case rt.validator == nil:
		return d, unavailable("token validation for this API is not available", rt.validatorErr.Error())
	}
	now := g.now()
	var attempt authAttempt
	if client, counted := g.clientAddr(r); counted {
		var wait time.Duration
		var ok bool
		if attempt, wait, ok = g.authFailures.begin(client, now); !ok {
			return d, authLimited(wait)
		}
	}
	start := time.Now()
	ctx, span := g.tracer.Start(r.Context(), "token check") // tracing_wiring.go
	id, err := rt.validator.Validate(ctx, tok)
	g.metrics.validation.Observe(time.Since(start).Seconds())
	endTokenSpan(span, err)
	if err != nil {
		ref = refusalOfToken(err)
		if scheme == schemeDPoP && ref.status == http.StatusUnauthorized {
			ref.challenge = dpopChallenge(ref.code, ref.description)
		}
	} else {
		ref = g.checkBinding(r, rt, scheme, tok, id) // sender_constraint.go
	}
	attempt.end(ref != nil && ref.outcome == outcomeUnauthorized, now)
	if ref != nil {
		return d, ref
	}
	d.id = id

	policy, verdict, missing := snap.policies.authorize(rt.id, id, r.Method, rt.relativePath(path), now)
	if verdict != verdictAllowed {
		return d, refusalOfVerdict(verdict, missing)
	}
	d.policy = policy

	caller := id.ClientID
	if caller == "" {
		caller = id.Subject
	}
	span = g.startLimitSpan(r.Context())
	d.limit = g.limits.take(policy, caller, now)
	endLimitSpan(span, &d.limit)
	if !d.limit.allowed {
		return d, refusalOfLimit(d.limit)
	}
	return d, nil
}
