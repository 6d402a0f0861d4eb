package token

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/singleflight"

	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/tracing"
)

// A jwksCache holds the signing keys published at one jwks_uri. It is shared by every API
// (and every config snapshot) that names that URI, and it is the only place keys come from:
// a token's jku, x5u, jwk or x5c header is never consulted.
//
// Fetching:
//   - lazily: ForAPI starts a background prefetch, the first Validate waits for it if it is
//     still in flight;
//   - all fetches of one URI go through one singleflight call, and at most one fetch is
//     started per minRefetch interval (10s by default) for each of two triggers: a kid the
//     keys lack, and everything else (the first fetch, a background refresh). A thousand
//     concurrent tokens with an unknown kid cause at most one request to the IdP, forged
//     kids at most one per interval; and a key the IdP published just after another fetch
//     (Hydra publishes its first access-token key at its first issuance) is fetched for the
//     first token that needs it, not an interval later. Any two fetches are at least
//     jwksColdRetry apart;
//   - the document is refreshed in the background once it is older than the IdP's
//     Cache-Control max-age, clamped to [1m, 24h] (15m without one);
//   - a failed fetch keeps the keys already known, so an IdP outage does not fail tokens
//     signed by cached keys; an empty or unusable document counts as a failure;
//   - bodies are capped at 1 MiB and fetches time out after 10s.
type jwksCache struct {
	uri string
	jwksCacheDeps

	keys      atomic.Pointer[jwksKeySet]
	refreshAt atomic.Int64 // Unix nanoseconds after which a background refresh is due
	// background counts the goroutines started by prefetch and refreshInBackgroundIfDue that
	// have not returned yet. Nothing decides on it (tests wait for it to reach 0): a flag that
	// decided whether a refresh may start was cleared by its goroutine only after the fetch,
	// so a refresh falling due in that gap lost and never ran.
	background atomic.Int32
	// attempts counts the fetches fetchIfDue started; a background refresh compares it to
	// tell a fetch from a flight it joined that had found nothing due.
	attempts atomic.Uint64
	group    singleflight.Group

	mu          sync.Mutex
	lastAttempt time.Time // of any fetch
	// lastKidAttempt is the last fetch started for a kid the keys lacked.
	lastKidAttempt time.Time
	lastErr        error
}

const (
	jwksMaxBodyBytes      = 1 << 20
	jwksFetchTimeout      = 10 * time.Second
	jwksDefaultMinRefetch = 10 * time.Second
	// jwksColdRetry bounds the wait between attempts while no key has ever been fetched,
	// and is the least time between any two fetches.
	jwksColdRetry     = time.Second
	jwksDefaultMaxAge = 15 * time.Minute
	jwksMinMaxAge     = time.Minute
	jwksMaxMaxAge     = 24 * time.Hour
	jwksMinRSABits    = 2048
)

// jwksKeySet is one parsed JWKS document; immutable once built.
type jwksKeySet struct {
	keys  []jose.JSONWebKey
	byKID map[string][]jose.JSONWebKey
	// digest of the document's bytes: an unchanged document keeps the old *jwksKeySet, so
	// the verified-token cache (which is bound to it) survives routine refreshes.
	digest [sha256.Size]byte
}

// jwksRefreshResult is what one singleflight refresh hands to every waiter.
type jwksRefreshResult struct {
	set *jwksKeySet
	err error
}

// jwksCacheDeps is what a jwksCache gets from its Factory.
type jwksCacheDeps struct {
	client     *http.Client
	now        func() time.Time
	log        *slog.Logger
	fetches    *prometheus.CounterVec
	minRefetch time.Duration
	// baseCtx is cancelled by Factory.Close; fetches never run under a request's
	// context, so one impatient client cannot fail a fetch others are waiting for.
	baseCtx context.Context
	tracer  *tracing.Tracer // nil: tracing off
}

func newJWKSCache(uri string, d jwksCacheDeps) *jwksCache {
	return &jwksCache{uri: uri, jwksCacheDeps: d}
}

// current returns the cached document, or nil before the first successful fetch.
func (c *jwksCache) current() *jwksKeySet { return c.keys.Load() }

// prefetch starts a fetch in the background when no key is known yet. It runs once per
// config snapshot, not per request; concurrent prefetches join one fetch (singleflight).
func (c *jwksCache) prefetch() {
	if c.keys.Load() != nil {
		return
	}
	c.inBackground(c.keysUnknown)
}

func (c *jwksCache) keysUnknown() bool { return c.keys.Load() == nil }

// inBackground runs refresh on a goroutine of its own, under the Factory's context, while
// needed() holds (nil: always). Should that refresh join a flight which had begun before and
// found nothing due (so fetched nothing), it refreshes once more: that next flight begins
// after this call and decides anew. needed() is asked again when the goroutine runs: a
// prefetch scheduled late, after a request already fetched the keys, must not fetch a second
// time once the refetch interval has passed.
func (c *jwksCache) inBackground(needed func() bool) {
	attempts := c.attempts.Load()
	c.background.Add(1)
	go func() {
		defer c.background.Add(-1)
		if needed != nil && !needed() {
			return
		}
		_, _ = c.refresh(c.baseCtx, false)
		if c.attempts.Load() == attempts && (needed == nil || needed()) {
			_, _ = c.refresh(c.baseCtx, false)
		}
	}()
}

