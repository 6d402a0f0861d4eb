package gateway

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
	p := compilePolicy(adminapi.Policy{ID: "pol",
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
