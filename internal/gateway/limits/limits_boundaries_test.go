package limits

import (
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/store"
	"github.com/idpgate/terraform-provider-idpgate/internal/redistest"
)

// Boundaries of the limiters that the tests written with the code did not reach: one bucket
// per policy and client (in memory and in Redis), a Redis bucket's cap after idling, the
// in-memory sweep on an hourly limit, and the back-off after Redis fails with connections
// that hang.

func newTestRedisLimiter(t *testing.T, url string, fallback Fallback) *Redis {
	t.Helper()
	client, err := store.NewRedisClient(url)
	if err != nil {
		t.Fatal(err)
	}
	l := NewRedis(client, "lb:", fallback, newFallbacks(), slog.New(slog.DiscardHandler))
	t.Cleanup(func() { l.Close(); _ = client.Close() })
	return l
}

// newFallbacks is a fresh idpgate_limits_fallback_total family, registered nowhere.
func newFallbacks() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: "idpgate_limits_fallback_total"}, []string{"mode"})
}

// TestTwoPoliciesLimitingOneClientCountInTwoBuckets: a client bound to two policies (say one
// per API) spends each policy's budget separately, in memory and in Redis.
func TestTwoPoliciesLimitingOneClientCountInTwoBuckets(t *testing.T) {
	srv := redistest.Start(t)
	rate1 := &Policy{ID: "pol_1", Rate: &adminapi.Limit{Requests: 2, Per: adminapi.Duration(time.Hour)}}
	rate2 := &Policy{ID: "pol_2", Rate: &adminapi.Limit{Requests: 2, Per: adminapi.Duration(time.Hour)}}
	quota1 := &Policy{ID: "pol_q1", Quota: &adminapi.Limit{Requests: 2, Per: adminapi.Duration(time.Hour)}}
	quota2 := &Policy{ID: "pol_q2", Quota: &adminapi.Limit{Requests: 2, Per: adminapi.Duration(time.Hour)}}
	for name, l := range map[string]Counter{"memory": NewMemory(), "redis": newTestRedisLimiter(t, srv.URL, FallbackDeny)} {
		now := time.Now()
		for _, pair := range [][2]*Policy{{rate1, rate2}, {quota1, quota2}} {
			var got []bool
			for _, p := range []*Policy{pair[0], pair[0], pair[0], pair[1], pair[1], pair[1]} {
				got = append(got, l.Count(p, "app", now, Take).Allowed)
			}
			if want := []bool{true, true, false, true, true, false}; !slices.Equal(got, want) {
				t.Errorf("%s, %s then %s, 3 requests each: allowed %v, want %v", name, pair[0].ID, pair[1].ID, got, want)
			}
		}
	}
}

// TestRedisBucketNeverRefillsPastItsBurst: after idling for many times what refills one
// token, a Redis bucket holds its burst, not the idle time's worth of tokens.
func TestRedisBucketNeverRefillsPastItsBurst(t *testing.T) {
	srv := redistest.Start(t)
	l := newTestRedisLimiter(t, srv.URL, FallbackDeny)
	// 100 tokens a second: 100 ms of idling refills 10, more than the one spent.
	p := &Policy{ID: "pol_b", Rate: &adminapi.Limit{Requests: 1000, Per: adminapi.Duration(10 * time.Second)}}
	if r := l.Count(p, "app", time.Now(), Take); !r.Allowed || r.Remaining != 999 {
		t.Fatalf("first request: %+v, want allowed with 999 remaining", r)
	}
	time.Sleep(150 * time.Millisecond)
	if r := l.Count(p, "app", time.Now(), Take); !r.Allowed || r.Remaining != 999 || r.Reset > 10*time.Millisecond+time.Millisecond {
		t.Errorf("after idling: %+v, want 999 remaining (the burst of 1000 less this request) and a reset of 10ms", r)
	}
}