// verificationKeys returns the keys that may have signed a token whose header carries kid
// and alg, and the document they come from. An unknown kid triggers one refetch (subject to
// the rate limit). The error is invalid_token when no key matches (whether or not that refetch
// succeeded), temporarily_unavailable when no document was ever fetched.
func (c *jwksCache) verificationKeys(ctx context.Context, kid string, alg jose.SignatureAlgorithm) ([]jose.JSONWebKey, *jwksKeySet, *Error) {
	set := c.keys.Load()
	var fetchErr error
	if set == nil {
		set, fetchErr = c.refresh(ctx, false)
		if set == nil {
			return nil, nil, unavailable(fmt.Sprintf("jwks %s not available: %v", redacted(c.uri), fetchErr))
		}
	} else {
		c.refreshInBackgroundIfDue(c.now())
	}
	if keys, ambiguous := set.candidates(kid, alg); len(keys) > 0 {
		return keys, set, nil
	} else if ambiguous {
		return nil, nil, invalid("token has no kid and several keys match its alg")
	}
	set, fetchErr = c.refresh(ctx, true)
	if set != nil {
		if keys, _ := set.candidates(kid, alg); len(keys) > 0 {
			return keys, set, nil
		}
	}
	if fetchErr != nil {
		// A decision, not an accident: with keys in hand, a kid they do not hold is refused
		// as invalid_token even while the JWKS cannot be refreshed. Forged tokens with made-up
		// kids then cannot make an API look unavailable, and the fetch failure is logged
		// where it happens (fetchIfDue, at most once per refetch interval).
		return nil, nil, invalid(fmt.Sprintf("no key for kid %q and the jwks %s could not be refreshed: %v", kid, redacted(c.uri), fetchErr))
	}
	return nil, nil, invalid(fmt.Sprintf("no key in the jwks for kid %q and alg %s", kid, alg))
}

// refreshInBackgroundIfDue starts a background refresh once the document is older than
// its max-age; requests keep using the current keys meanwhile. The request that moves
// refreshAt forward (one compare-and-swap) starts it, so of many concurrent requests exactly
// one does, and no earlier fetch still finishing can make it lose: it joins that fetch or
// starts its own. refreshAt is pushed a refetch interval ahead until the fetch sets it.
func (c *jwksCache) refreshInBackgroundIfDue(now time.Time) {
	due := c.refreshAt.Load()
	if now.UnixNano() < due || !c.refreshAt.CompareAndSwap(due, now.Add(c.minRefetch).UnixNano()) {
		return
	}
	c.inBackground(nil)
}

// refresh joins the in-flight fetch or starts one if the rate limit allows (forKid: the
// caller holds a kid the keys lack), and returns the document known afterwards with the error
// of the latest attempt.
func (c *jwksCache) refresh(ctx context.Context, forKid bool) (*jwksKeySet, error) {
	parent := trace.SpanContextFromContext(ctx) // the fetch's span is the first caller's child
	ch := c.group.DoChan("jwks", func() (any, error) { return c.fetchIfDue(forKid, parent), nil })
	select {
	case r := <-ch:
		res := r.Val.(jwksRefreshResult)
		return res.set, res.err
	case <-ctx.Done():
		return c.keys.Load(), ctx.Err()
	}
}

func (c *jwksCache) fetchIfDue(forKid bool, parent trace.SpanContext) jwksRefreshResult {
	now := c.now()
	c.mu.Lock()
	interval := c.minRefetch
	if c.keys.Load() == nil {
		interval = min(interval, jwksColdRetry)
	}
	due := c.lastAttempt.IsZero() || now.Sub(c.lastAttempt) >= interval
	if forKid && !due {
		// The last fetch was not looking for this kid: the first unknown kid after it may
		// fetch again, once per interval, at least jwksColdRetry after any fetch.
		due = (c.lastKidAttempt.IsZero() || now.Sub(c.lastKidAttempt) >= c.minRefetch) &&
			now.Sub(c.lastAttempt) >= jwksColdRetry
	}
	if !due {
		err := c.lastErr
		c.mu.Unlock()
		return jwksRefreshResult{set: c.keys.Load(), err: err}
	}
	c.lastAttempt = now
	if forKid {
		c.lastKidAttempt = now
	}
	c.attempts.Add(1)
	c.mu.Unlock()

	set, maxAge, err := c.fetch(parent)

	c.mu.Lock()
	c.lastErr = err
	c.mu.Unlock()
	if err != nil {
		c.fetches.WithLabelValues("error").Inc()
		c.log.Warn("jwks fetch failed; keeping the keys already known", "jwks_uri", redacted(c.uri), "error", err)
		c.refreshAt.Store(now.Add(c.minRefetch).UnixNano())
		return jwksRefreshResult{set: c.keys.Load(), err: err}
	}
	c.fetches.WithLabelValues("success").Inc()
	if old := c.keys.Load(); old != nil && old.digest == set.digest {
		set = old
	} else {
		c.keys.Store(set)
		c.log.Info("jwks loaded", "jwks_uri", redacted(c.uri), "keys", len(set.keys))
	}
	c.refreshAt.Store(now.Add(max(maxAge, c.minRefetch)).UnixNano())
	return jwksRefreshResult{set: set}
}

