package adminapi

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Decisions without traffic: POST /v1/decisions takes a DecisionRequest (a request and its
// caller) and answers a Decision, what the proxy would do with that request and why. The
// gateway runs the proxy's own checks on it, counting nothing (no rate limit or quota token
// taken, no failed authentication counted, no DPoP proof remembered) and calling no
// upstream. A token that does not validate is a verdict (401 and why), not an error; a
// request or caller that is malformed is a 400 naming the field.

// Bounds of a DecisionRequest.
const (
	MaxDecisionHeaders     = 64
	MaxDecisionHeaderBytes = 8 << 10
	MaxDecisionClaimsBytes = 64 << 10
	MaxDecisionURLBytes    = 8 << 10
)

// Token types a DecisionCaller's token may be presented with.
const (
	TokenTypeBearer = "Bearer"
	TokenTypeDPoP   = "DPoP"
)

// DecisionRequest is the body of POST /v1/decisions.
type DecisionRequest struct {
	Request DecisionHTTPRequest `json:"request"`
	Caller  DecisionCaller      `json:"caller"`
}

// DecisionHTTPRequest is the request decided on: Method, and either URL (absolute, e.g.
// https://api.example.com/orders/1?x=y: its host picks among APIs that name hosts, https
// means a TLS connection) or Path (origin form, /orders/1?x=y) with an optional Host.
type DecisionHTTPRequest struct {
	Method string `json:"method"`
	URL    string `json:"url,omitempty"`
	Host   string `json:"host,omitempty"`
	Path   string `json:"path,omitempty"`
	// Headers are sent with the request, one value each (a DPoP proof goes in "DPoP").
	// Authorization is not one of them: the caller's token is Caller.Token.
	Headers map[string]string `json:"headers,omitempty"`
	// ClientCertificate is the PEM certificate the request's TLS connection presents, for
	// certificate-bound tokens (RFC 8705); it makes the request one over TLS.
	ClientCertificate string `json:"client_certificate,omitempty"`
}

// DecisionCaller is who sends the request: a real Token, checked as the proxy checks it
// (signature, issuer, audience, expiry, binding), or a described caller (ClientID, Subject,
// Scopes, Claims) whose claims are taken as a valid token's, mapped with the API's claim
// names and required scopes. Neither: a request without a token.
type DecisionCaller struct {
	// Token is an access token; the gateway never returns or logs it.
	Token string `json:"token,omitempty"`
	// TokenType is how Token (or the described caller) is presented: TokenTypeBearer, or
	// TokenTypeDPoP. Empty: DPoP for a described caller whose claims carry cnf.jkt, Bearer
	// otherwise.
	TokenType string   `json:"token_type,omitempty"`
	ClientID  string   `json:"client_id,omitempty"`
	Subject   string   `json:"subject,omitempty"`
	Scopes    []string `json:"scopes,omitempty"`
	// Claims is a JSON object of further claims (the policy claim, iat, cnf, ...).
	Claims json.RawMessage `json:"claims,omitempty"`
}

// Described reports whether the caller is described rather than presenting a token.
func (c *DecisionCaller) Described() bool {
	return c.ClientID != "" || c.Subject != "" || c.Scopes != nil || len(c.Claims) > 0
}

// Decision is the answer of POST /v1/decisions (always 200 when the request was valid).
type Decision struct {
	// Allowed: the proxy would forward the request upstream.
	Allowed bool `json:"allowed"`
	// Status is the status the proxy would answer with a refusal, 200 when allowed (the
	// upstream's answer then).
	Status int `json:"status"`
	// Error and ErrorDescription are the refusal's body (RFC 6750 style code), as the
	// proxy sends them; empty when allowed.
	Error            string `json:"error,omitempty"`
	ErrorDescription string `json:"error_description,omitempty"`
	// WWWAuthenticate is the refusal's challenge, when it has one.
	WWWAuthenticate string `json:"www_authenticate,omitempty"`
	// Reason says why, for a person: the check that decided and what it found.
	Reason string `json:"reason"`

	// APIID and APIName: the API the request is routed to; empty when none serves it.
	APIID   string `json:"api_id,omitempty"`
	APIName string `json:"api_name,omitempty"`
	// PolicyID, PolicyName and AccessRight (its index in the policy's access_rights): the
	// grant that allowed the request; empty when refused.
	PolicyID    string `json:"policy_id,omitempty"`
	PolicyName  string `json:"policy_name,omitempty"`
	AccessRight *int   `json:"access_right,omitempty"`
	// Condition is the condition that failed, when the refusal comes from one.
	Condition *DecisionCondition `json:"condition,omitempty"`

	// Caller is the identity the checks saw, once the token (or description) passed.
	Caller *DecisionIdentity `json:"caller,omitempty"`
	// Policies are the policies bound to the caller and what each found, in the order the
	// proxy tries them; empty when the request did not reach the policy check.
	Policies []DecisionPolicy `json:"policies,omitempty"`
	// Limits are the limits that would apply (those of the granting policy) and their state;
	// nil when none applies.
	Limits *DecisionLimits `json:"limits,omitempty"`
}

// DecisionCondition names a failing condition: the API's (PolicyID empty) or an access
// right's, by its index in that list.
type DecisionCondition struct {
	PolicyID    string `json:"policy_id,omitempty"`
	AccessRight *int   `json:"access_right,omitempty"`
	Index       int    `json:"index"`
	Expression  string `json:"expression,omitempty"`
}

// DecisionIdentity is what the token check found about the caller.
type DecisionIdentity struct {
	ClientID string   `json:"client_id,omitempty"`
	Subject  string   `json:"subject,omitempty"`
	Scopes   []string `json:"scopes,omitempty"`
	// Policies are the values of the API's policy claim.
	Policies []string `json:"policies,omitempty"`
	// BoundBy is "dpop" or "mtls" for a sender-constrained token.
	BoundBy string `json:"bound_by,omitempty"`
}

// DecisionPolicy is one policy the caller is bound to and what it found.
type DecisionPolicy struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// BoundBy is "client_id" or "policy_claim".
	BoundBy string `json:"bound_by"`
	// Granted: this policy grants the request (the first that does applies).
	Granted bool `json:"granted"`
	// Reason says why it does not grant the request (or which access right does).
	Reason string `json:"reason"`
}

