package limits

import (
	"hash/maphash"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/store"
)

// Policy is what the limiters need of an access policy: the key its counts go under and its
// limits (nil: none).
type Policy struct {
	ID    string
	Rate  *adminapi.Limit
	Quota *adminapi.Limit
}

// limited says whether any limit applies.
func (p *Policy) limited() bool { return p.Rate != nil || p.Quota != nil }

// Counter counts one request of client under policy p and says whether it may proceed: the
// in-memory *Memory below, or the Redis-backed *Redis (limits_redis.go) that every
// replica on one Redis shares.
type Counter interface {
	Count(p *Policy, client string, now time.Time, m Mode) Result
}

// Mode says whether Count counts the request (Take) or only answers what taking it would
// (Peek: nothing is counted, for a decision without traffic).
type Mode bool

const (
	Take Mode = false
	Peek Mode = true
)

// New picks the limiter that goes with the store: shared counters with a Redis store,
// in-memory ones with the bbolt file. fallbacks counts the checks decided without Redis, by
// fallback mode.
func New(st *store.Store, fallback Fallback, fallbacks *prometheus.CounterVec, log *slog.Logger) Counter {
	client, prefix := st.Redis()
	if client == nil {
		return NewMemory()
	}
	return NewRedis(client, prefix, fallback, fallbacks, log)
}

// Memory enforces each policy's rate limit (a token bucket from x/time/rate: at most
// Requests per Per on average, bursts up to Requests) and quota (a fixed window that renews
// Per after its first request) per client and policy.
//
// State is in memory: a restart forgives every client, and replicas do not share counts
// (Redis does that). Entries are sharded to keep lock contention
// off the hot path, and swept once idle.
type Memory struct {
	seed   maphash.Seed
	shards [limiterShards]limiterShard
}

const (
	limiterShards  = 64
	minSweepAt     = 1024
	tooOldToRemain = time.Minute
)

type limiterShard struct {
	mu      sync.Mutex
	entries map[limiterKey]*limiterEntry
	sweepAt int
}

type limiterKey struct{ policy, client string }

type limiterEntry struct {
	mu         sync.Mutex
	rateCfg    adminapi.Limit
	quotaCfg   adminapi.Limit
	bucket     *rate.Limiter
	quotaStart time.Time
	quotaUsed  int64
	lastUsed   time.Time
}

// Result tells the caller whether to proceed and what to put in X-RateLimit-* headers.
type Result struct {
	Allowed    bool
	Exceeded   string // ExceededRate, ExceededQuota, or ExceededUnavailable when refused
	Limit      int64
	Remaining  int64
	Reset      time.Duration // until the limit is fully available again
	RetryAfter time.Duration
	Report     bool // whether any limit applies (headers are sent)
}

// Result.Exceeded when a request is refused.
const (
	ExceededRate  = "rate_limit"
	ExceededQuota = "quota"
	// ExceededUnavailable: no verdict (Redis away, FallbackDeny).
	ExceededUnavailable = "unavailable"
)

func NewMemory() *Memory {
	l := &Memory{seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].entries = map[limiterKey]*limiterEntry{}
		l.shards[i].sweepAt = minSweepAt
	}
	return l
}

// Count counts one request of client under policy p. A Peek works on a copy of the client's
// state: nothing is counted and no entry is made.
func (l *Memory) Count(p *Policy, client string, now time.Time, m Mode) Result {
	if !p.limited() {
		return Result{Allowed: true}
	}
	peek := m == Peek
	key := limiterKey{policy: p.ID, client: client}
	sh := &l.shards[maphash.String(l.seed, client)%limiterShards]
	sh.mu.Lock()
	e := sh.entries[key]
	switch {
	case e == nil && peek:
		e = &limiterEntry{} // a fresh client's state, not kept
	case e == nil:
		e = &limiterEntry{}
		sh.entries[key] = e
		if len(sh.entries) >= sh.sweepAt {
			sh.sweep(now)
		}
	}
	sh.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	if !peek {
		e.lastUsed = now
	}
	res := Result{Allowed: true, Report: true}

	if p.Rate != nil {
		bucket := e.bucket
		if bucket == nil || e.rateCfg != *p.Rate { // new, or the policy changed
			bucket = rate.NewLimiter(ratePerSecond(*p.Rate), burst(*p.Rate))
			if !peek {
				e.rateCfg, e.bucket = *p.Rate, bucket
			}
		}
		res.Limit = p.Rate.Requests
		// A peek takes its token as a request would and gives it back: under e.mu nothing
		// else touches the bucket, so cancelling at the same instant restores it exactly.
		r := bucket.ReserveN(now, 1)
		if wait := r.DelayFrom(now); !r.OK() || wait > 0 {
			r.CancelAt(now)
			return Result{Exceeded: ExceededRate, Limit: res.Limit, Remaining: 0,
				Reset: untilFull(bucket, now), RetryAfter: wait, Report: true}
		}
		res.Remaining = int64(math.Max(0, math.Floor(bucket.TokensAt(now))))
		res.Reset = untilFull(bucket, now)
		if peek {
			r.CancelAt(now)
		}
	}

	if p.Quota != nil {
		start, used := e.quotaStart, e.quotaUsed
		if e.quotaCfg != *p.Quota || now.Sub(start) >= p.Quota.Per.D() {
			start, used = now, 0
		}
		renew := start.Add(p.Quota.Per.D()).Sub(now)
		if used >= p.Quota.Requests {
			if !peek {
				e.quotaCfg, e.quotaStart, e.quotaUsed = *p.Quota, start, used
			}
			return Result{Exceeded: ExceededQuota, Limit: p.Quota.Requests, Remaining: 0,
				Reset: renew, RetryAfter: renew, Report: true}
		}
		used++
		if !peek {
			e.quotaCfg, e.quotaStart, e.quotaUsed = *p.Quota, start, used
		}
		if p.Rate == nil { // headers describe the rate limit when there is one
			res.Limit, res.Remaining, res.Reset = p.Quota.Requests, p.Quota.Requests-used, renew
		}
	}
	return res
}

func ratePerSecond(l adminapi.Limit) rate.Limit {
	return rate.Limit(float64(l.Requests) / l.Per.D().Seconds())
}

func burst(l adminapi.Limit) int {
	if l.Requests > math.MaxInt32 {
		return math.MaxInt32
	}
	return int(l.Requests)
}

func untilFull(b *rate.Limiter, now time.Time) time.Duration {
	missing := float64(b.Burst()) - b.TokensAt(now)
	if missing <= 0 || b.Limit() <= 0 {
		return 0
	}
	return time.Duration(missing / float64(b.Limit()) * float64(time.Second))
}

// sweep drops entries that carry no state worth keeping: a full bucket and a quota window
// that has ended. Called with sh.mu held.
func (sh *limiterShard) sweep(now time.Time) {
	for k, e := range sh.entries {
		if !e.mu.TryLock() {
			continue
		}
		idle := now.Sub(e.lastUsed) > tooOldToRemain &&
			(e.bucket == nil || untilFull(e.bucket, now) == 0) &&
			(e.quotaCfg.Requests == 0 || now.Sub(e.quotaStart) >= e.quotaCfg.Per.D())
		e.mu.Unlock()
		if idle {
			delete(sh.entries, k)
		}
	}
	sh.sweepAt = max(minSweepAt, 2*len(sh.entries))
}
