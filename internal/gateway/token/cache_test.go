package token

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"
	"time"
)

func cacheIdentity(exp time.Time) *Identity {
	return &Identity{Subject: "user-1", ExpiresAt: exp}
}

func TestCacheKeyCoversEveryByteAndTheFingerprint(t *testing.T) {
	fpA, fpB := sha256.Sum256([]byte("api a")), sha256.Sum256([]byte("api b"))
	token := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJl"
	base := cacheKeyFor(&fpA, token)
	if base != cacheKeyFor(&fpA, token) {
		t.Fatal("the key is not deterministic")
	}
	if base == cacheKeyFor(&fpB, token) {
		t.Error("two validator configurations share a key")
	}
	for i := range len(token) {
		b := []byte(token)
		b[i] ^= 0x01
		if cacheKeyFor(&fpA, string(b)) == base {
			t.Errorf("flipping byte %d leaves the key unchanged", i)
		}
	}
	if cacheKeyFor(&fpA, token+"x") == base || cacheKeyFor(&fpA, token[:len(token)-1]) == base {
		t.Error("a longer or shorter token shares the key")
	}
	long := strings.Repeat("a", maxTokenBytes+10)
	if cacheKeyFor(&fpA, long) == cacheKeyFor(&fpA, long[:maxTokenBytes]) {
		t.Error("an over-long token is truncated before hashing")
	}
}

func TestCacheDeadlineExpAndKeySet(t *testing.T) {
	c := newCache(64)
	now := testStart
	fp := sha256.Sum256([]byte("x"))
	k := cacheKeyFor(&fp, "token")
	setA, setB := &jwksKeySet{}, &jwksKeySet{}
	id := cacheIdentity(now.Add(time.Hour))

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
	short := cacheIdentity(now.Add(10 * time.Second))
	c.put(k, short, now.Add(time.Hour), nil, now)
	if _, ok := c.get(k, now.Add(10*time.Second), nil); ok {
		t.Error("entry served at the token's exp")
	}

	// A deadline already past is not stored.
	k2 := cacheKeyFor(&fp, "other")
	c.put(k2, id, now, nil, now)
	if _, ok := c.get(k2, now.Add(-time.Second), nil); ok {
		t.Error("an entry with a past deadline was stored")
	}
}

func TestCacheDeadlineIsTheEarlierOfTTLAndExp(t *testing.T) {
	now := testStart
	if got := cacheDeadline(now, time.Minute, now.Add(time.Hour)); !got.Equal(now.Add(time.Minute)) {
		t.Errorf("long-lived token: deadline %s, want now+ttl", got)
	}
	if got := cacheDeadline(now, time.Hour, now.Add(time.Minute)); !got.Equal(now.Add(time.Minute)) {
		t.Errorf("short-lived token: deadline %s, want its exp", got)
	}
}

// shardKeys returns n distinct keys that all land in shard 0.
func shardKeys(prefix string, n int) []cacheKey {
	fp := sha256.Sum256([]byte("x"))
	var keys []cacheKey
	for i := 0; len(keys) < n; i++ {
		if k := cacheKeyFor(&fp, fmt.Sprint(prefix, i)); k[0]%cacheShardCount == 0 {
			keys = append(keys, k)
		}
	}
	return keys
}

func TestCacheEvictionGivesUsedEntriesASecondChance(t *testing.T) {
	const perShard = 8
	c := newCache(cacheShardCount * perShard)
	now := testStart
	id := cacheIdentity(now.Add(time.Hour))
	keys := shardKeys("token-", perShard)
	for _, k := range keys {
		c.put(k, id, now.Add(time.Hour), nil, now)
	}
	hot, cold := keys[:perShard/2], keys[perShard/2:]
	for _, k := range hot {
		if _, ok := c.get(k, now, nil); !ok {
			t.Fatal("entry missing before eviction")
		}
	}
	c.put(shardKeys("new-", 1)[0], id, now.Add(time.Hour), nil, now) // the shard is full: one goes
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

func TestCacheEvictsExpiredEntriesFirst(t *testing.T) {
	const perShard = 4
	c := newCache(cacheShardCount * perShard)
	now := testStart
	id := cacheIdentity(now.Add(time.Hour))
	keys := shardKeys("token-", perShard+1)
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

func TestCacheIsBounded(t *testing.T) {
	const size = cacheShardCount * 4
	c := newCache(size)
	fp := sha256.Sum256([]byte("x"))
	id := cacheIdentity(testStart.Add(time.Hour))
	for i := range size * 10 {
		c.put(cacheKeyFor(&fp, fmt.Sprint("t", i)), id, testStart.Add(time.Hour), nil, testStart)
		if n := c.count(); n > size {
			t.Fatalf("cache grew to %d entries, bound %d", n, size)
		}
	}
	if n := c.count(); n < size/2 {
		t.Errorf("cache holds only %d of %d entries after heavy use", n, size)
	}
}

func BenchmarkCacheKey(b *testing.B) {
	fp := sha256.Sum256([]byte("x"))
	token := strings.Repeat("a", 640)
	b.ReportAllocs()
	for b.Loop() {
		cacheKeyFor(&fp, token)
	}
}

func BenchmarkCacheGetParallel(b *testing.B) {
	c := newCache(0)
	fp := sha256.Sum256([]byte("x"))
	k := cacheKeyFor(&fp, "token")
	c.put(k, cacheIdentity(testStart.Add(time.Hour)), testStart.Add(time.Hour), nil, testStart)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, ok := c.get(k, testStart, nil); !ok {
				b.Fatal("miss")
			}
		}
	})
}
