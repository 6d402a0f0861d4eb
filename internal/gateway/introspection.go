package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"
)

// An introspectValidator asks an RFC 7662 endpoint about each token:
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
type introspectValidator struct {
	endpoint       string
	clientID       string
	clientSecret   string
	names          tokenClaimNames
	requiredScopes []string
	cacheTTL       time.Duration
	// cache is nil when cache_ttl is 0.
	cache       *tokenCache
	group       *singleflight.Group
	fingerprint [sha256.Size]byte
	client      *http.Client
	requests    *prometheus.CounterVec
	baseCtx     context.Context
	now         func() time.Time
	log         *slog.Logger
}

const (
	introspectDefaultCacheTTL = 60 * time.Second
	introspectMaxCacheTTL     = 24 * time.Hour
	introspectTimeout         = 10 * time.Second
	introspectMaxBodyBytes    = 1 << 20
)

// introspectOutcome is what one shared introspection call hands to every waiter.
type introspectOutcome struct {
	identity *Identity
	err      *TokenError
}

// Validate implements TokenValidator.
func (v *introspectValidator) Validate(ctx context.Context, token string) (*Identity, error) {
	if len(token) == 0 || len(token) > tokenMaxBytes {
		return nil, tokenInvalid(fmt.Sprintf("token length %d outside 1..%d", len(token), tokenMaxBytes))
	}
	now := v.now()
	key := tokenCacheKeyFor(&v.fingerprint, token)
	if v.cache != nil {
		if id, ok := v.cache.get(key, now, nil); ok {
			return tokenCheckScopes(id, v.requiredScopes)
		}
	}
	if !introspectIsB64Token(token) {
		return nil, tokenInvalid("not an RFC 6750 b64token")
	}
	ch := v.group.DoChan(string(key[:]), func() (any, error) {
		out := v.introspect(token)
		if out.err == nil && v.cache != nil {
			at := v.now()
			deadline := at.Add(v.cacheTTL)
			if out.identity.ExpiresAt.Before(deadline) {
				deadline = out.identity.ExpiresAt
			}
			v.cache.put(key, out.identity, deadline, nil, at)
		}
		return out, nil
	})
	select {
	case r := <-ch:
		out := r.Val.(introspectOutcome)
		if out.err != nil {
			return nil, out.err
		}
		return tokenCheckScopes(out.identity, v.requiredScopes)
	case <-ctx.Done():
		return nil, tokenUnavailable("request ended while waiting for introspection: " + ctx.Err().Error())
	}
}

func (v *introspectValidator) introspect(token string) introspectOutcome {
	answer, err := v.post(token)
	if err != nil {
		v.requests.WithLabelValues("error").Inc()
		v.log.Warn("introspection failed", "endpoint", introspectRedacted(v.endpoint), "error", err)
		return introspectOutcome{err: tokenUnavailable("introspection: " + err.Error())}
	}
	if active, _ := answer["active"].(bool); !active {
		v.requests.WithLabelValues("inactive").Inc()
		return introspectOutcome{err: tokenInvalid("introspection: token not active")}
	}
	v.requests.WithLabelValues("active").Inc()
	now := v.now()
	id := tokenIdentityFromClaims(answer, v.names)
	if exp, ok := introspectTime(answer["exp"]); ok {
		if !now.Before(exp) {
			return introspectOutcome{err: tokenExpired()}
		}
		id.ExpiresAt = exp
	} else {
		// exp is optional in RFC 7662: trust the answer no longer than it may be cached.
		id.ExpiresAt = now.Add(v.cacheTTL)
	}
	if nbf, ok := introspectTime(answer["nbf"]); ok && now.Before(nbf) {
		return introspectOutcome{err: tokenInvalid("introspection: nbf in the future")}
	}
	if iat, ok := introspectTime(answer["iat"]); ok {
		id.IssuedAt = iat
	}
	return introspectOutcome{identity: id}
}

// post sends the introspection request; the error never contains the token or the secret.
func (v *introspectValidator) post(token string) (map[string]any, error) {
	ctx, cancel := context.WithTimeout(v.baseCtx, introspectTimeout)
	defer cancel()
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(url.QueryEscape(v.clientID), url.QueryEscape(v.clientSecret))
	resp, err := v.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("endpoint answered status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, introspectMaxBodyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read answer: %w", err)
	}
	if len(body) > introspectMaxBodyBytes {
		return nil, fmt.Errorf("answer larger than %d bytes", introspectMaxBodyBytes)
	}
	var answer map[string]any
	if err := json.Unmarshal(body, &answer); err != nil || answer == nil {
		return nil, fmt.Errorf("answer is not a JSON object")
	}
	return answer, nil
}

// introspectTime reads a NumericDate (seconds since the epoch) from a decoded JSON value.
func introspectTime(v any) (time.Time, bool) {
	f, ok := v.(float64)
	if !ok || f < 0 || f > 1<<40 {
		return time.Time{}, false
	}
	return time.Unix(int64(f), 0), true
}

// introspectIsB64Token checks the RFC 6750 §2.1 b64token syntax, so that garbage is refused
// without a round trip to the IdP.
func introspectIsB64Token(s string) bool {
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

func introspectRedacted(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	return "(unparsable endpoint)"
}
