package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis keys, under the key prefix (default DefaultKeyPrefix). The configuration keys share
// the hash tag {config} so that a transaction over them works on Redis Cluster too.
//
//	<prefix>{config}:apis           hash  API id    -> API JSON
//	<prefix>{config}:apis:ids       zset  API ids (score 0: in byte order, for pages)
//	<prefix>{config}:policies       hash  policy id -> policy JSON
//	<prefix>{config}:policies:ids   zset  policy ids
//	<prefix>{config}:api_names, api_routes, policy_names   hashes: the indexes (index.go)
//	<prefix>{config}:grants         zset  API id \x00 policy id
//	<prefix>{config}:meta           hash  schema -> the indexes' version
//	<prefix>{config}:version        int   INCR'd by every committed write
//	<prefix>{config}:changes        zset  the newest commits' changed objects (changelog.go)
//	<prefix>config-changes      pub/sub channel; a message after every committed write
const DefaultKeyPrefix = "idpgate:"

// PollInterval is how often a replica compares the stored version with the one it serves,
// catching a change whose pub/sub message it missed (a reconnect, a restarted Redis). One GET
// per second per replica costs Redis nothing, and bounds a missed change's delay to ~1 s,
// the propagation bound the gateway promises.
var PollInterval = time.Second

// maxTxRetries bounds the retries of a write whose watched keys another writer changed.
const maxTxRetries = 50

// RedisOptions configure OpenRedis.
type RedisOptions struct {
	// URL is redis://[user:password@]host:port[/db] or rediss:// for TLS. With
	// ?master_name=NAME the host (and every &addr=) are Sentinels; with several &addr= and
	// no master_name, the nodes of a Redis Cluster. Other query parameters are go-redis's
	// (dial_timeout, read_timeout, pool_size, ...).
	URL string
	// KeyPrefix starts every key and channel name, so several gateways can share one Redis;
	// "" means DefaultKeyPrefix.
	KeyPrefix string
	Logger    *slog.Logger
}

type redisBackend struct {
	client  redis.UniversalClient
	prefix  string
	verKey  string
	channel string
	log     *slog.Logger
	isUp    atomic.Bool
}

// NewRedisClient builds the client RedisOptions.URL describes, with bounded timeouts where
// the URL sets none: a Redis that does not answer must cost a request milliseconds, not the
// client's default seconds. A caller's context deadline bounds each call too (go-redis
// ignores it unless ContextTimeoutEnabled): the limits and the DPoP replay check give Redis
// 250 ms, less than the read timeout.
func NewRedisClient(rawURL string) (redis.UniversalClient, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errors.New("the Redis URL does not parse") // the URL may hold a password: not echoed
	}
	q := u.Query()
	switch {
	case q.Get("master_name") != "":
		o, err := redis.ParseFailoverURL(rawURL)
		if err != nil {
			return nil, redactURLError(err)
		}
		boundTimeouts(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.MaxRetries)
		o.ContextTimeoutEnabled = true
		return redis.NewFailoverClient(o), nil
	case len(q["addr"]) > 0:
		o, err := redis.ParseClusterURL(rawURL)
		if err != nil {
			return nil, redactURLError(err)
		}
		boundTimeouts(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.MaxRetries)
		o.ContextTimeoutEnabled = true
		return redis.NewClusterClient(o), nil
	default:
		o, err := redis.ParseURL(rawURL)
		if err != nil {
			return nil, redactURLError(err)
		}
		boundTimeouts(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.MaxRetries)
		o.ContextTimeoutEnabled = true
		return redis.NewClient(o), nil
	}
}

func boundTimeouts(dial, read, write *time.Duration, retries *int) {
	if *dial == 0 {
		*dial = time.Second
	}
	if *read == 0 {
		*read = 500 * time.Millisecond
	}
	if *write == 0 {
		*write = 500 * time.Millisecond
	}
	if *retries == 0 {
		*retries = 1
	}
}

// redactURLError keeps go-redis's reason but never the URL, which may carry a password.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("the Redis URL is invalid: %v", ue.Err)
	}
	return fmt.Errorf("the Redis URL is invalid: %v", err)
}

// OpenRedis connects to Redis and checks that it answers.
func OpenRedis(ctx context.Context, o RedisOptions) (*Store, error) {
	client, err := NewRedisClient(o.URL)
	if err != nil {
		return nil, err
	}
	if o.KeyPrefix == "" {
		o.KeyPrefix = DefaultKeyPrefix
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	routeClientLog(o.Logger)
	b := newRedisBackend(client, o.KeyPrefix, o.Logger)
	if err := b.ready(ctx); err != nil {
		_ = client.Close()
		return nil, err
	}
	if err := b.migrate(ctx); err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("indexing the stored configuration: %w", err)
	}
	return newStore(b), nil
}