func (c *jwksCache) fetch(parent trace.SpanContext) (set *jwksKeySet, maxAge time.Duration, err error) {
	ctx, cancel := context.WithTimeout(c.baseCtx, jwksFetchTimeout)
	defer cancel()
	ctx, span := c.tracer.StartDetached(ctx, parent, "jwks fetch")
	defer func() { endSpan(span, err) }()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.uri, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	body, header, err := do(c.client, req, jwksMaxBodyBytes)
	if err != nil {
		return nil, 0, err
	}
	set, skipped, err := jwksParse(body)
	if err != nil {
		return nil, 0, err
	}
	if skipped > 0 {
		c.log.Debug("jwks keys skipped (not an asymmetric signing key, or too weak)", "jwks_uri", redacted(c.uri), "skipped", skipped)
	}
	return set, jwksMaxAge(header.Get("Cache-Control")), nil
}

// jwksParse keeps the usable keys of a JWKS document: asymmetric public signing keys (use
// "sig" or absent), RSA of at least 2048 bits. Keys go-jose cannot parse are skipped rather
// than failing the whole document, since IdPs publish encryption keys of other types too.
func jwksParse(body []byte) (*jwksKeySet, int, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, 0, fmt.Errorf("not a JWKS document: %w", err)
	}
	set := &jwksKeySet{byKID: make(map[string][]jose.JSONWebKey), digest: sha256.Sum256(body)}
	skipped := 0
	for _, raw := range doc.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); err != nil || (k.Use != "" && k.Use != "sig") {
			skipped++
			continue
		}
		k = k.Public() // never hold private material, even if an IdP publishes it
		if !k.Valid() || !jwksUsableKey(k.Key) {
			skipped++
			continue
		}
		set.keys = append(set.keys, k)
		set.byKID[k.KeyID] = append(set.byKID[k.KeyID], k)
	}
	if len(set.keys) == 0 {
		return nil, skipped, errors.New("no usable signing key in the document")
	}
	return set, skipped, nil
}

func jwksUsableKey(key any) bool {
	switch k := key.(type) {
	case *rsa.PublicKey:
		return k.N.BitLen() >= jwksMinRSABits
	case *ecdsa.PublicKey, ed25519.PublicKey:
		return true
	default:
		return false
	}
}

// candidates returns the keys that may verify a token with this kid and alg. With a kid,
// only keys with that kid qualify; without one, the document's single key fitting alg
// does, and ambiguous reports that several do.
func (s *jwksKeySet) candidates(kid string, alg jose.SignatureAlgorithm) (keys []jose.JSONWebKey, ambiguous bool) {
	pool := s.keys
	if kid != "" {
		pool = s.byKID[kid]
	}
	for _, k := range pool {
		if jwksKeyFitsAlg(&k, alg) {
			keys = append(keys, k)
		}
	}
	if kid == "" && len(keys) > 1 {
		return nil, true
	}
	return keys, false
}

// jwksKeyFitsAlg reports whether a key may verify alg: the right key type (and curve for
// ECDSA), and the key's own alg, when published, equal to the token's.
func jwksKeyFitsAlg(k *jose.JSONWebKey, alg jose.SignatureAlgorithm) bool {
	if k.Algorithm != "" && k.Algorithm != string(alg) {
		return false
	}
	switch alg {
	case jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512:
		_, ok := k.Key.(*rsa.PublicKey)
		return ok
	case jose.ES256, jose.ES384, jose.ES512:
		ec, ok := k.Key.(*ecdsa.PublicKey)
		if !ok {
			return false
		}
		switch alg {
		case jose.ES256:
			return ec.Curve == elliptic.P256()
		case jose.ES384:
			return ec.Curve == elliptic.P384()
		default:
			return ec.Curve == elliptic.P521()
		}
	case jose.EdDSA:
		_, ok := k.Key.(ed25519.PublicKey)
		return ok
	default:
		return false
	}
}

// jwksMaxAge reads max-age from a Cache-Control header, clamped to [1m, 24h].
func jwksMaxAge(cacheControl string) time.Duration {
	for directive := range strings.SplitSeq(cacheControl, ",") {
		name, value, ok := strings.Cut(strings.TrimSpace(directive), "=")
		if !ok || !strings.EqualFold(name, "max-age") {
			continue
		}
		secs, err := strconv.ParseInt(strings.Trim(value, `"`), 10, 64)
		if err != nil || secs < 0 {
			break
		}
		secs = min(secs, int64(jwksMaxMaxAge/time.Second))
		return max(time.Duration(secs)*time.Second, jwksMinMaxAge)
	}
	return jwksDefaultMaxAge
}
