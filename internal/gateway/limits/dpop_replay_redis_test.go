package limits

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/store"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
	"github.com/idpgate/terraform-provider-idpgate/internal/redistest"
)

// TestRedisReplayStoreRemembersAProofForItsLifetime: the SET NX key lives as long as the
// proof could be accepted (until - now), not a moment: a proof used again 2 s later (by the
// clock the checker passes) is a replay, and Redis holds the key for the proof's lifetime.
func TestRedisReplayStoreRemembersAProofForItsLifetime(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client()
	s := NewReplayStore(rdb, "lt:", FallbackDeny)
	ctx := context.Background()
	now := time.Now()
	until := now.Add(token.DPoPProofMaxAge + token.DPoPProofMaxSkew)
	const id = "jkt\x00jti-1"
	if first, err := s.FirstUse(ctx, id, until, now); err != nil || !first {
		t.Fatalf("first use: %v, %v", first, err)
	}
	if first, err := s.FirstUse(ctx, id, until, now.Add(2*time.Second)); err != nil || first {
		t.Errorf("used again 2 s later, within its lifetime: first=%v (%v), want a replay", first, err)
	}
	sum := sha256.Sum256([]byte(id))
	ttl, err := rdb.PTTL(ctx, "lt:dpop:"+hex.EncodeToString(sum[:])).Result()
	if err != nil {
		t.Fatal(err)
	}
	if want := until.Sub(now); ttl < want-2*time.Second || ttl > want {
		t.Errorf("Redis keeps the proof %s, want its remaining lifetime %s", ttl, want)
	}
	if first, err := s.FirstUse(ctx, "jkt\x00jti-2", now, now); err != nil || first {
		t.Errorf("a proof whose lifetime has ended: first=%v (%v), want refused", first, err)
	}
}

// TestReplayStoreWithRedisHangingBacksOff: while Redis's connections hang, the proof that
// finds it out waits about replayTimeout; the proofs of the next redisRetryAfter go straight
// to the fallback (each still checked against the local memory), and after it Redis is tried
// again.
func TestReplayStoreWithRedisHangingBacksOff(t *testing.T) {
	client, err := store.NewRedisClient(redistest.StartHanging(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	s := NewReplayStore(client, "hang:", FallbackLocal)
	ctx := context.Background()
	now := time.Now()
	until := now.Add(token.DPoPProofMaxAge)
	start := time.Now()
	if first, err := s.FirstUse(ctx, "jkt\x00a", until, now); err != nil || !first {
		t.Fatalf("the first proof with Redis hanging: %v, %v; want accepted by the local fallback", first, err)
	}
	if d := time.Since(start); d > replayTimeout+150*time.Millisecond {
		t.Errorf("the proof that found Redis hanging waited %s, want about replayTimeout (%s)", d, replayTimeout)
	}
	start = time.Now()
	for i := range 50 {
		at := now.Add(time.Duration(i) * redisRetryAfter / 50)
		if first, err := s.FirstUse(ctx, fmt.Sprintf("jkt\x00b%d", i), until, at); err != nil || !first {
			t.Fatalf("proof %d within the back-off: %v, %v", i, first, err)
		}
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("50 proofs within the back-off took %s: they tried Redis instead of the fallback", d)
	}
	if first, _ := s.FirstUse(ctx, "jkt\x00a", until, now.Add(time.Second/2)); first {
		t.Error("a proof replayed within the back-off was accepted: the fallback must still remember it")
	}
	start = time.Now()
	_, _ = s.FirstUse(ctx, "jkt\x00c", until, now.Add(redisRetryAfter+time.Millisecond))
	if d := time.Since(start); d < replayTimeout/2 {
		t.Errorf("the first proof after the back-off took %s: it did not try Redis again", d)
	}
}
