package adminapi

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Bounds the gateway enforces on configuration values. The provider checks the same at plan
// time by calling Validate.
const (
	MaxNameLength    = 200
	MaxLeeway        = 5 * time.Minute
	MaxCacheTTL      = 24 * time.Hour
	MaxRateLimitPer  = 24 * time.Hour
	MaxQuotaPer      = 366 * 24 * time.Hour
	MaxTokenAgeBound = 366 * 24 * time.Hour
	maxListEntries   = 1000
)

// AllowedAlgorithms are the JWS algorithms a protected API may accept: asymmetric ones only,
// so a public key can never be used as an HMAC secret.
var AllowedAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// Methods are the HTTP methods an access right may name.
var Methods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"}

// Validate checks an API as sent in a POST or PUT body. It returns nil or an *Error naming
// the first bad field.
func (a *API) Validate() error {
	if err := validateName("name", a.Name); err != nil {
		return err
	}
	if err := validateListenPath("listen_path", a.ListenPath); err != nil {
		return err
	}
	if err := validateHTTPURL("upstream_url", a.UpstreamURL); err != nil {
		return err
	}
	if err := validateHosts("hosts", a.Hosts); err != nil {
		return err
	}
	if a.SenderConstraint != "" && !contains(SenderConstraints, a.SenderConstraint) {
		return FieldError("sender_constraint", "%q is not one of %s", a.SenderConstraint, strings.Join(SenderConstraints, ", "))
	}
	if a.PathNormalization != "" && !contains(PathNormalizations, a.PathNormalization) {
		return FieldError("path_normalization", "%q is not one of %s", a.PathNormalization, strings.Join(PathNormalizations, ", "))
	}
	if a.CaseInsensitivePaths && strings.ToLower(a.ListenPath) != a.ListenPath {
		return FieldError("listen_path", "%q must be lower case when case_insensitive_paths is set", a.ListenPath)
	}
	switch {
	case a.JWT == nil && a.Introspection == nil:
		return FieldError("jwt", "exactly one of jwt and introspection must be set; neither is")
	case a.JWT != nil && a.Introspection != nil:
		return FieldError("introspection", "exactly one of jwt and introspection must be set; both are")
	case a.JWT != nil:
		if err := a.JWT.validate("jwt"); err != nil {
			return err
		}
	default:
		if err := a.Introspection.validate("introspection"); err != nil {
			return err
		}
	}
	if err := a.validateResource(); err != nil { // resource.go
		return err
	}
	if _, err := CompileConditions("conditions", a.Conditions); err != nil {
		return err
	}
	if a.CORS != nil {
		if err := a.CORS.validate("cors"); err != nil {
			return err
		}
	}
	headers := make([]string, 0, len(a.ForwardClaims))
	for header := range a.ForwardClaims {
		headers = append(headers, header)
	}
	sort.Strings(headers) // the first bad field is the same on every call
	for i, header := range headers {
		claim := a.ForwardClaims[header]
		field := "forward_claims." + header
		if !IsToken(header) {
			return FieldError(field, "%q is not a valid HTTP header name", header)
		}
		if strings.Contains(header, "_") {
			return FieldError(field, "%q contains _: use - instead; upstreams behind CGI-style servers (WSGI, PHP, Rack) read _ and - alike", header)
		}
		if i > 0 && strings.EqualFold(headers[i-1], header) {
			return FieldError(field, "%q and %q are the same header; keep one", headers[i-1], header)
		}
		if strings.HasPrefix(strings.ToLower(header), strings.ToLower(HeaderPrefix)) {
			return FieldError(field, "headers starting with %s are set by the gateway itself", HeaderPrefix)
		}
		if isRestrictedHeader(header) {
			return FieldError(field, "%s cannot carry a claim: the gateway or HTTP itself owns it", header)
		}
		if strings.TrimSpace(claim) == "" {
			return FieldError(field, "claim name is empty")
		}
	}
	return nil
}

func (j *JWTValidation) validate(prefix string) error {
	if err := validateHTTPURL(prefix+".issuer", j.Issuer); err != nil {
		return err
	}
	if err := validateHTTPURL(prefix+".jwks_uri", j.JWKSURI); err != nil {
		return err
	}
	if err := validateStrings(prefix+".audiences", j.Audiences); err != nil {
		return err
	}
	for i, alg := range j.AllowedAlgorithms {
		if !contains(AllowedAlgorithms, alg) {
			return FieldError(fmt.Sprintf("%s.allowed_algorithms[%d]", prefix, i),
				"%q is not allowed; use one of %s", alg, strings.Join(AllowedAlgorithms, ", "))
		}
	}
	if j.Leeway != nil {
		if err := validateDuration(prefix+".leeway", j.Leeway.D(), 0, MaxLeeway); err != nil {
			return err
		}
	}
	return validateClaimSettings(prefix, j.IdentityClaim, j.ClientIDClaim, j.PolicyClaim, j.RequiredScopes)
}

