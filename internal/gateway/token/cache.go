package token

import (
	"crypto/sha256"
	"sync"
	"sync/atomic"
	"time"
)

// The verified-token cache lets the gateway skip the signature check (tens of µs for RS256)
// for a token it has already verified, without weakening any check:
//   - the key is SHA-256(validator fingerprint || raw token), so a token that differs by one
//     byte, or the same token presented to an API with another validation config, misses;
//   - an entry never outlives the token: its deadline is min(now+TTL, exp), and a hit re-checks
//     exp against the caller's clock;
//   - an entry made under one JWKS document is dropped once the document changes, so a key
//     removed by the IdP stops validating cached tokens at the next JWKS refresh;
//   - only successes are cached, and the size is bounded (second-chance eviction per shard),
//     so bad tokens cannot grow memory.
//
// The map is sharded by the first key byte; a hit takes one shard's read lock and allocates
// nothing.

const (
	cacheShardCount  = 64
	cacheDefaultSize = 16384
	cacheDefaultTTL  = 5 * time.Minute
)

// cacheKey is SHA-256(fingerprint || token).
type cacheKey [sha256.Size]byte

// cacheEntry is immutable after insertion except for the eviction hint.
type cacheEntry struct {
	identity *Identity
	// deadline is when the entry stops being usable, in Unix nanoseconds.
	deadline int64
	// keys is the JWKS document the signature was verified with (nil for introspection).
	keys *jwksKeySet
	// used is the second-chance bit: set by hits, cleared by the eviction sweep.
	used atomic.Bool
}

type cacheShard struct {
	mu      sync.RWMutex
	entries map[cacheKey]*cacheEntry
	// pad keeps two shards' locks out of one cache line.
	_ [40]byte
}

type cache struct {
	perShard int
	shards   [cacheShardCount]cacheShard
}

func newCache(size int) *cache {
	if size <= 0 {
		size = cacheDefaultSize
	}
	perShard := max(size/cacheShardCount, 1)
	c := &cache{perShard: perShard}
	for i := range c.shards {
		c.shards[i].entries = make(map[cacheKey]*cacheEntry)
	}
	return c
}

// keyBuffers are pooled so that hashing a token on the hit path does not allocate:
// the fingerprint and the token are copied into one buffer and hashed with Sum256.
var keyBuffers = sync.Pool{New: func() any { return new([sha256.Size + maxTokenBytes]byte) }}

// cacheKeyFor hashes a validator fingerprint and a raw token into a cache key.
// Tokens longer than maxTokenBytes are refused before this is called; should one reach it
// anyway, it is hashed the slow way rather than truncated.
func cacheKeyFor(fingerprint *[sha256.Size]byte, token string) cacheKey {
	if len(token) > maxTokenBytes {
		return sha256.Sum256(append(fingerprint[:len(fingerprint):len(fingerprint)], token...))
	}
	buf := keyBuffers.Get().(*[sha256.Size + maxTokenBytes]byte)
	copy(buf[:], fingerprint[:])
	n := copy(buf[sha256.Size:], token)
	k := cacheKey(sha256.Sum256(buf[:sha256.Size+n]))
	keyBuffers.Put(buf)
	return k
}

func (c *cache) shard(k *cacheKey) *cacheShard {
	return &c.shards[k[0]%cacheShardCount]
}

// get returns the cached identity for k if the entry is still usable at now and was made
// under the JWKS document keys (pass nil when the entry does not depend on a JWKS).
func (c *cache) get(k cacheKey, now time.Time, keys *jwksKeySet) (*Identity, bool) {
	s := c.shard(&k)
	s.mu.RLock()
	e := s.entries[k]
	s.mu.RUnlock()
	if e == nil || now.UnixNano() >= e.deadline || e.keys != keys || !now.Before(e.identity.ExpiresAt) {
		return nil, false
	}
	if !e.used.Load() {
		e.used.Store(true)
	}
	return e.identity, true
}

// cacheDeadline is when an entry made at now stops being usable: after ttl, and never past
// the token's exp.
func cacheDeadline(now time.Time, ttl time.Duration, exp time.Time) time.Time {
	if deadline := now.Add(ttl); deadline.Before(exp) {
		return deadline
	}
	return exp
}

// put caches identity under k until deadline (already capped at the token's exp by the
// caller, with cacheDeadline).
func (c *cache) put(k cacheKey, identity *Identity, deadline time.Time, keys *jwksKeySet, now time.Time) {
	if !deadline.After(now) {
		return
	}
	e := &cacheEntry{identity: identity, deadline: deadline.UnixNano(), keys: keys}
	s := c.shard(&k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, exists := s.entries[k]; !exists && len(s.entries) >= c.perShard {
		s.evictLocked(c.perShard, now.UnixNano())
	}
	s.entries[k] = e
}

// evictLocked makes room in a full shard: first every expired entry goes, then entries not
// hit since the previous sweep (second chance), at least one and at most an eighth of the shard.
func (s *cacheShard) evictLocked(perShard int, now int64) {
	for k, e := range s.entries {
		if now >= e.deadline {
			delete(s.entries, k)
		}
	}
	if len(s.entries) < perShard {
		return
	}
	target := max(perShard/8, 1)
	evicted := 0
	for pass := 0; pass < 2 && evicted < target; pass++ {
		for k, e := range s.entries {
			if evicted >= target {
				break
			}
			if pass == 0 && e.used.Swap(false) {
				continue
			}
			delete(s.entries, k)
			evicted++
		}
	}
}

// count reports the number of entries (tests and metrics).
func (c *cache) count() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.entries)
		s.mu.RUnlock()
	}
	return n
}
