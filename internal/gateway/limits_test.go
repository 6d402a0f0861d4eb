package gateway

import (
	"fmt"
	"hash/maphash"
	"testing"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/config"
)

// clientsInOneShard returns n client ids that l stores in the same shard, so that only the
// client in the limiter's key keeps their budgets apart.
func clientsInOneShard(l *limiter, n int) []string {
	var ids []string
	for i := 0; len(ids) < n; i++ {
		id := fmt.Sprintf("app-%d", i)
		if maphash.String(l.seed, id)%limiterShards == 0 {
			ids = append(ids, id)
		}
	}
	return ids
}

func TestLimiterBudgetIsPerClientWithinAShard(t *testing.T) {
	l := newLimiter()
	for name, p := range map[string]*config.Policy{
		"rate limit": config.CompilePolicy(adminapi.Policy{ID: "pol", RateLimit: &adminapi.Limit{Requests: 2, Per: adminapi.Duration(time.Minute)}}),
		"quota":      config.CompilePolicy(adminapi.Policy{ID: "pol", Quota: &adminapi.Limit{Requests: 2, Per: adminapi.Duration(time.Hour)}}),
	} {
		t.Run(name, func(t *testing.T) {
			now := time.Unix(1_800_000_000, 0)
			for _, client := range clientsInOneShard(l, 20) {
				for i, want := range []bool{true, true, false} {
					if got := l.take(p, client, now).allowed; got != want {
						t.Fatalf("%s, request %d: allowed=%v, want %v (another client's requests counted against it?)", client, i+1, got, want)
					}
				}
			}
		})
		l = newLimiter()
	}
}

func TestLimiterQuotaRenewsAfterItsPeriod(t *testing.T) {
	l := newLimiter()
	p := config.CompilePolicy(adminapi.Policy{ID: "pol", Quota: &adminapi.Limit{Requests: 2, Per: adminapi.Duration(time.Hour)}})
	start := time.Unix(1_800_000_000, 0)
	l.take(p, "app", start)
	l.take(p, "app", start.Add(10*time.Minute))
	r := l.take(p, "app", start.Add(30*time.Minute))
	if r.allowed || r.exceeded != "quota" || r.retryAfter != 30*time.Minute || r.reset != 30*time.Minute {
		t.Fatalf("third request in the window: %+v, want refused as quota with retry and reset in 30m (the window opened at the first request)", r)
	}
	if r := l.take(p, "app", start.Add(time.Hour-time.Nanosecond)); r.allowed {
		t.Fatalf("a nanosecond before the window ends: %+v, want still refused", r)
	}
	r = l.take(p, "app", start.Add(time.Hour))
	if !r.allowed || r.remaining != 1 || r.reset != time.Hour {
		t.Fatalf("first request of the renewed window: %+v, want allowed, 1 remaining, reset in 1h", r)
	}
	if r := l.take(p, "app", start.Add(time.Hour+time.Minute)); !r.allowed || r.remaining != 0 {
		t.Errorf("second request of the renewed window: %+v, want allowed, 0 remaining", r)
	}
	if r := l.take(p, "app", start.Add(time.Hour+2*time.Minute)); r.allowed {
		t.Errorf("third request of the renewed window: %+v, want refused", r)
	}
}
