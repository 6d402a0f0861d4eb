package token

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"
)

// An introspectionValidator asks an RFC 7662 endpoint about each token:
//   - POST token=...&token_type_hint=access_token, authenticated with client_secret_basic
//     (id and secret form-encoded first, RFC 6749 §2.3.1); redirects are not followed;
//   - active=false → invalid_token; active=true → the identity from the answer (sub,
//     client_id, scope, exp, iat, every field as a claim); an answer whose exp has passed is
//     refused whatever it says;
//   - an answer is cached under SHA-256(endpoint, client, claim mapping, TTL || token) for
//     min(cache_ttl, exp - now), never past exp; cache_ttl 0 disables the cache. Inactive
//     answers and failures are not cached;
//   - concurrent lookups of one token share one request (singleflight), which runs under the
//     factory's context, not a caller's;
//   - a transport error, a non-200 answer or an unreadable body → temporarily_unavailable.
type introspectionValidator struct {
	endpoint       string
	clientID       string
	clientSecret   string
	names          claimNames
	requiredScopes []string
	resource       string // when set, the answer's aud must contain it (RFC 8707)
	cacheTTL       time.Duration
	// cache is nil when cache_ttl is 0.
	cache *cache
	// refused remembers tokens answered inactive or expired for refusedTTL (nil: off), so a
	// flood of one bad token costs one call per refusedTTL.
	refused     *cache
	refusedTTL  time.Duration
	refusedHits *prometheus.CounterVec
	group       *singleflight.Group
	fingerprint [sha256.Size]byte
	client      *http.Client
	requests    *prometheus.CounterVec
	baseCtx     context.Context
	now         func() time.Time
	log         *slog.Logger
}

const (
	introspectionTimeout      = 10 * time.Second
	introspectionMaxBodyBytes = 1 << 20
)

// introspectionOutcome is what one shared introspection call hands to every waiter.
type introspectionOutcome struct {
	identity *Identity
	err      *Error
	// final: the IdP called the token inactive or expired; asking again will not change it.
	final bool
}

// Validate implements Validator.
func (v *introspectionValidator) Validate(ctx context.Context, token string) (*Identity, error) {
	if err := checkLength(token); err != nil {
		return nil, err
	}
	now := v.now()
	key := cacheKeyFor(&v.fingerprint, token)
	if v.cache != nil {
		if id, ok := v.cache.get(key, now, nil); ok {
			return checkScopes(id, v.requiredScopes)
		}
	}
	if v.refused != nil {
		if _, ok := v.refused.get(key, now, nil); ok {
			v.refusedHits.WithLabelValues("hit").Inc()
			return nil, invalid("introspection: token refused moments ago (cached)")
		}
	}
	if !isB64Token(token) {
		return nil, invalid("not an RFC 6750 b64token")
	}
	ch := v.group.DoChan(string(key[:]), func() (any, error) {
		out := v.introspect(token)
		at := v.now()
		switch {
		case out.err == nil && v.cache != nil:
			v.cache.put(key, out.identity, cacheDeadline(at, v.cacheTTL, out.identity.ExpiresAt), nil, at)
		case out.final && v.refused != nil:
			until := at.Add(v.refusedTTL)
			v.refused.put(key, &Identity{ExpiresAt: until}, until, nil, at) // no identity: a marker
		}
		return out, nil
	})
	select {
	case r := <-ch:
		out := r.Val.(introspectionOutcome)
		if out.err != nil {
			return nil, out.err
		}
		return checkScopes(out.identity, v.requiredScopes)
	case <-ctx.Done():
		return nil, unavailable("request ended while waiting for introspection: " + ctx.Err().Error())
	}
}

func (v *introspectionValidator) introspect(token string) introspectionOutcome {
	answer, err := v.post(token)
	if err != nil {
		v.requests.WithLabelValues("error").Inc()
		v.log.Warn("introspection failed", "endpoint", redacted(v.endpoint), "error", err)
		return introspectionOutcome{err: unavailable("introspection: " + err.Error())}
	}
	if active, _ := answer["active"].(bool); !active {
		v.requests.WithLabelValues("inactive").Inc()
		return introspectionOutcome{err: invalid("introspection: token not active"), final: true}
	}
	v.requests.WithLabelValues("active").Inc()
	now := v.now()
	id := identityFromClaims(answer, v.names)
	if exp, ok := numericDate(answer["exp"]); ok {
		if !now.Before(exp) {
			return introspectionOutcome{err: expired(), final: true}
		}
		id.ExpiresAt = exp
	} else {
		// exp is optional in RFC 7662: trust the answer no longer than it may be cached.
		id.ExpiresAt = now.Add(v.cacheTTL)
	}
	if nbf, ok := numericDate(answer["nbf"]); ok && now.Before(nbf) {
		return introspectionOutcome{err: invalid("introspection: nbf in the future")}
	}
	if iat, ok := numericDate(answer["iat"]); ok {
		id.IssuedAt = iat
	}
	if v.resource != "" && !audienceContains(answer["aud"], v.resource) {
		return introspectionOutcome{err: notForResource(), final: true}
	}
	return introspectionOutcome{identity: id}
}

// audienceContains reports whether aud (a string or an array of strings, RFC 7662 §2.2)
// contains want.
func audienceContains(aud any, want string) bool {
	switch a := aud.(type) {
	case string:
		return a == want
	case []any:
		for _, e := range a {
			if s, _ := e.(string); s == want {
				return true
			}
		}
	}
	return false
}

// post sends the introspection request; the error never contains the token or the secret.
func (v *introspectionValidator) post(token string) (map[string]any, error) {
	ctx, cancel := context.WithTimeout(v.baseCtx, introspectionTimeout)
	defer cancel()
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(url.QueryEscape(v.clientID), url.QueryEscape(v.clientSecret))
	body, _, err := do(v.client, req, introspectionMaxBodyBytes)
	if err != nil {
		return nil, err
	}
	var answer map[string]any
	if err := json.Unmarshal(body, &answer); err != nil || answer == nil {
		return nil, fmt.Errorf("answer is not a JSON object")
	}
	return answer, nil
}

// numericDate reads a NumericDate (seconds since the epoch) from a decoded JSON value.
func numericDate(v any) (time.Time, bool) {
	f, ok := v.(float64)
	if !ok || f < 0 || f > 1<<40 {
		return time.Time{}, false
	}
	return time.Unix(int64(f), 0), true
}

// isB64Token checks the RFC 6750 §2.1 b64token syntax, so that garbage is refused
// without a round trip to the IdP.
func isB64Token(s string) bool {
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' {
			continue
		}
		break
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}