func (in *Introspection) validate(prefix string) error {
	if err := validateHTTPURL(prefix+".endpoint", in.Endpoint); err != nil {
		return err
	}
	if strings.TrimSpace(in.ClientID) == "" {
		return FieldError(prefix+".client_id", "must be set: the gateway authenticates to the introspection endpoint")
	}
	if in.CacheTTL != nil {
		if err := validateDuration(prefix+".cache_ttl", in.CacheTTL.D(), 0, MaxCacheTTL); err != nil {
			return err
		}
	}
	return validateClaimSettings(prefix, in.IdentityClaim, in.ClientIDClaim, in.PolicyClaim, in.RequiredScopes)
}

func validateClaimSettings(prefix, identity, clientID, policy string, scopes []string) error {
	for field, v := range map[string]string{"identity_claim": identity, "client_id_claim": clientID, "policy_claim": policy} {
		if v != "" && strings.TrimSpace(v) != v {
			return FieldError(prefix+"."+field, "claim name %q has surrounding spaces", v)
		}
	}
	return validateScopes(prefix+".required_scopes", scopes)
}

// Validate checks a policy as sent in a POST or PUT body (not whether its APIs exist, which
// only the gateway knows). It returns nil or an *Error naming the first bad field.
func (p *Policy) Validate() error {
	if err := validateName("name", p.Name); err != nil {
		return err
	}
	if err := validateStrings("client_ids", p.ClientIDs); err != nil {
		return err
	}
	if len(p.AccessRights) > maxListEntries {
		return FieldError("access_rights", "at most %d entries", maxListEntries)
	}
	for i, ar := range p.AccessRights {
		prefix := fmt.Sprintf("access_rights[%d]", i)
		if strings.TrimSpace(ar.APIID) == "" {
			return FieldError(prefix+".api_id", "must be set")
		}
		for j, m := range ar.Methods {
			if !contains(Methods, m) {
				return FieldError(fmt.Sprintf("%s.methods[%d]", prefix, j),
					"%q is not an HTTP method; use upper case: %s", m, strings.Join(Methods, ", "))
			}
		}
		for j, pattern := range ar.Paths {
			if err := ValidatePathPattern(pattern); err != nil {
				return FieldError(fmt.Sprintf("%s.paths[%d]", prefix, j), "%s", err.Error())
			}
		}
		if err := validateScopes(prefix+".required_scopes", ar.RequiredScopes); err != nil {
			return err
		}
		if _, err := CompileConditions(prefix+".conditions", ar.Conditions); err != nil {
			return err
		}
	}
	if err := p.RateLimit.validate("rate_limit", MaxRateLimitPer); err != nil {
		return err
	}
	if err := p.Quota.validate("quota", MaxQuotaPer); err != nil {
		return err
	}
	return validateDuration("max_token_age", p.MaxTokenAge.D(), 0, MaxTokenAgeBound)
}

func (l *Limit) validate(prefix string, maxPer time.Duration) error {
	if l == nil {
		return nil
	}
	if l.Requests <= 0 {
		return FieldError(prefix+".requests", "must be greater than 0, got %d", l.Requests)
	}
	if l.Per.D() <= 0 {
		return FieldError(prefix+".per", "must be a positive duration such as \"60s\", got %q", l.Per.String())
	}
	return validateDuration(prefix+".per", l.Per.D(), time.Nanosecond, maxPer)
}

// ValidatePathPattern checks an access-right path pattern: it starts with "/", has no "." or
// ".." segment, and uses "*" (one segment) and "**" (any depth, last segment only) only as
// whole segments.
func ValidatePathPattern(pattern string) error {
	if !strings.HasPrefix(pattern, "/") {
		return fmt.Errorf("path pattern %q must start with \"/\"", pattern)
	}
	if strings.ContainsAny(pattern, "?#") || hasControlOrSpace(pattern) {
		return fmt.Errorf("path pattern %q must be a plain path (no query, fragment or spaces)", pattern)
	}
	segs := strings.Split(pattern[1:], "/")
	for i, s := range segs {
		switch {
		case s == "." || s == "..":
			return fmt.Errorf("path pattern %q must not contain %q segments", pattern, s)
		case s == "**" && i != len(segs)-1:
			return fmt.Errorf("path pattern %q: \"**\" may only be the last segment", pattern)
		case s != "*" && s != "**" && strings.Contains(s, "*"):
			return fmt.Errorf("path pattern %q: \"*\" and \"**\" must be whole segments", pattern)
		}
	}
	return nil
}

