package request

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/accesslog"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/config"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/limits"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/metrics"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
)

// A refusal is every answer the data plane gives instead of forwarding a request: built
// from a token error, a policy verdict or a limit result, then counted and written by
// Checker.refuse, the one place that does either. Bodies carry an RFC 6750 style error code
// and a description safe to show a client; never why a signature or a lookup failed (that is
// logReason, for the log only).
type refusal struct {
	outcome     metrics.Outcome
	status      int
	code        string
	description string
	// challenge is the WWW-Authenticate value; empty for none.
	challenge string
	// retryAfter is sent as Retry-After (whole seconds, at least 1) when positive.
	retryAfter time.Duration
	// limit, when set, is sent as X-RateLimit-*.
	limit *limits.Result
	// logReason says why, for the log; never sent.
	logReason string
	// condition, when set, is the condition that refused the request, logged by refuse.
	condition *conditionRefusal
}

// conditionRefusal names, for the log, the condition that refused a request: the policy
// (none for the API's own conditions) and the condition's index. Never the values.
type conditionRefusal struct {
	policy *config.Policy
	config.ConditionFailure
}

const realm = `Bearer realm="idpgate"`

func badRequest(description string) *refusal {
	return &refusal{outcome: metrics.BadRequest, status: http.StatusBadRequest, code: "invalid_request", description: description}
}

func noRoute() *refusal {
	return &refusal{outcome: metrics.NoRoute, status: http.StatusNotFound, code: "not_found", description: "no API is served at this path"}
}

// noToken is RFC 6750 §3.1: a request without credentials gets the challenge but no error
// code; an API that takes DPoP-bound tokens only challenges for DPoP (RFC 9449 §7.1).
func noToken(rt *config.Route) *refusal {
	if sc := rt.SenderConstraint; sc == adminapi.SenderConstraintDPoP || sc == adminapi.SenderConstraintDPoPOrMTLS {
		return &refusal{outcome: metrics.Unauthorized, status: http.StatusUnauthorized, code: "invalid_request",
			description: "a DPoP-bound access token and its proof are required", challenge: dpopChallenge("", "")}
	}
	return &refusal{outcome: metrics.Unauthorized, status: http.StatusUnauthorized, code: "invalid_request",
		description: "a bearer token is required", challenge: realm}
}

func invalidToken(description, logReason string) *refusal {
	return &refusal{outcome: metrics.Unauthorized, status: http.StatusUnauthorized, code: string(token.CodeInvalid),
		description: description, logReason: logReason,
		challenge: realm + `, error="invalid_token", error_description="` + quotable(description) + `"`}
}

func insufficientScope(scopes []string) *refusal {
	challenge := realm + `, error="insufficient_scope"`
	if len(scopes) > 0 {
		challenge += `, scope="` + quotable(strings.Join(scopes, " ")) + `"`
	}
	return &refusal{outcome: metrics.Forbidden, status: http.StatusForbidden, code: string(token.CodeInsufficientScope),
		description: "the access token lacks a required scope", challenge: challenge}
}

func accessDenied() *refusal {
	return &refusal{outcome: metrics.Forbidden, status: http.StatusForbidden, code: "access_denied",
		description: "no access policy grants this client this method and path"}
}

// conditionNotMet refuses a request that fails a condition of the API (p nil) or of the
// policy p's grant.
func conditionNotMet(p *config.Policy, f *config.ConditionFailure) *refusal {
	description := "the request does not meet a condition of this API"
	if p != nil {
		description = "the request does not meet a condition of the access policy"
	}
	var cf config.ConditionFailure
	if f != nil {
		cf = *f
	}
	return &refusal{outcome: metrics.Forbidden, status: http.StatusForbidden, code: "access_denied",
		description: description, condition: &conditionRefusal{policy: p, ConditionFailure: cf}}
}

func unavailable(description, logReason string) *refusal {
	return &refusal{outcome: metrics.Unavailable, status: http.StatusServiceUnavailable, code: string(token.CodeUnavailable),
		description: description, retryAfter: 5 * time.Second, logReason: logReason}
}

// refusalOfToken turns a validator's error into the answer: a *token.Error by its code, any
// other error as the issuer being unreachable.
func refusalOfToken(err error) *refusal {
	var te *token.Error
	if !errors.As(err, &te) {
		return unavailable("the token cannot be checked right now", err.Error())
	}
	switch te.Code {
	case token.CodeInvalid:
		description := te.Description
		if description == "" {
			description = "the access token is invalid"
		}
		return invalidToken(description, te.Reason)
	case token.CodeInsufficientScope:
		return insufficientScope(te.Scopes)
	default:
		return unavailable("the token cannot be checked right now", te.Error())
	}
}

