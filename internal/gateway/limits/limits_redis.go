package limits

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
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

// Redis counts in Redis, one script call per limited request, and falls back to
// local (an in-memory limiter) or deny while Redis is unreachable.
//
// Calls are sent by a few sender goroutines, each taking every call waiting at that moment
// into one pipeline: under load one round trip (and one pair of syscalls) carries many
// requests' scripts, each still atomic on its own; an idle gateway sends each call alone,
// without waiting for company.
type Redis struct {
	client    redis.UniversalClient
	prefix    string
	fallback  Fallback
	local     *Memory
	calls     chan *limitCall
	stop      chan struct{} // closed by Close: the senders return
	downUntil atomic.Int64  // unix ns: skip Redis until then
	down      atomic.Bool
	fallbacks *prometheus.CounterVec // checks decided without Redis, by fallback mode
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

func NewRedis(client redis.UniversalClient, prefix string, fallback Fallback, fallbacks *prometheus.CounterVec, log *slog.Logger) *Redis {
	if fallback == "" {
		fallback = FallbackLocal
	}
	l := &Redis{client: client, prefix: prefix + "limit:", fallback: fallback, local: NewMemory(),
		calls: make(chan *limitCall, limitQueue), stop: make(chan struct{}), fallbacks: fallbacks, log: log}
	l.pool.New = func() any { return &limitCall{done: make(chan struct{}, 1)} }
	for range limitSenders {
		go l.send()
	}
	return l
}

// Close stops the senders; a Count after it answers by the fallback.
func (l *Redis) Close() { close(l.stop) }

// send runs pipelines of the calls waiting in l.calls.
func (l *Redis) send() {
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

func (l *Redis) run(ctx context.Context, batch []*limitCall, cmds []*redis.Cmd, load bool) []*redis.Cmd {
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

// Count counts one request of client under policy p in Redis; a Peek writes nothing to
// Redis (or the fallback).
func (l *Redis) Count(p *Policy, client string, now time.Time, m Mode) Result {
	if !p.limited() {
		return Result{Allowed: true}
	}
	if now.UnixNano() < l.downUntil.Load() {
		return l.withoutRedis(p, client, now, m)
	}
	c := l.pool.Get().(*limitCall)
	// One hash tag for both keys: a Redis Cluster keeps them in one slot, as a script needs.
	base := l.prefix + "{" + p.ID + ":" + client + "}"
	c.keys = [2]string{base + ":r", base + ":q"}
	c.args = [5]any{int64(0), int64(0), int64(0), int64(0), int64(0)}
	if m == Peek {
		c.args[4] = int64(1)
	}
	if p.Rate != nil {
		c.args[0], c.args[1] = p.Rate.Requests, p.Rate.Per.D().Microseconds()
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
		return l.withoutRedis(p, client, now, m)
	}
	if err != nil || len(v) != 6 {
		l.downUntil.Store(now.Add(redisRetryAfter).UnixNano())
		if !l.down.Swap(true) {
			l.log.Warn("Redis unreachable for limits; counting by the fallback", "fallback", string(l.fallback), "error", err)
		}
		return l.withoutRedis(p, client, now, m)
	}
	if l.down.Swap(false) {
		l.log.Info("Redis reachable again for limits")
	}
	res := Result{Allowed: v[0] == 1, Limit: v[2], Remaining: v[3], Report: true,
		Reset: time.Duration(v[4]) * time.Microsecond, RetryAfter: time.Duration(v[5]) * time.Microsecond}
	switch v[1] {
	case 1:
		res.Exceeded = ExceededRate
	case 2:
		res.Exceeded = ExceededQuota
	}
	return res
}

func (l *Redis) withoutRedis(p *Policy, client string, now time.Time, m Mode) Result {
	if m == Take { // a peek is not a check decided
		l.fallbacks.WithLabelValues(string(l.fallback)).Inc()
	}
	if l.fallback == FallbackDeny {
		return Result{Exceeded: ExceededUnavailable}
	}
	return l.local.Count(p, client, now, m)
}
