package limits

import (
	"fmt"
	"hash/maphash"
	"testing"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

// clientsInOneShard returns n client ids that l stores in the same shard, so that only the
// client in the limiter's key keeps their budgets apart.
func clientsInOneShard(l *Memory, n int) []string {
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
	l := NewMemory()
	for name, p := range map[string]*Policy{
		"rate limit": {ID: "pol", Rate: &adminapi.Limit{Requests: 2, Per: adminapi.Duration(time.Minute)}},
		"quota":      {ID: "pol", Quota: &adminapi.Limit{Requests: 2, Per: adminapi.Duration(time.Hour)}},
	} {
		t.Run(name, func(t *testing.T) {
			now := time.Unix(1_800_000_000, 0)
			for _, client := range clientsInOneShard(l, 20) {
				for i, want := range []bool{true, true, false} {
					if got := l.Count(p, client, now, Take).Allowed; got != want {
						t.Fatalf("%s, request %d: allowed=%v, want %v (another client's requests counted against it?)", client, i+1, got, want)
					}
				}
			}
		})
		l = NewMemory()
	}
}

func TestLimiterQuotaRenewsAfterItsPeriod(t *testing.T) {
	l := NewMemory()
	p := &Policy{ID: "pol", Quota: &adminapi.Limit{Requests: 2, Per: adminapi.Duration(time.Hour)}}
	start := time.Unix(1_800_000_000, 0)
	l.Count(p, "app", start, Take)
	l.Count(p, "app", start.Add(10*time.Minute), Take)
	r := l.Count(p, "app", start.Add(30*time.Minute), Take)
	if r.Allowed || r.Exceeded != "quota" || r.RetryAfter != 30*time.Minute || r.Reset != 30*time.Minute {
		t.Fatalf("third request in the window: %+v, want refused as quota with retry and reset in 30m (the window opened at the first request)", r)
	}
	if r := l.Count(p, "app", start.Add(time.Hour-time.Nanosecond), Take); r.Allowed {
		t.Fatalf("a nanosecond before the window ends: %+v, want still refused", r)
	}
	r = l.Count(p, "app", start.Add(time.Hour), Take)
	if !r.Allowed || r.Remaining != 1 || r.Reset != time.Hour {
		t.Fatalf("first request of the renewed window: %+v, want allowed, 1 remaining, reset in 1h", r)
	}
	if r := l.Count(p, "app", start.Add(time.Hour+time.Minute), Take); !r.Allowed || r.Remaining != 0 {
		t.Errorf("second request of the renewed window: %+v, want allowed, 0 remaining", r)
	}
	if r := l.Count(p, "app", start.Add(time.Hour+2*time.Minute), Take); r.Allowed {
		t.Errorf("third request of the renewed window: %+v, want refused", r)
	}
}

func TestLimiterRefillsAndSweeps(t *testing.T) {
	l := NewMemory()
	p := &Policy{ID: "pol", Rate: &adminapi.Limit{Requests: 2, Per: adminapi.Duration(time.Second)}}
	now := time.Now()
	for i, want := range []bool{true, true, false} {
		if got := l.Count(p, "c", now, Take).Allowed; got != want {
			t.Fatalf("request %d: allowed=%v", i, got)
		}
	}
	if r := l.Count(p, "c", now.Add(500*time.Millisecond), Take); !r.Allowed || r.Remaining != 0 {
		t.Errorf("after half a period one token is back: %+v", r)
	}
	// idle, full entries are dropped when a shard grows
	for i := 0; i < 3*minSweepAt*limiterShards/limiterShards; i++ {
		l.Count(p, "client-"+string(rune('a'+i%26))+time.Duration(i).String(), now, Take)
	}
	if total := sweepAll(l, now.Add(2*tooOldToRemain)); total != 0 {
		t.Errorf("%d idle entries survived a sweep", total)
	}
}
