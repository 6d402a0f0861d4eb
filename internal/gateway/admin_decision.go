package gateway

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/limits"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/metrics"
	"net/http"
	"net/url"
	"strings"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/config"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
)

// Decisions without traffic (POST /v1/decisions): the described request is built as the
// proxy listener would receive it and run through checkRequest, the proxy's own checks, as a
// simulation (check.go): nothing is counted, no upstream is called. The answer says what the
// proxy would answer and why, from the refusal and from the policies' trace.
//
// What a simulation cannot know and therefore assumes: a described caller (claims instead of
// a token) presents its DPoP proof or client certificate correctly; a DPoP proof is checked
// but not looked up in, nor added to, the replay cache; the request comes from an address
// that is not a trusted proxy (its X-Forwarded-* headers are ignored), whose refused tokens
// are not counted.

// simulatedRequest is the request in, as the proxy listener would see it, and the
// simulation that carries its described caller.
func simulatedRequest(r *http.Request, in *adminapi.DecisionRequest) (*http.Request, *simulation, error) {
	host, uri, overTLS := in.Request.Host, in.Request.Path, false
	if in.Request.URL != "" {
		u, err := url.Parse(in.Request.URL)
		if err != nil {
			return nil, nil, adminapi.FieldError("request.url", "%v", err)
		}
		host, uri, overTLS = u.Host, u.RequestURI(), u.Scheme == "https"
	}
	field := map[bool]string{true: "request.url", false: "request.path"}[in.Request.URL != ""]
	u, err := url.ParseRequestURI(uri)
	if err != nil || u.Host != "" || !strings.HasPrefix(u.Path, "/") {
		return nil, nil, adminapi.FieldError(field, "%q does not name an origin-form request target such as /orders/1?x=y", uri)
	}
	req := (&http.Request{Method: in.Request.Method, URL: u, RequestURI: uri, Host: host,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: http.Header{}, Body: http.NoBody}).WithContext(r.Context())
	for name, value := range in.Request.Headers {
		req.Header.Set(name, value)
	}
	if pemCert := in.Request.ClientCertificate; pemCert != "" {
		block, _ := pem.Decode([]byte(pemCert))
		cert, err := x509.ParseCertificate(block.Bytes) // Validate parsed it already
		if err != nil {
			return nil, nil, adminapi.FieldError("request.client_certificate", "not a certificate: %v", err)
		}
		req.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert}}
	} else if overTLS {
		req.TLS = &tls.ConnectionState{}
	}

	sim := &simulation{}
	c := &in.Caller
	switch {
	case c.Token != "":
		req.Header.Set("Authorization", tokenScheme(c.TokenType, schemeBearer)+" "+c.Token)
	case c.Described():
		var claims map[string]any
		if len(c.Claims) > 0 {
			if err := json.Unmarshal(c.Claims, &claims); err != nil {
				return nil, nil, adminapi.FieldError("caller.claims", "must be a JSON object of claims")
			}
		}
		sim.caller = &token.DescribedCaller{ClientID: c.ClientID, Subject: c.Subject, Scopes: c.Scopes, Claims: claims}
		scheme := schemeBearer
		if cnf, _ := claims["cnf"].(map[string]any); cnf != nil {
			if jkt, _ := cnf["jkt"].(string); jkt != "" {
				scheme = schemeDPoP
			}
		}
		sim.scheme = tokenScheme(c.TokenType, scheme)
	}
	return req, sim, nil
}

func tokenScheme(tokenType, otherwise string) string {
	switch tokenType {
	case adminapi.TokenTypeDPoP:
		return schemeDPoP
	case adminapi.TokenTypeBearer:
		return schemeBearer
	}
	return otherwise
}

// explain turns a check's result into the admin API's answer.
func explain(r *http.Request, d *decision, ref *refusal, sim *simulation) *adminapi.Decision {
	out := &adminapi.Decision{Allowed: ref == nil, Status: http.StatusOK}
	if d.preflight && ref == nil {
		out.Status = http.StatusNoContent
	}
	if ref != nil {
		out.Status, out.Error, out.ErrorDescription, out.WWWAuthenticate = ref.status, ref.code, ref.description, ref.challenge
	}
	rt := d.route
	if rt != nil {
		out.APIID, out.APIName = rt.ID, rt.Name
	}
	if id := d.id; id != nil {
		out.Caller = &adminapi.DecisionIdentity{ClientID: id.ClientID, Subject: id.Subject, Scopes: id.Scopes, Policies: id.Policies}
		switch {
		case id.Confirmation == nil:
		case id.Confirmation["jkt"] != nil:
			out.Caller.BoundBy = "dpop"
		case id.Confirmation["x5t#S256"] != nil:
			out.Caller.BoundBy = "mtls"
		}
	}
	method, rel := r.Method, r.URL.Path
	if rt != nil {
		rel = rt.RelativePath(r.URL.Path)
	}
	for i := range sim.trace.Tries {
		t := &sim.trace.Tries[i]
		dp := adminapi.DecisionPolicy{ID: t.Policy.ID, Name: t.Policy.Name, BoundBy: "client_id", Reason: policyReason(t, method, rel, rt)}
		if t.ByClaim {
			dp.BoundBy = "policy_claim"
		}
		if n := len(t.Grants); n > 0 && t.Grants[n-1].Outcome == config.GrantGranted {
			dp.Granted = true
			if d.policy == t.Policy {
				out.PolicyID, out.PolicyName = t.Policy.ID, t.Policy.Name
				index := t.Grants[n-1].Grant.Index
				out.AccessRight = &index
			}
		}
		out.Policies = append(out.Policies, dp)
	}
	if p := d.policy; p != nil && (p.Limits.Rate != nil || p.Limits.Quota != nil) {
		out.Limits = &adminapi.DecisionLimits{RateLimit: p.Limits.Rate, Quota: p.Limits.Quota, Remaining: d.limit.Remaining}
		if d.limit.Exceeded != limits.ExceededUnavailable {
			out.Limits.Exceeded = d.limit.Exceeded
		}
	}
	if ref != nil && ref.condition != nil {
		out.Condition = decisionCondition(ref.condition)
	}
	out.Reason = reasonOf(r, d, ref, sim, out, method, rel)
	return out
}