func newRedisBackend(client redis.UniversalClient, prefix string, log *slog.Logger) *redisBackend {
	b := &redisBackend{client: client, prefix: prefix, log: log,
		verKey: prefix + "{config}:version", channel: prefix + "config-changes"}
	b.isUp.Store(true)
	return b
}

// go-redis logs connection failures through one process-wide logger; they go to the first
// store's slog logger at debug level (the store and the limiter log outages once, at warn).
var clientLogOnce sync.Once

type clientLog struct{ log *slog.Logger }

func (l clientLog) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, "redis client: "+fmt.Sprintf(format, v...))
}

func routeClientLog(log *slog.Logger) {
	clientLogOnce.Do(func() { redis.SetLogger(clientLog{log}) })
}

func (b *redisBackend) close() error { return b.client.Close() }
func (b *redisBackend) up() bool     { return b.isUp.Load() }
func (b *redisBackend) shared() bool { return true }

// unavailable records that Redis failed and wraps err as ErrUnavailable.
func (b *redisBackend) unavailable(err error) error {
	b.isUp.Store(false)
	return fmt.Errorf("%w: %v", ErrUnavailable, err)
}

func (b *redisBackend) ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var err error
	for range 3 { // connections pooled before a Redis restart fail once each
		if err = b.client.Ping(ctx).Err(); err == nil {
			b.isUp.Store(true)
			return nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	return b.unavailable(err)
}

// key is the Redis key of a table: a hash of key -> value, and for the ordered tables a
// sorted set of the keys (all scored 0, so ordered by bytes) that scan pages through.
// Grants carry no value: they are the sorted set alone.
func (b *redisBackend) key(t table) string { return b.prefix + "{config}:" + string(t) }

func (b *redisBackend) orderKey(t table) string {
	switch t {
	case tableAPIs, tablePolicies:
		return b.key(t) + ":ids"
	case tableGrants:
		return b.key(t)
	}
	return ""
}

// view reads straight from Redis, one command per read.
func (b *redisBackend) view(ctx context.Context, fn func(tx txn) error) error {
	err := fn(&redisTxn{b: b, ctx: ctx, r: b.client})
	if isRedisError(err) {
		return b.unavailable(err)
	}
	b.isUp.Store(true)
	return err
}

// redisFailure marks a failed Redis command in a transaction's error, from the answers
// (a 404, a 409, a value that does not decode) that fn may return as well.
type redisFailure struct{ err error }

func (e *redisFailure) Error() string { return e.err.Error() }
func (e *redisFailure) Unwrap() error { return e.err }

func failed(err error) error {
	if err == nil {
		return nil
	}
	return &redisFailure{err}
}

// isRedisError reports whether err is a failure to talk to Redis.
func isRedisError(err error) bool { return errors.As(err, new(*redisFailure)) }

// snapshot reads both object hashes and the version in one MULTI/EXEC: a consistent view.
func (b *redisBackend) snapshot(ctx context.Context, fn func(tx txn) error) error {
	var apis, pols *redis.MapStringStringCmd
	var ver *redis.StringCmd
	_, err := b.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		apis, pols, ver = p.HGetAll(ctx, b.key(tableAPIs)), p.HGetAll(ctx, b.key(tablePolicies)), p.Get(ctx, b.verKey)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return b.unavailable(err)
	}
	b.isUp.Store(true)
	v, _ := ver.Int64() // absent: 0
	return fn(&memTxn{tables: map[table]map[string]string{tableAPIs: apis.Val(), tablePolicies: pols.Val()}, ver: v})
}

