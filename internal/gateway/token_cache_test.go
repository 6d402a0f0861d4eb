package gateway

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"
	"time"
)

func ttCacheIdentity(exp time.Time) *Identity {
	return &Identity{Subject: "user-1", ExpiresAt: exp}
}

func TestTokenCacheKeyCoversEveryByteAndTheFingerprint(t *testing.T) {
	fpA, fpB := sha256.Sum256([]byte("api a")), sha256.Sum256([]byte("api b"))
	token := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJl"
	base := tokenCacheKeyFor(&fpA, token)
	if base != tokenCacheKeyFor(&fpA, token) {
		t.Fatal("the key is not deterministic")
	}
	if base == tokenCacheKeyFor(&fpB, token) {
		t.Error("two validator configurations share a key")
	}
	for i := range len(token) {
		b := []byte(token)
		b[i] ^= 0x01
		if tokenCacheKeyFor(&fpA, string(b)) == base {
			t.Errorf("flipping byte %d leaves the key unchanged", i)
		}
	}
	if tokenCacheKeyFor(&fpA, token+"x") == base || tokenCacheKeyFor(&fpA, token[:len(token)-1]) == base {
		t.Error("a longer or shorter token shares the key")
	}
	long := strings.Repeat("a", tokenMaxBytes+10)
	if tokenCacheKeyFor(&fpA, long) == tokenCacheKeyFor(&fpA, long[:tokenMaxBytes]) {
		t.Error("an over-long token is truncated before hashing")
	}
}

func TestTokenCacheDeadlineExpAndKeySet(t *testing.T) {
	c := newTokenCache(64)
	now := ttStart
	fp := sha256.Sum256([]byte("x"))
	k := tokenCacheKeyFor(&fp, "token")
	setA, setB := &jwksKeySet{}, &jwksKeySet{}
	id := ttCacheIdentity(now.Add(time.Hour))

	c.put(k, id, now.Add(time.Minute), setA, now)
	if got, ok := c.get(k, now, setA); !ok || got != id {
		t.Fatal("fresh entry missing")
	}
	if _, ok := c.get(k, now, setB); ok {
		t.Error("an entry made under another JWKS document was served")
	}
	if _, ok := c.get(k, now.Add(time.Minute), setA); ok {
		t.Error("entry served at its deadline")
	}

	// An entry can never outlive the identity's exp, whatever deadline it was given.
	short := ttCacheIdentity(now.Add(10 * time.Second))
	c.put(k, short, now.Add(time.Hour), nil, now)
	if _, ok := c.get(k, now.Add(10*time.Second), nil); ok {
		t.Error("entry served at the token's exp")
	}

	// A deadline already past is not stored.
	k2 := tokenCacheKeyFor(&fp, "other")
	c.put(k2, id, now, nil, now)
	if _, ok := c.get(k2, now.Add(-time.Second), nil); ok {
		t.Error("an entry with a past deadline was stored")
	}
}

// ttShardKeys returns n distinct keys that all land in shard 0.
func ttShardKeys(prefix string, n int) []tokenCacheKey {
	fp := sha256.Sum256([]byte("x"))
	var keys []tokenCacheKey
	for i := 0; len(keys) < n; i++ {
		if k := tokenCacheKeyFor(&fp, fmt.Sprint(prefix, i)); k[0]%tokenCacheShardCount == 0 {
			keys = append(keys, k)
		}
	}
	return keys
}

func TestTokenCacheEvictionGivesUsedEntriesASecondChance(t *testing.T) {
	const perShard = 8
	c := newTokenCache(tokenCacheShardCount * perShard)
	now := ttStart
	id := ttCacheIdentity(now.Add(time.Hour))
	keys := ttShardKeys("token-", perShard)
	for _, k := range keys {
		c.put(k, id, now.Add(time.Hour), nil, now)
	}
	hot, cold := keys[:perShard/2], keys[perShard/2:]
	for _, k := range hot {
		if _, ok := c.get(k, now, nil); !ok {
			t.Fatal("entry missing before eviction")
		}
	}
	c.put(ttShardKeys("new-", 1)[0], id, now.Add(time.Hour), nil, now) // the shard is full: one goes
	for _, k := range hot {
		if _, ok := c.get(k, now, nil); !ok {
			t.Error("a recently used entry was evicted while unused ones remained")
		}
	}
	gone := 0
	for _, k := range cold {
		if _, ok := c.get(k, now, nil); !ok {
			gone++
		}
	}
	if gone != 1 {
		t.Errorf("%d unused entries evicted, want exactly 1", gone)
	}
}

func TestTokenCacheEvictsExpiredEntriesFirst(t *testing.T) {
	const perShard = 4
	c := newTokenCache(tokenCacheShardCount * perShard)
	now := ttStart
	id := ttCacheIdentity(now.Add(time.Hour))
	keys := ttShardKeys("token-", perShard+1)
	c.put(keys[0], id, now.Add(time.Second), nil, now) // expires first
	for _, k := range keys[1:perShard] {
		c.put(k, id, now.Add(time.Hour), nil, now)
	}
	later := now.Add(2 * time.Second)
	c.put(keys[perShard], id, later.Add(time.Hour), nil, later)
	for _, k := range keys[1:] {
		if _, ok := c.get(k, later, nil); !ok {
			t.Error("a live entry was evicted while an expired one was present")
		}
	}
}

func TestTokenCacheIsBounded(t *testing.T) {
	const size = tokenCacheShardCount * 4
	c := newTokenCache(size)
	fp := sha256.Sum256([]byte("x"))
	id := ttCacheIdentity(ttStart.Add(time.Hour))
	for i := range size * 10 {
		c.put(tokenCacheKeyFor(&fp, fmt.Sprint("t", i)), id, ttStart.Add(time.Hour), nil, ttStart)
		if n := c.count(); n > size {
			t.Fatalf("cache grew to %d entries, bound %d", n, size)
		}
	}
	if n := c.count(); n < size/2 {
		t.Errorf("cache holds only %d of %d entries after heavy use", n, size)
	}
}

func BenchmarkTokenCacheKey(b *testing.B) {
	fp := sha256.Sum256([]byte("x"))
	token := strings.Repeat("a", 640)
	b.ReportAllocs()
	for b.Loop() {
		tokenCacheKeyFor(&fp, token)
	}
}

func BenchmarkTokenCacheGetParallel(b *testing.B) {
	c := newTokenCache(0)
	fp := sha256.Sum256([]byte("x"))
	k := tokenCacheKeyFor(&fp, "token")
	c.put(k, ttCacheIdentity(ttStart.Add(time.Hour)), ttStart.Add(time.Hour), nil, ttStart)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, ok := c.get(k, ttStart, nil); !ok {
				b.Fatal("miss")
			}
		}
	})
}