func validateName(field, name string) error {
	if strings.TrimSpace(name) == "" {
		return FieldError(field, "must be set")
	}
	if len(name) > MaxNameLength {
		return FieldError(field, "at most %d characters", MaxNameLength)
	}
	if strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return FieldError(field, "must not contain control characters")
	}
	return nil
}

func validateListenPath(field, p string) error {
	if !strings.HasPrefix(p, "/") {
		return FieldError(field, "%q must start with \"/\", such as %q", p, "/"+p)
	}
	if strings.ContainsAny(p, "?#*%") || hasControlOrSpace(p) {
		return FieldError(field, "%q must be a plain path (no query, fragment, wildcard, escape or spaces)", p)
	}
	if strings.Contains(p, "\\") {
		return FieldError(field, "%q must not contain a backslash: the gateway refuses every request path that does", p)
	}
	if strings.Contains(p, "//") {
		return FieldError(field, "%q must not contain empty segments", p)
	}
	if n := NormalizeListenPath(p); n == ReservedPathPrefix || strings.HasPrefix(n, ReservedPathPrefix+"/") {
		return FieldError(field, "%q is under %s, which the gateway keeps for itself (the decision endpoint %s)", p, ReservedPathPrefix, DefaultDecisionPath)
	}
	if len(p) > MaxRequestTargetBytes || strings.Count(p, "/") > MaxPathSegments {
		return FieldError(field, "%q is longer than any request the gateway accepts (%d bytes, %d segments)", p, MaxRequestTargetBytes, MaxPathSegments)
	}
	for _, s := range strings.Split(p[1:], "/") {
		if s == "." || s == ".." {
			return FieldError(field, "%q must not contain \".\" or \"..\" segments", p)
		}
		if strings.Contains(s, ";") || strings.HasSuffix(s, ".") {
			return FieldError(field, "%q must not contain \";\" or a segment ending in \".\": upstreams read such paths as others (see path_normalization)", p)
		}
	}
	return nil
}

// NormalizeListenPath is the form the gateway compares and routes by: no trailing slash
// except for "/" itself, so "/api" and "/api/" are the same listen path.
func NormalizeListenPath(p string) string {
	if len(p) > 1 {
		p = strings.TrimRight(p, "/")
		if p == "" {
			return "/"
		}
	}
	return p
}

func validateHTTPURL(field, raw string) error {
	if err := CheckHTTPURL(raw); err != nil {
		return FieldError(field, "%s", err.Error())
	}
	return nil
}

func validateDuration(field string, d, lo, hi time.Duration) error {
	if d < lo || d > hi {
		return FieldError(field, "%s is out of range: must be between %s and %s", d, lo, hi)
	}
	return nil
}

func validateStrings(field string, values []string) error {
	if len(values) > maxListEntries {
		return FieldError(field, "at most %d entries", maxListEntries)
	}
	for i, v := range values {
		if strings.TrimSpace(v) == "" {
			return FieldError(fmt.Sprintf("%s[%d]", field, i), "must not be empty")
		}
	}
	return nil
}

func validateScopes(field string, scopes []string) error {
	if err := validateStrings(field, scopes); err != nil {
		return err
	}
	for i, s := range scopes {
		if hasControlOrSpace(s) || strings.ContainsAny(s, "\"\\") {
			return FieldError(fmt.Sprintf("%s[%d]", field, i), "scope %q must not contain spaces, quotes or backslashes (RFC 6749 3.3)", s)
		}
	}
	return nil
}

func hasControlOrSpace(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r <= 0x20 || r == 0x7f })
}

// IsToken reports whether s is an RFC 9110 token, the syntax of a header name and of a
// method.
func IsToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}

// isRestrictedHeader lists headers a claim must not overwrite: connection management,
// framing and the credentials the gateway forwards.
func isRestrictedHeader(h string) bool {
	switch strings.ToLower(h) {
	case "host", "content-length", "transfer-encoding", "connection", "keep-alive", "te", "trailer",
		"upgrade", "proxy-authorization", "proxy-authenticate", "authorization", "cookie",
		"x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "forwarded":
		return true
	}
	return false
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}
