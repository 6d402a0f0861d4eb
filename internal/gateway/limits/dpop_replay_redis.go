package limits

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
)

// redisReplayStore remembers DPoP proofs in the Redis the replicas share, so a proof used at
// one replica is a replay at every other: SET NX with the proof's remaining lifetime. While
// Redis cannot be reached it follows the limits' fallback: local remembers in this replica's
// memory (a proof could then be replayed once at each other replica), deny refuses the proof
// as temporarily unavailable. As the limits do, after a failure it goes straight to the
// fallback for redisRetryAfter, so an outage whose connections hang does not cost every proof
// the timeout.
type redisReplayStore struct {
	client    redis.UniversalClient
	prefix    string
	fallback  Fallback
	local     *token.MemoryReplayStore
	downUntil atomic.Int64 // unix ns: skip Redis until then
}

// replayTimeout bounds the SET NX; past it the fallback applies.
const replayTimeout = 250 * time.Millisecond

// NewReplayStore is the replay store that goes with the store: Redis's with a Redis store,
// this process's memory otherwise.
func NewReplayStore(client redis.UniversalClient, prefix string, fallback Fallback) token.ReplayStore {
	if client == nil {
		return token.NewMemoryReplayStore()
	}
	return &redisReplayStore{client: client, prefix: prefix, fallback: fallback, local: token.NewMemoryReplayStore()}
}

func (s *redisReplayStore) FirstUse(ctx context.Context, id string, until, now time.Time) (bool, error) {
	ttl := until.Sub(now)
	if ttl <= 0 {
		return false, nil // no longer acceptable anyway
	}
	if now.UnixNano() < s.downUntil.Load() {
		return s.withoutRedis(ctx, id, until, now, errRedisBackingOff)
	}
	sum := sha256.Sum256([]byte(id))
	ctx, cancel := context.WithTimeout(ctx, replayTimeout)
	defer cancel()
	first, err := s.client.SetNX(ctx, s.prefix+"dpop:"+hex.EncodeToString(sum[:]), 1, ttl).Result()
	if err == nil {
		return first, nil
	}
	s.downUntil.Store(now.Add(redisRetryAfter).UnixNano())
	return s.withoutRedis(ctx, id, until, now, err)
}

var errRedisBackingOff = errors.New("the last call to Redis failed less than redisRetryAfter ago")

func (s *redisReplayStore) withoutRedis(ctx context.Context, id string, until, now time.Time, err error) (bool, error) {
	if s.fallback == FallbackDeny {
		return false, err
	}
	return s.local.FirstUse(ctx, id, until, now)
}
