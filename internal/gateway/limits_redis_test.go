package gateway

import (
	"log/slog"
	"testing"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/config"
	"github.com/idpgate/terraform-provider-idpgate/internal/redistest"
)

// TestRedisRestartKeepsQuotaButRefillsBuckets: after Redis restarts from its append-only file,
// a client's quota window is as it was (a day's quota is not forgiven), while its rate-limit
// bucket is full again (its writes stay out of the AOF: at most one extra burst).
func TestRedisRestartKeepsQuotaButRefillsBuckets(t *testing.T) {
	srv := redistest.Start(t)
	p := config.CompilePolicy(adminapi.Policy{ID: "pol",
		RateLimit: &adminapi.Limit{Requests: 2, Per: adminapi.Duration(time.Hour)},
		Quota:     &adminapi.Limit{Requests: 3, Per: adminapi.Duration(24 * time.Hour)}})
	take := func(step string, wantAllowed bool, wantExceeded string) {
		t.Helper()
		m, _, err := newMetrics(nil)
		if err != nil {
			t.Fatal(err)
		}
		// A limiter of its own per request: a connection broken by the restart would
		// otherwise send the first request after it to the fallback.
		l := newRedisLimiter(srv.Client(), "test:", FallbackDeny, m, slog.New(slog.DiscardHandler))
		defer l.close()
		r := l.take(p, "app", time.Now())
		if r.exceeded == exceededUnavailable {
			t.Fatalf("%s: Redis unavailable", step)
		}
		if r.allowed != wantAllowed || r.exceeded != wantExceeded {
			t.Fatalf("%s: allowed=%v exceeded=%q, want allowed=%v exceeded=%q", step, r.allowed, r.exceeded, wantAllowed, wantExceeded)
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
	m, _, err := newMetrics(nil)
	if err != nil {
		t.Fatal(err)
	}
	rl := newRedisLimiter(srv.Client(), "peek:", FallbackDeny, m, slog.New(slog.DiscardHandler))
	defer rl.close()
	for name, l := range map[string]limits{"memory": newLimiter(), "redis": rl} {
		t.Run(name, func(t *testing.T) {
			for _, p := range []*config.Policy{
				config.CompilePolicy(adminapi.Policy{ID: "rate", RateLimit: &adminapi.Limit{Requests: 2, Per: adminapi.Duration(time.Hour)}}),
				config.CompilePolicy(adminapi.Policy{ID: "quota", Quota: &adminapi.Limit{Requests: 2, Per: adminapi.Duration(time.Hour)}}),
			} {
				for i, wantAllowed := range []bool{true, true, false} {
					for range 3 {
						peeked := l.peek(p, "app", time.Now())
						if peeked.exceeded == exceededUnavailable {
							t.Fatal("Redis unavailable")
						}
						if peeked.allowed != wantAllowed || peeked.remaining != max(0, int64(1-i)) {
							t.Fatalf("%s: peek before request %d: allowed=%v remaining=%d, want %v %d", p.ID, i+1, peeked.allowed, peeked.remaining, wantAllowed, max(0, 1-i))
						}
					}
					if got := l.take(p, "app", time.Now()); got.allowed != wantAllowed {
						t.Fatalf("%s: request %d allowed=%v after peeks, want %v", p.ID, i+1, got.allowed, wantAllowed)
					}
				}
			}
		})
	}
}