// TestMemorySweepKeepsAnHourlyLimitsState: a client idle for a minute on an hourly rate limit
// or quota is not swept into a fresh budget; once its state equals a fresh one, it is.
func TestMemorySweepKeepsAnHourlyLimitsState(t *testing.T) {
	for name, p := range map[string]*Policy{
		"rate limit": {ID: "pol_r", Rate: &adminapi.Limit{Requests: 3, Per: adminapi.Duration(time.Hour)}},
		"quota":      {ID: "pol_q", Quota: &adminapi.Limit{Requests: 3, Per: adminapi.Duration(time.Hour)}},
	} {
		l := NewMemory()
		now := time.Now()
		for range 3 {
			l.Count(p, "app", now, Take)
		}
		if l.Count(p, "app", now, Take).Allowed {
			t.Fatalf("%s: a fourth request within the hour was allowed", name)
		}
		idle := now.Add(tooOldToRemain + time.Second)
		sweepAll(l, idle)
		if r := l.Count(p, "app", idle, Take); r.Allowed {
			t.Errorf("%s: after a minute idle and a sweep, a request was allowed (%+v): the sweep handed out a fresh budget", name, r)
		}
		// An hour and a minute later, the state is worth nothing and goes.
		if n := sweepAll(l, now.Add(time.Hour+2*tooOldToRemain)); n != 0 {
			t.Errorf("%s: %d entries left after the limit's period and a minute idle", name, n)
		}
	}
}

// sweepAll sweeps every shard of l at now and returns how many entries are left.
func sweepAll(l *Memory, now time.Time) (left int) {
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		sh.sweep(now)
		left += len(sh.entries)
		sh.mu.Unlock()
	}
	return left
}

// TestHangingRedisCostsOneTimeoutPerBackOff: while Redis's connections hang, the request that
// finds it out waits at most about redisLimitTimeout; the requests of the next redisRetryAfter
// go straight to the fallback without trying Redis; after it, Redis is tried again.
func TestHangingRedisCostsOneTimeoutPerBackOff(t *testing.T) {
	l := newTestRedisLimiter(t, redistest.StartHanging(t), FallbackLocal)
	p := &Policy{ID: "pol_h", Rate: &adminapi.Limit{Requests: 1000, Per: adminapi.Duration(time.Minute)}}
	now := time.Now()
	start := time.Now()
	if r := l.Count(p, "app", now, Take); !r.Allowed {
		t.Fatalf("the first request with Redis hanging: %+v, want allowed by the local fallback", r)
	}
	first := time.Since(start)
	t.Logf("the request that found Redis hanging waited %s", first.Round(time.Millisecond))
	if first > redisLimitTimeout+150*time.Millisecond {
		t.Errorf("the request that found Redis hanging waited %s, want about redisLimitTimeout (%s)", first, redisLimitTimeout)
	}

	start = time.Now()
	for i := range 50 {
		if r := l.Count(p, "app", now.Add(time.Duration(i)*redisRetryAfter/50), Take); !r.Allowed {
			t.Fatalf("request %d within the back-off: %+v", i, r)
		}
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("50 requests within the back-off took %s: they tried Redis instead of the fallback", d)
	}

	// Past the back-off, Redis is tried again (and the request waits for it again).
	start = time.Now()
	l.Count(p, "app", now.Add(redisRetryAfter+time.Millisecond), Take)
	if d := time.Since(start); d < redisLimitTimeout/2 {
		t.Errorf("the first request after the back-off took %s: it did not try Redis again", d)
	}
}

// TestFallbackCountsTakesNotPeeks: idpgate_limits_fallback_total counts the checks decided
// without Redis; a peek (a decision without traffic) is not one, in either fallback mode.
func TestFallbackCountsTakesNotPeeks(t *testing.T) {
	for _, fallback := range []Fallback{FallbackLocal, FallbackDeny} {
		client, err := store.NewRedisClient(redistest.StartHanging(t))
		if err != nil {
			t.Fatal(err)
		}
		fallbacks := newFallbacks()
		l := NewRedis(client, "fb:", fallback, fallbacks, slog.New(slog.DiscardHandler))
		p := &Policy{ID: "pol_f", Rate: &adminapi.Limit{Requests: 10, Per: adminapi.Duration(time.Minute)}}
		counted := func() float64 { return testutil.ToFloat64(fallbacks.WithLabelValues(string(fallback))) }
		l.Count(p, "app", time.Now(), Peek) // finds Redis hanging
		l.Count(p, "app", time.Now(), Peek) // within the back-off
		if n := counted(); n != 0 {
			t.Errorf("%s: two peeks without Redis counted %v fallbacks, want 0", fallback, n)
		}
		l.Count(p, "app", time.Now(), Take)
		if n := counted(); n != 1 {
			t.Errorf("%s: a take without Redis counted %v fallbacks, want 1", fallback, n)
		}
		l.Close()
		_ = client.Close()
	}
}