// DecisionLimits are a policy's limits as the request would meet them, not counted.
type DecisionLimits struct {
	RateLimit *Limit `json:"rate_limit,omitempty"`
	Quota     *Limit `json:"quota,omitempty"`
	// Remaining is what X-RateLimit-Remaining would say after this request; Exceeded
	// names the limit that refuses it ("rate_limit", "quota").
	Remaining int64  `json:"remaining"`
	Exceeded  string `json:"exceeded,omitempty"`
}

// Validate checks a decision request. It returns nil or an *Error naming the first bad
// field.
func (d *DecisionRequest) Validate() error {
	r := &d.Request
	if !IsToken(r.Method) {
		return FieldError("request.method", "%q is not an HTTP method such as GET", r.Method)
	}
	switch {
	case r.URL == "" && r.Path == "":
		return FieldError("request.url", "set request.url (https://host/path) or request.path (/path)")
	case r.URL != "" && (r.Path != "" || r.Host != ""):
		return FieldError("request.url", "set request.url, or request.path with request.host, not both")
	case len(r.URL) > MaxDecisionURLBytes || len(r.Path) > MaxDecisionURLBytes:
		return FieldError(map[bool]string{true: "request.url", false: "request.path"}[r.URL != ""], "at most %d bytes", MaxDecisionURLBytes)
	case r.URL != "":
		if err := CheckHTTPURL(r.URL); err != nil {
			return FieldError("request.url", "%v", err)
		}
	default:
		u, err := url.ParseRequestURI(r.Path)
		if err != nil || u.Host != "" || u.Scheme != "" || !strings.HasPrefix(r.Path, "/") {
			return FieldError("request.path", "%q must be an origin-form request target such as /orders/1?x=y", r.Path)
		}
		if n := NormalizeHost(r.Host); r.Host != "" && (strings.ContainsAny(r.Host, "/@?# ") || !isHostname(n) && net.ParseIP(n) == nil) {
			return FieldError("request.host", "%q is not a host name", r.Host)
		}
	}
	if len(r.Headers) > MaxDecisionHeaders {
		return FieldError("request.headers", "at most %d headers", MaxDecisionHeaders)
	}
	for name, value := range r.Headers {
		field := "request.headers." + name
		switch {
		case !IsToken(name):
			return FieldError(field, "%q is not a valid HTTP header name", name)
		case strings.EqualFold(name, "Authorization"):
			return FieldError(field, "put the token in caller.token (and caller.token_type), not in a header")
		case strings.EqualFold(name, "Host"):
			return FieldError(field, "the host comes from request.url or request.host")
		case len(value) > MaxDecisionHeaderBytes:
			return FieldError(field, "at most %d bytes", MaxDecisionHeaderBytes)
		case strings.ContainsAny(value, "\r\n\x00"):
			return FieldError(field, "must not contain CR, LF or NUL")
		}
	}
	if r.ClientCertificate != "" {
		block, _ := pem.Decode([]byte(r.ClientCertificate))
		if block == nil || block.Type != "CERTIFICATE" {
			return FieldError("request.client_certificate", "must be one PEM CERTIFICATE block")
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return FieldError("request.client_certificate", "not a certificate: %v", err)
		}
	}
	return d.Caller.validate("caller")
}

