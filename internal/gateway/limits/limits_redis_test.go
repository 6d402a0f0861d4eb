package limits

import (
	"log/slog"
	"testing"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/redistest"
)

// TestRedisRestartKeepsQuotaButRefillsBuckets: after Redis restarts from its append-only file,
// a client's quota window is as it was (a day's quota is not forgiven), while its rate-limit
// bucket is full again (its writes stay out of the AOF: at most one extra burst).
func TestRedisRestartKeepsQuotaButRefillsBuckets(t *testing.T) {
	srv := redistest.Start(t)
	p := &Policy{ID: "pol",
		Rate:  &adminapi.Limit{Requests: 2, Per: adminapi.Duration(time.Hour)},
		Quota: &adminapi.Limit{Requests: 3, Per: adminapi.Duration(24 * time.Hour)}}
	take := func(step string, wantAllowed bool, wantExceeded string) {
		t.Helper()
		// A limiter of its own per request: a connection broken by the restart would
		// otherwise send the first request after it to the fallback.
		l := NewRedis(srv.Client(), "test:", FallbackDeny, newFallbacks(), slog.New(slog.DiscardHandler))
		defer l.Close()
		r := l.Count(p, "app", time.Now(), Take)
		if r.Exceeded == ExceededUnavailable {
			t.Fatalf("%s: Redis unavailable", step)
		}
		if r.Allowed != wantAllowed || r.Exceeded != wantExceeded {
			t.Fatalf("%s: allowed=%v exceeded=%q, want allowed=%v exceeded=%q", step, r.Allowed, r.Exceeded, wantAllowed, wantExceeded)
		}
	}
	take("request 1", true, "")
	take("request 2", true, "")
	take("request 3 (bucket empty)", false, "rate_limit")

	srv.Restart() // SIGTERM: Redis writes its AOF, then replays it

	take("request 4 (bucket refilled by the restart, quota 3/3)", true, "")
	take("request 5 (bucket has a token, quota used up)", false, "quota")
}

// TestLimitersPeekCountsNothing: peek answers what take would, in memory and in Redis, and
// leaves the count where it was.
func TestLimitersPeekCountsNothing(t *testing.T) {
	srv := redistest.Start(t)
	rl := NewRedis(srv.Client(), "peek:", FallbackDeny, newFallbacks(), slog.New(slog.DiscardHandler))
	defer rl.Close()
	for name, l := range map[string]Counter{"memory": NewMemory(), "redis": rl} {
		t.Run(name, func(t *testing.T) {
			for _, p := range []*Policy{
				{ID: "rate", Rate: &adminapi.Limit{Requests: 2, Per: adminapi.Duration(time.Hour)}},
				{ID: "quota", Quota: &adminapi.Limit{Requests: 2, Per: adminapi.Duration(time.Hour)}},
			} {
				for i, wantAllowed := range []bool{true, true, false} {
					for range 3 {
						peeked := l.Count(p, "app", time.Now(), Peek)
						if peeked.Exceeded == ExceededUnavailable {
							t.Fatal("Redis unavailable")
						}
						if peeked.Allowed != wantAllowed || peeked.Remaining != max(0, int64(1-i)) {
							t.Fatalf("%s: peek before request %d: allowed=%v remaining=%d, want %v %d", p.ID, i+1, peeked.Allowed, peeked.Remaining, wantAllowed, max(0, 1-i))
						}
					}
					if got := l.Count(p, "app", time.Now(), Take); got.Allowed != wantAllowed {
						t.Fatalf("%s: request %d allowed=%v after peeks, want %v", p.ID, i+1, got.Allowed, wantAllowed)
					}
				}
			}
		})
	}
}