// reasonOf says in a sentence what decided.
func reasonOf(r *http.Request, d *decision, ref *refusal, sim *simulation, out *adminapi.Decision, method, rel string) string {
	rt := d.route
	request := fmt.Sprintf("%s %s", method, rel)
	if ref == nil && d.preflight {
		return fmt.Sprintf("a CORS preflight that API %q allows: the gateway answers it (204) without a token", rt.Name)
	}
	if ref == nil {
		p := d.policy
		return fmt.Sprintf("policy %q (access_rights[%d]) grants %s on API %q", p.Name, *out.AccessRight, request, rt.Name)
	}
	withLog := func(s string) string {
		if ref.logReason != "" {
			return s + " (" + ref.logReason + ")"
		}
		return s
	}
	switch ref.outcome {
	case metrics.BadRequest:
		return "the proxy refuses the request before routing it: " + ref.description
	case metrics.NoRoute:
		host := r.Host
		if host == "" {
			host = "any host"
		}
		return fmt.Sprintf("no API serves %s on %s", r.URL.Path, host)
	case metrics.RateLimited, metrics.QuotaExceeded:
		what := "rate limit"
		l := d.policy.Limits.Rate
		if ref.outcome == metrics.QuotaExceeded {
			what, l = "quota", d.policy.Limits.Quota
		}
		return fmt.Sprintf("policy %q grants %s on API %q, but its %s of %d per %s is used up for this client; retry in %ds",
			d.policy.Name, request, rt.Name, what, l.Requests, l.Per.D(), max(1, ceilSeconds(ref.retryAfter)))
	case metrics.Unavailable:
		return withLog(ref.description)
	}
	if d.id == nil { // refused by the token check
		if ref.code == "invalid_request" && ref.status == http.StatusUnauthorized {
			return fmt.Sprintf("the request carries no access token; API %q requires one", rt.Name)
		}
		if ref.code == "insufficient_scope" {
			return fmt.Sprintf("the access token lacks a scope API %q requires of every caller (required_scopes)", rt.Name)
		}
		return withLog("the access token is refused: " + ref.description)
	}
	tries := sim.trace.Tries
	who := "client " + quoteOrNone(d.id.ClientID)
	if len(tries) == 0 {
		s := fmt.Sprintf("no access policy is bound to %s (client_ids) or named by its policy claim", who)
		if len(sim.trace.UnknownRefs) > 0 {
			s += fmt.Sprintf("; the policy claim names %s, which no policy is", strings.Join(sim.trace.UnknownRefs, ", "))
		}
		return s
	}
	var parts []string
	for i := range tries {
		parts = append(parts, fmt.Sprintf("policy %q: %s", tries[i].Policy.Name, policyReason(&tries[i], method, rel, rt)))
	}
	lead := fmt.Sprintf("no policy bound to %s grants %s on API %q", who, request, rt.Name)
	if ref.code == "insufficient_scope" {
		lead = fmt.Sprintf("a policy bound to %s matches %s on API %q, but the token lacks its required scopes", who, request, rt.Name)
	}
	return lead + ": " + strings.Join(parts, "; ")
}

func quoteOrNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return fmt.Sprintf("%q", s)
}

// decisionCondition names the condition that refused a request: the API's, or an access
// right's (its field is "access_rights[i].conditions"), by index; never the values it read.
func decisionCondition(c *conditionRefusal) *adminapi.DecisionCondition {
	dc := &adminapi.DecisionCondition{Index: c.Index}
	if c.policy != nil {
		dc.PolicyID = c.policy.ID
		var right int
		if _, err := fmt.Sscanf(c.Field, "access_rights[%d].conditions", &right); err == nil {
			dc.AccessRight = &right
		}
	}
	return dc
}

// reason says what one policy's grants found.
func policyReason(t *config.PolicyTry, method, rel string, rt *config.Route) string {
	if len(t.Grants) == 0 {
		return fmt.Sprintf("grants nothing on API %q", rt.Name)
	}
	var parts []string
	for _, gr := range t.Grants {
		g := gr.Grant
		var s string
		switch gr.Outcome {
		case config.GrantGranted:
			return fmt.Sprintf("access_rights[%d] grants %s %s", g.Index, method, rel)
		case config.GrantScope:
			s = fmt.Sprintf("needs scopes %s", strings.Join(g.Scopes, " "))
		case config.GrantTooOld:
			s = fmt.Sprintf("the token is older than max_token_age %s", t.Policy.MaxTokenAge)
		case config.GrantCondition:
			s = "a condition does not hold"
		case config.GrantNoMatch:
			if !g.AllowsMethod(method) {
				s = fmt.Sprintf("method %s is not one of %s", method, strings.Join(g.RawMethods, ", "))
			} else {
				s = fmt.Sprintf("path %s matches none of %s", rel, strings.Join(g.RawPaths, ", "))
			}
		}
		parts = append(parts, fmt.Sprintf("access_rights[%d]: %s", g.Index, s))
	}
	return strings.Join(parts, ", ")
}
