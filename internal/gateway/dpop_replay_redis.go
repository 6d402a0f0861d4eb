package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
)

// redisReplayStore remembers DPoP proofs in the Redis the replicas share, so a proof used at
// one replica is a replay at every other: SET NX with the proof's remaining lifetime. While
// Redis cannot be reached it follows the limits' fallback: local remembers in this replica's
// memory (a proof could then be replayed once at each other replica), deny refuses the proof
// as temporarily unavailable.
type redisReplayStore struct {
	client   redis.UniversalClient
	prefix   string
	fallback Fallback
	local    *token.MemoryReplayStore
}

// replayTimeout bounds the SET NX; past it the fallback applies.
const replayTimeout = 250 * time.Millisecond

// newReplayStore is the replay store that goes with the store: Redis's with a Redis store,
// this process's memory otherwise.
func newReplayStore(client redis.UniversalClient, prefix string, fallback Fallback) token.ReplayStore {
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
	sum := sha256.Sum256([]byte(id))
	ctx, cancel := context.WithTimeout(ctx, replayTimeout)
	defer cancel()
	first, err := s.client.SetNX(ctx, s.prefix+"dpop:"+hex.EncodeToString(sum[:]), 1, ttl).Result()
	if err == nil {
		return first, nil
	}
	if s.fallback == FallbackDeny {
		return false, err
	}
	return s.local.FirstUse(ctx, id, until, now)
}