// update runs fn under WATCH on the version key, which every committed write increments,
// then applies its writes, INCRs the version and publishes a change in one MULTI/EXEC. When
// another replica wrote in between, EXEC fails and fn runs again on the new state, so the
// checks fn makes hold at commit. fn's reads are separate commands, so a refusal fn returns
// is only answered when the version did not move while fn read; else fn runs again.
//
// A connection error before EXEC was sent (a connection the pool kept across a Redis restart)
// is retried: nothing was written. One while committing is not, since EXEC may have run.
func (b *redisBackend) update(ctx context.Context, fn func(tx txn) error) (int64, error) {
	reconnects := 0
	for range maxTxRetries {
		var fnErr error
		var committed *redis.Cmd
		committing := false
		err := b.client.Watch(ctx, func(rtx *redis.Tx) error {
			t := &redisTxn{b: b, ctx: ctx, r: rtx, overlay: map[table]map[string][]byte{}, cleared: map[table]bool{}}
			before, err := t.version()
			if err != nil {
				return err
			}
			if err := fn(t); err != nil {
				if isRedisError(err) {
					return err // Redis' fault: maybe retried below
				}
				// fn's reads are not one snapshot: a refusal (a 409, an index entry
				// whose object is gone) counts only if nobody committed meanwhile.
				if after, verr := t.version(); verr != nil || after != before {
					return redis.TxFailedErr
				}
				fnErr = err
				return err
			}
			if len(t.ops) == 0 {
				return nil
			}
			committing = true
			_, err = rtx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				for _, op := range t.ops {
					op(p)
				}
				committed = commitScript.Eval(ctx, p, []string{b.verKey, b.changesKey()}, t.logEntry(), changeLogLength)
				p.Publish(ctx, b.channel, "changed")
				return nil
			})
			return err
		}, b.verKey)
		switch {
		case fnErr != nil:
			return 0, fnErr
		case errors.Is(err, redis.TxFailedErr):
			continue // another writer committed first: check again against its result
		case err != nil && !committing && reconnects < 2 && ctx.Err() == nil:
			reconnects++
			continue
		case err != nil:
			return 0, b.unavailable(err)
		}
		b.isUp.Store(true)
		if committed == nil {
			return 0, nil
		}
		v, err := committed.Int64()
		if err != nil {
			return 0, b.unavailable(err)
		}
		return v, nil
	}
	return 0, b.unavailable(errors.New("too many concurrent writers; try again"))
}

// redisTxn reads from Redis (under WATCH in a write) and queues its writes, which its own
// later gets see through overlay.
type redisTxn struct {
	b   *redisBackend
	ctx context.Context
	r   redis.Cmdable
	// overlay holds what this transaction wrote (nil: deleted); cleared, the tables it emptied.
	overlay map[table]map[string][]byte
	cleared map[table]bool
	ops     []func(p redis.Pipeliner)
}