func (c *DecisionCaller) validate(prefix string) error {
	if c.TokenType != "" && c.TokenType != TokenTypeBearer && c.TokenType != TokenTypeDPoP {
		return FieldError(prefix+".token_type", "%q is not %s or %s", c.TokenType, TokenTypeBearer, TokenTypeDPoP)
	}
	if c.Token != "" {
		switch {
		case c.ClientID != "":
			return FieldError(prefix+".client_id", "a caller is a token or a description (client_id, subject, scopes, claims), not both")
		case c.Subject != "":
			return FieldError(prefix+".subject", "a caller is a token or a description (client_id, subject, scopes, claims), not both")
		case c.Scopes != nil:
			return FieldError(prefix+".scopes", "a caller is a token or a description (client_id, subject, scopes, claims), not both")
		case len(c.Claims) > 0:
			return FieldError(prefix+".claims", "a caller is a token or a description (client_id, subject, scopes, claims), not both")
		case len(c.Token) > MaxDecisionHeaderBytes:
			return FieldError(prefix+".token", "at most %d bytes", MaxDecisionHeaderBytes)
		case hasControlOrSpace(c.Token):
			return FieldError(prefix+".token", "must not contain spaces or control characters")
		}
		return nil
	}
	if c.TokenType != "" && !c.Described() {
		return FieldError(prefix+".token_type", "needs a token or a described caller")
	}
	if err := validateScopes(prefix+".scopes", c.Scopes); err != nil {
		return err
	}
	for field, v := range map[string]string{prefix + ".client_id": c.ClientID, prefix + ".subject": c.Subject} {
		if len(v) > MaxNameLength*4 || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return FieldError(field, "at most %d bytes, without control characters", MaxNameLength*4)
		}
	}
	if len(c.Claims) > 0 {
		if len(c.Claims) > MaxDecisionClaimsBytes {
			return FieldError(prefix+".claims", "at most %d bytes", MaxDecisionClaimsBytes)
		}
		var obj map[string]any
		if err := json.Unmarshal(c.Claims, &obj); err != nil || obj == nil {
			if !bytes.Equal(bytes.TrimSpace(c.Claims), []byte("null")) {
				return FieldError(prefix+".claims", "must be a JSON object of claims, such as {\"pol\": \"gold\"}")
			}
		}
	}
	return nil
}

// Decide asks the gateway what the proxy would do with a request (POST /v1/decisions).
func (c *Client) Decide(ctx context.Context, req DecisionRequest) (*Decision, error) {
	var out Decision
	return &out, c.do(ctx, http.MethodPost, "/v1/decisions", req, &out)
}

// String is the decision in one line, for logs and messages.
func (d *Decision) String() string {
	if d.Allowed {
		return fmt.Sprintf("allowed (%s)", d.Reason)
	}
	return fmt.Sprintf("refused %d %s (%s)", d.Status, d.Error, d.Reason)
}
