package gateway

import (
	"testing"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/config"
)

func TestLimiterRefillsAndSweeps(t *testing.T) {
	l := newLimiter()
	p := config.CompilePolicy(adminapi.Policy{ID: "pol", RateLimit: &adminapi.Limit{Requests: 2, Per: adminapi.Duration(time.Second)}})
	now := time.Now()
	for i, want := range []bool{true, true, false} {
		if got := l.take(p, "c", now).allowed; got != want {
			t.Fatalf("request %d: allowed=%v", i, got)
		}
	}
	if r := l.take(p, "c", now.Add(500*time.Millisecond)); !r.allowed || r.remaining != 0 {
		t.Errorf("after half a period one token is back: %+v", r)
	}
	// idle, full entries are dropped when a shard grows
	for i := 0; i < 3*minSweepAt*limiterShards/limiterShards; i++ {
		l.take(p, "client-"+string(rune('a'+i%26))+time.Duration(i).String(), now)
	}
	later := now.Add(2 * tooOldToRemain)
	total := 0
	for i := range l.shards {
		l.shards[i].mu.Lock()
		l.shards[i].sweep(later)
		total += len(l.shards[i].entries)
		l.shards[i].mu.Unlock()
	}
	if total != 0 {
		t.Errorf("%d idle entries survived a sweep", total)
	}
}