func (t *redisTxn) get(tb table, key string) ([]byte, error) {
	if v, ok := t.overlay[tb][key]; ok {
		return v, nil
	}
	if t.cleared[tb] {
		return nil, nil
	}
	if tb == tableGrants {
		err := t.r.ZScore(t.ctx, t.b.orderKey(tb), key).Err()
		if errors.Is(err, redis.Nil) {
			return nil, nil
		}
		return []byte{}, failed(err)
	}
	v, err := t.r.HGet(t.ctx, t.b.key(tb), key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	return v, failed(err)
}

func (t *redisTxn) record(tb table, key string, value []byte) {
	if t.overlay[tb] == nil {
		t.overlay[tb] = map[string][]byte{}
	}
	t.overlay[tb][key] = value
}

func (t *redisTxn) put(tb table, key string, value []byte) error {
	t.record(tb, key, value)
	hash, order := t.b.key(tb), t.b.orderKey(tb)
	t.ops = append(t.ops, func(p redis.Pipeliner) {
		if tb != tableGrants {
			p.HSet(t.ctx, hash, key, value)
		}
		if order != "" {
			p.ZAdd(t.ctx, order, redis.Z{Member: key})
		}
	})
	return nil
}

func (t *redisTxn) del(tb table, key string) error {
	t.record(tb, key, nil)
	hash, order := t.b.key(tb), t.b.orderKey(tb)
	t.ops = append(t.ops, func(p redis.Pipeliner) {
		if tb != tableGrants {
			p.HDel(t.ctx, hash, key)
		}
		if order != "" {
			p.ZRem(t.ctx, order, key)
		}
	})
	return nil
}

func (t *redisTxn) clear(tb table) error {
	delete(t.overlay, tb)
	t.cleared[tb] = true
	keys := []string{t.b.key(tb)}
	if o := t.b.orderKey(tb); o != "" && o != keys[0] {
		keys = append(keys, o)
	}
	t.ops = append(t.ops, func(p redis.Pipeliner) { p.Del(t.ctx, keys...) })
	return nil
}

// scanBatch is how many keys one ZRANGE of a scan asks for.
const scanBatch = 500

func (t *redisTxn) scan(tb table, from string, fn func(key string, value []byte) (bool, error)) error {
	order := t.b.orderKey(tb)
	if order == "" {
		return fmt.Errorf("table %s is not ordered", tb)
	}
	start := "[" + from
	if from == "" {
		start = "-"
	}
	for {
		keys, err := t.r.ZRangeByLex(t.ctx, order, &redis.ZRangeBy{Min: start, Max: "+", Count: scanBatch}).Result()
		if err != nil {
			return failed(err)
		}
		if len(keys) == 0 {
			return nil
		}
		values := make([]any, len(keys))
		if tb != tableGrants {
			if values, err = t.r.HMGet(t.ctx, t.b.key(tb), keys...).Result(); err != nil {
				return failed(err)
			}
		}
		for i, k := range keys {
			v, _ := values[i].(string)
			if values[i] == nil && tb != tableGrants {
				continue // removed between the two reads
			}
			if more, err := fn(k, []byte(v)); err != nil || !more {
				return err
			}
		}
		if len(keys) < scanBatch {
			return nil
		}
		start = "(" + keys[len(keys)-1]
	}
}

func (t *redisTxn) version() (int64, error) {
	v, err := t.r.Get(t.ctx, t.b.verKey).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	return v, failed(err)
}

// memTxn is a read-only view of tables read in one go (snapshot).
type memTxn struct {
	tables map[table]map[string]string
	ver    int64
}

func (m *memTxn) get(tb table, key string) ([]byte, error) {
	v, ok := m.tables[tb][key]
	if !ok {
		return nil, nil
	}
	return []byte(v), nil
}

var errReadOnly = errors.New("read-only view")

func (m *memTxn) put(table, string, []byte) error { return errReadOnly }
func (m *memTxn) del(table, string) error         { return errReadOnly }
func (m *memTxn) clear(table) error               { return errReadOnly }
func (m *memTxn) version() (int64, error)         { return m.ver, nil }

func (m *memTxn) scan(tb table, from string, fn func(key string, value []byte) (bool, error)) error {
	keys := slices.Sorted(maps.Keys(m.tables[tb]))
	i, _ := slices.BinarySearch(keys, from)
	for _, k := range keys[i:] {
		if more, err := fn(k, []byte(m.tables[tb][k])); err != nil || !more {
			return err
		}
	}
	return nil
}

// migrate indexes a store written before the indexes existed: it rebuilds every table from
// the object hashes, once (the schema marker is written with them).
func (b *redisBackend) migrate(ctx context.Context) error {
	_, err := b.update(ctx, func(tx txn) error {
		if ok, err := indexed(tx); err != nil || ok {
			return err
		}
		r := tx.(*redisTxn)
		apis, err := r.r.HGetAll(ctx, b.key(tableAPIs)).Result()
		if err != nil {
			return failed(err)
		}
		pols, err := r.r.HGetAll(ctx, b.key(tablePolicies)).Result()
		if err != nil {
			return failed(err)
		}
		return reindex(tx, &memTxn{tables: map[table]map[string]string{tableAPIs: apis, tablePolicies: pols}})
	})
	return err
}

// watch calls onChange after every change a replica announces and whenever the stored
// version differs from the one served (a missed message, Redis back after an outage),
// until ctx is done. Calls are serialized and coalesced.
func (b *redisBackend) watch(ctx context.Context, served func() int64, onChange func()) {
	kick := make(chan struct{}, 1)
	notify := func() {
		select {
		case kick <- struct{}{}:
		default:
		}
	}
	sub := b.client.Subscribe(ctx, b.channel)
	defer func() { _ = sub.Close() }()
	go func() {
		for range sub.Channel() { // go-redis resubscribes after a reconnect
			notify()
		}
	}()
	go b.poll(ctx, served, notify)
	for {
		select {
		case <-ctx.Done():
			return
		case <-kick:
			onChange()
		}
	}
}

func (b *redisBackend) poll(ctx context.Context, served func() int64, notify func()) {
	t := time.NewTicker(PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, PollInterval)
		v, err := b.client.Get(pctx, b.verKey).Int64()
		cancel()
		if err != nil && !errors.Is(err, redis.Nil) {
			if b.isUp.Swap(false) {
				b.log.Warn("configuration store (Redis) unreachable; serving the last loaded configuration", "error", err)
			}
			continue
		}
		if !b.isUp.Swap(true) {
			b.log.Info("configuration store (Redis) reachable again")
			notify()
			continue
		}
		if v != served() {
			notify()
		}
	}
}
