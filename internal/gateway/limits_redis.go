package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/config"
)

// Fallback is what limits do while Redis is unreachable.
type Fallback string

const (
	// FallbackLocal counts in this replica's memory at the policy's full limit: traffic keeps
	// flowing, and while Redis is away n replicas let a client through up to n times its
	// limit (Kong's "local" policy has the same trade-off).
	FallbackLocal Fallback = "local"
	// FallbackDeny answers 503 to every request a limit applies to: no request is let
	// through uncounted.
	FallbackDeny Fallback = "deny"
)

// ParseFallback accepts "local", "deny" and "" (local).
func ParseFallback(s string) (Fallback, error) {
	switch Fallback(s) {
	case "", FallbackLocal:
		return FallbackLocal, nil
	case FallbackDeny:
		return FallbackDeny, nil
	}
	return "", fmt.Errorf("%q is not a limits fallback: use local or deny", s)
}

// exceededUnavailable in limitResult.exceeded: no verdict (Redis away, FallbackDeny).
const exceededUnavailable = "unavailable"

const (
	// redisLimitTimeout bounds the one round trip a limited request makes to Redis.
	redisLimitTimeout = 250 * time.Millisecond
	// redisRetryAfter: after a failure, requests go to the fallback without trying Redis
	// for this long, so an outage does not cost each of them a timeout.
	redisRetryAfter = time.Second
)

// limitScript is the in-memory limiter's algorithm, run atomically in Redis with Redis's clock
// (so replicas' clocks do not matter), on two keys per policy and client in one hash slot:
//
//   - KEYS[1], the rate limit: a token bucket of Requests tokens refilled at Requests per Per,
//     as x/time/rate; a refused request takes no token. Its config changing refills it.
//   - KEYS[2], the quota: a fixed window of Requests that starts at its first request and
//     renews Per later; its config changing starts a new window. A request the quota refuses
//     still took its rate-limit token, as in memory.
//
// Each is a string of four packed doubles (its requests, its per, then tokens and last
// update, or window start and used), written with its expiry in one SET: a key expires once
// its state equals a fresh one's. A bucket's writes stay out of the append-only file and the
// Redis replicas (REPL_NONE): it refills within Per anyway, so a Redis restart or failover
// costs each client at most one extra burst, while writing every request to the AOF cost
// Redis a third of its time per call. A quota window can span days, so its writes propagate.
//
// ARGV: rate requests, rate per (µs), quota requests, quota per (µs); 0 requests: none;
// then 1 to peek (a decision without traffic: the same answer, nothing written), else 0.
// Returns {allowed, exceeded (0 none, 1 rate, 2 quota), limit, remaining, reset µs,
// retry-after µs}.
var limitScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local rreq, rper = tonumber(ARGV[1]), tonumber(ARGV[2])
local qreq, qper = tonumber(ARGV[3]), tonumber(ARGV[4])
local peek = ARGV[5] == '1'
local limit, remaining, reset = 0, 0, 0
if rreq > 0 then
  redis.set_repl(redis.REPL_NONE)
  local rate = rreq / rper
  local tokens, ts = rreq, now
  local s = redis.call('GET', KEYS[1])
  if s then
    local r, p, tk, t0 = struct.unpack('dddd', s)
    if r == rreq and p == rper then
      tokens, ts = tk, t0
      if now > ts then tokens = math.min(rreq, tokens + (now - ts) * rate) end
    end
  end
  if now > ts then ts = now end
  local allowed = tokens >= 1
  if allowed then tokens = tokens - 1 end
  if not peek then
    redis.call('SET', KEYS[1], struct.pack('dddd', rreq, rper, tokens, ts), 'PX', math.ceil(rper / 1000) + 1000)
  end
  if not allowed then
    return {0, 1, rreq, 0, math.ceil((rreq - tokens) / rate), math.ceil((1 - tokens) / rate)}
  end
  limit, remaining, reset = rreq, math.floor(tokens), math.ceil((rreq - tokens) / rate)
end
if qreq > 0 then
  redis.set_repl(redis.REPL_ALL)
  local qs, qu = now, 0
  local s = redis.call('GET', KEYS[2])
  if s then
    local r, p, s0, u = struct.unpack('dddd', s)
    if r == qreq and p == qper and now - s0 < qper then qs, qu = s0, u end
  end
  local renew = qs + qper - now
  if qu >= qreq then return {0, 2, qreq, 0, renew, renew} end
  qu = qu + 1
  if not peek then
    redis.call('SET', KEYS[2], struct.pack('dddd', qreq, qper, qs, qu), 'PX', math.ceil(renew / 1000) + 1000)
  end
  if rreq == 0 then limit, remaining, reset = qreq, qreq - qu, renew end