// refusalOfVerdict is the answer to a policy engine's refusal; missing are the scopes of the
// closest grant (verdictScope).
func refusalOfVerdict(v config.Verdict, missing []string) *refusal {
	switch v {
	case config.VerdictScope:
		return insufficientScope(missing)
	case config.VerdictTooOld:
		return invalidToken("the access token is older than the access policy allows", "max_token_age")
	default:
		return accessDenied()
	}
}

// authLimited refuses a request from an address that presented too many refused tokens.
func authLimited(wait time.Duration) *refusal {
	return &refusal{outcome: metrics.AuthLimited, status: http.StatusTooManyRequests, code: "too_many_failed_authentications",
		description: "too many invalid tokens from this address; retry later", retryAfter: max(wait, time.Second)}
}

func refusalOfLimit(res limits.Result) *refusal {
	if res.Exceeded == limits.ExceededUnavailable {
		return unavailable("limits cannot be checked right now", "Redis unreachable and --redis-limits-fallback=deny")
	}
	r := &refusal{outcome: metrics.RateLimited, status: http.StatusTooManyRequests, code: "rate_limit_exceeded",
		description: "rate limit exceeded", retryAfter: max(res.RetryAfter, time.Second), limit: &res}
	if res.Exceeded == "quota" {
		r.outcome, r.code, r.description = metrics.QuotaExceeded, "quota_exceeded", "quota exhausted"
	}
	return r
}

// refuse counts a refusal under its API (d.route is nil before routing), logs its reason,
// notes it for the access log and writes it.
func (c *Checker) refuse(w http.ResponseWriter, rec *accesslog.Record, d *decision, ref *refusal) {
	d.log(rec, ref.outcome)
	rt, api := d.route, ""
	if rt != nil {
		rt.Metrics.Outcomes[ref.outcome].Inc()
		api = rt.Name
	} else {
		c.metrics.Requests.WithLabelValues("", ref.outcome.String()).Inc()
	}
	switch {
	case ref.condition != nil:
		cr := ref.condition
		policy, policyID, result := "", "", "false"
		if cr.policy != nil {
			policy, policyID = cr.policy.Name, cr.policy.ID
		}
		if cr.Failed {
			result = "error"
		}
		c.log.Info("request refused by a condition", "api", api, "policy", policy, "policy_id", policyID,
			"field", cr.Field, "condition", cr.Index, "result", result)
	case ref.status >= 500:
		c.log.Warn("request refused", "api", api, "status", ref.status, "reason", ref.logReason)
	case ref.logReason != "":
		c.log.Debug("request refused", "api", api, "status", ref.status, "reason", ref.logReason)
	}
	ref.withResourceMetadata(rt) // resource.go
	ref.write(w)
}

// write sends the refusal: its headers, then a JSON errorBody.
func (ref *refusal) write(w http.ResponseWriter) {
	h := w.Header()
	if ref.challenge != "" {
		h.Set("WWW-Authenticate", ref.challenge)
	}
	if ref.limit != nil {
		setLimitHeaders(h, ref.limit)
	}
	if ref.retryAfter > 0 {
		h.Set("Retry-After", strconv.FormatInt(max(1, ceilSeconds(ref.retryAfter)), 10))
	}
	writeError(w, ref.status, ref.code, ref.description)
}

// errorBody is the JSON body of every refusal.
type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

func writeError(w http.ResponseWriter, status int, code, description string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(errorBody{Error: code, Description: description})
}

// setLimitHeaders writes X-RateLimit-Limit/Remaining/Reset (Reset in seconds from now, as
// GitHub and the IETF RateLimit draft do).
func setLimitHeaders(h http.Header, res *limits.Result) {
	v := make([]string, 3) // one allocation for the three values
	v[0] = strconv.FormatInt(res.Limit, 10)
	v[1] = strconv.FormatInt(res.Remaining, 10)
	v[2] = strconv.FormatInt(ceilSeconds(res.Reset), 10)
	h["X-Ratelimit-Limit"], h["X-Ratelimit-Remaining"], h["X-Ratelimit-Reset"] = v[0:1:1], v[1:2:2], v[2:3:3]
}

func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64(math.Ceil(d.Seconds()))
}

// quotable makes s safe inside an RFC 9110 quoted-string.
func quotable(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '"' || r == '\\' || r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}