end
return {1, 0, limit, remaining, reset, 0}
`)

// redisLimiter counts in Redis, one script call per limited request, and falls back to
// local (an in-memory limiter) or deny while Redis is unreachable.
//
// Calls are sent by a few sender goroutines, each taking every call waiting at that moment
// into one pipeline: under load one round trip (and one pair of syscalls) carries many
// requests' scripts, each still atomic on its own; an idle gateway sends each call alone,
// without waiting for company.
type redisLimiter struct {
	client    redis.UniversalClient
	prefix    string
	fallback  Fallback
	local     *limiter
	calls     chan *limitCall
	stop      chan struct{} // closed by close: the senders return
	downUntil atomic.Int64  // unix ns: skip Redis until then
	down      atomic.Bool
	metrics   *metrics
	log       *slog.Logger
	pool      sync.Pool
}

const (
	limitSenders    = 4
	limitQueue      = 512
	limitBatchLimit = 128
)

type limitCall struct {
	keys [2]string // the bucket's and the quota window's
	args [5]any
	res  []int64
	err  error
	done chan struct{}
}

func newRedisLimiter(client redis.UniversalClient, prefix string, fallback Fallback, m *metrics, log *slog.Logger) *redisLimiter {
	if fallback == "" {
		fallback = FallbackLocal
	}
	l := &redisLimiter{client: client, prefix: prefix + "limit:", fallback: fallback, local: newLimiter(),
		calls: make(chan *limitCall, limitQueue), stop: make(chan struct{}), metrics: m, log: log}
	l.pool.New = func() any { return &limitCall{done: make(chan struct{}, 1)} }
	for range limitSenders {
		go l.send()
	}
	return l
}

// close stops the senders; a take after it answers by the fallback.
func (l *redisLimiter) close() { close(l.stop) }

// send runs pipelines of the calls waiting in l.calls.
func (l *redisLimiter) send() {
	batch := make([]*limitCall, 0, limitBatchLimit)
	cmds := make([]*redis.Cmd, 0, limitBatchLimit)
	for {
		var c *limitCall
		select {
		case c = <-l.calls:
		case <-l.stop:
			return
		}
		batch = append(batch[:0], c)
	more:
		for len(batch) < limitBatchLimit {
			select {
			case c := <-l.calls:
				batch = append(batch, c)
			default:
				break more
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), redisLimitTimeout)
		cmds = l.run(ctx, batch, cmds[:0], false)
		if redis.HasErrorPrefix(cmds[0].Err(), "NOSCRIPT") { // Redis restarted: load it once
			cmds = l.run(ctx, batch, cmds[:0], true)
		}
		cancel()
		for i, c := range batch {
			c.res, c.err = cmds[i].Int64Slice()
			c.done <- struct{}{}
		}
	}
}

func (l *redisLimiter) run(ctx context.Context, batch []*limitCall, cmds []*redis.Cmd, load bool) []*redis.Cmd {
	p := l.client.Pipeline()
	for _, c := range batch {
		keys := c.keys[:]
		if load {
			cmds = append(cmds, limitScript.Eval(ctx, p, keys, c.args[:]...))
		} else {
			cmds = append(cmds, limitScript.EvalSha(ctx, p, keys, c.args[:]...))
		}
	}
	_, _ = p.Exec(ctx) // each command carries its own error
	return cmds
}

func (l *redisLimiter) take(p *config.Policy, client string, now time.Time) limitResult {
	return l.count(p, client, now, false)
}

// peek answers what take would, writing nothing to Redis (or the fallback).
func (l *redisLimiter) peek(p *config.Policy, client string, now time.Time) limitResult {
	return l.count(p, client, now, true)
}

func (l *redisLimiter) count(p *config.Policy, client string, now time.Time, peek bool) limitResult {
	if p.RateLimit == nil && p.Quota == nil {
		return limitResult{allowed: true}
	}
	if now.UnixNano() < l.downUntil.Load() {
		return l.withoutRedis(p, client, now, peek)
	}
	c := l.pool.Get().(*limitCall)
	// One hash tag for both keys: a Redis Cluster keeps them in one slot, as a script needs.
	base := l.prefix + "{" + p.ID + ":" + client + "}"
	c.keys = [2]string{base + ":r", base + ":q"}
	c.args = [5]any{int64(0), int64(0), int64(0), int64(0), int64(0)}
	if peek {
		c.args[4] = int64(1)
	}
	if p.RateLimit != nil {
		c.args[0], c.args[1] = p.RateLimit.Requests, p.RateLimit.Per.D().Microseconds()
	}
	if p.Quota != nil {
		c.args[2], c.args[3] = p.Quota.Requests, p.Quota.Per.D().Microseconds()
	}
	var v []int64
	var err error
	select {
	case l.calls <- c:
		select {
		case <-c.done: // the sender's context bounds the wait
			v, err = c.res, c.err
			c.res, c.err = nil, nil
			l.pool.Put(c)
		case <-l.stop: // c may still be queued: not reused
			err = errors.New("the gateway is closing")
		}
	default: // more checks waiting than Redis takes in: this one alone goes to the fallback
		l.pool.Put(c)
		return l.withoutRedis(p, client, now, peek)
	}
	if err != nil || len(v) != 6 {
		l.downUntil.Store(now.Add(redisRetryAfter).UnixNano())
		if !l.down.Swap(true) {
			l.log.Warn("Redis unreachable for limits; counting by the fallback", "fallback", string(l.fallback), "error", err)
		}
		return l.withoutRedis(p, client, now, peek)
	}
	if l.down.Swap(false) {
		l.log.Info("Redis reachable again for limits")
	}
	res := limitResult{allowed: v[0] == 1, limit: v[2], remaining: v[3], report: true,
		reset: time.Duration(v[4]) * time.Microsecond, retryAfter: time.Duration(v[5]) * time.Microsecond}
	switch v[1] {
	case 1:
		res.exceeded = "rate_limit"
	case 2:
		res.exceeded = "quota"
	}
	return res
}

func (l *redisLimiter) withoutRedis(p *config.Policy, client string, now time.Time, peek bool) limitResult {
	if peek {
		if l.fallback == FallbackDeny {
			return limitResult{exceeded: exceededUnavailable}
		}
		return l.local.peek(p, client, now)
	}
	l.metrics.limitsFallback.WithLabelValues(string(l.fallback)).Inc()
	if l.fallback == FallbackDeny {
		return limitResult{exceeded: exceededUnavailable}
	}
	return l.local.take(p, client, now)
}
