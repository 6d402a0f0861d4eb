package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

// Redis keys, under the key prefix (default DefaultKeyPrefix). The configuration keys share
// the hash tag {config} so that a transaction over them works on Redis Cluster too.
//
//	<prefix>{config}:apis       hash  API id    -> API JSON
//	<prefix>{config}:policies   hash  policy id -> policy JSON
//	<prefix>{config}:version    int   INCR'd by every committed write
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
	client   redis.UniversalClient
	prefix   string
	apisKey  string
	polsKey  string
	verKey   string
	channel  string
	log      *slog.Logger
	isUp     atomic.Bool
	loadedAt atomic.Int64 // the version the last view read
}

// NewRedisClient builds the client RedisOptions.URL describes, with bounded timeouts where
// the URL sets none: a Redis that does not answer must cost a request milliseconds, not the
// client's default seconds.
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
		return redis.NewFailoverClient(o), nil
	case len(q["addr"]) > 0:
		o, err := redis.ParseClusterURL(rawURL)
		if err != nil {
			return nil, redactURLError(err)
		}
		boundTimeouts(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.MaxRetries)
		return redis.NewClusterClient(o), nil
	default:
		o, err := redis.ParseURL(rawURL)
		if err != nil {
			return nil, redactURLError(err)
		}
		boundTimeouts(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.MaxRetries)
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
	return newStore(b), nil
}

func newRedisBackend(client redis.UniversalClient, prefix string, log *slog.Logger) *redisBackend {
	b := &redisBackend{client: client, prefix: prefix, log: log,
		apisKey: prefix + "{config}:apis", polsKey: prefix + "{config}:policies",
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

// view reads both hashes and the version in one MULTI/EXEC: a consistent snapshot.
func (b *redisBackend) view(ctx context.Context, fn func(tx txn) error) error {
	var apis, pols *redis.MapStringStringCmd
	var ver *redis.StringCmd
	_, err := b.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		apis, pols, ver = p.HGetAll(ctx, b.apisKey), p.HGetAll(ctx, b.polsKey), p.Get(ctx, b.verKey)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return b.unavailable(err)
	}
	b.isUp.Store(true)
	v, _ := ver.Int64() // absent: 0
	b.loadedAt.Store(v)
	return fn(&redisTxn{apiRaw: apis.Val(), polRaw: pols.Val(), ver: v})
}

// update runs fn under WATCH on the configuration keys, then applies its writes, INCRs the
// version and publishes a change in one MULTI/EXEC. When another replica wrote in between,
// EXEC fails and fn runs again on the new state, so the checks fn makes hold at commit.
//
// A connection error before EXEC was sent (a connection the pool kept across a Redis restart)
// is retried: nothing was written. One while committing is not, since EXEC may have run.
func (b *redisBackend) update(ctx context.Context, fn func(tx txn) error) error {
	reconnects := 0
	for range maxTxRetries {
		var fnErr error
		committing := false
		err := b.client.Watch(ctx, func(rtx *redis.Tx) error {
			apis, err := rtx.HGetAll(ctx, b.apisKey).Result()
			if err != nil {
				return err
			}
			pols, err := rtx.HGetAll(ctx, b.polsKey).Result()
			if err != nil {
				return err
			}
			t := &redisTxn{apiRaw: apis, polRaw: pols}
			if fnErr = fn(t); fnErr != nil {
				return fnErr
			}
			if len(t.ops) == 0 {
				return nil
			}
			committing = true
			_, err = rtx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				for _, op := range t.ops {
					if op.value == nil {
						p.HDel(ctx, op.key(b), op.id)
					} else {
						p.HSet(ctx, op.key(b), op.id, op.value)
					}
				}
				p.Incr(ctx, b.verKey)
				p.Publish(ctx, b.channel, "changed")
				return nil
			})
			return err
		}, b.apisKey, b.polsKey)
		switch {
		case fnErr != nil:
			return fnErr
		case errors.Is(err, redis.TxFailedErr):
			continue // another writer committed first: check again against its result
		case err != nil && !committing && reconnects < 2 && ctx.Err() == nil:
			reconnects++
			continue
		case err != nil:
			return b.unavailable(err)
		}
		b.isUp.Store(true)
		return nil
	}
	return b.unavailable(errors.New("too many concurrent writers; try again"))
}

// redisTxn decodes the hashes it was given and records writes, which later reads see.
type redisTxn struct {
	apiRaw, polRaw map[string]string
	ver            int64
	ops            []redisOp
}

type redisOp struct {
	policy bool
	id     string
	value  []byte // nil: delete
}

func (o redisOp) key(b *redisBackend) string {
	if o.policy {
		return b.polsKey
	}
	return b.apisKey
}

func decodeAll[T any](raw map[string]string) ([]T, error) {
	ids := make([]string, 0, len(raw))
	for id := range raw {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := make([]T, 0, len(ids))
	for _, id := range ids {
		var v T
		if err := json.Unmarshal([]byte(raw[id]), &v); err != nil {
			return nil, fmt.Errorf("decoding stored object %s: %w", id, err)
		}
		out = append(out, v)
	}
	return out, nil
}

func (t *redisTxn) apis() ([]adminapi.API, error)        { return decodeAll[adminapi.API](t.apiRaw) }
func (t *redisTxn) policies() ([]adminapi.Policy, error) { return decodeAll[adminapi.Policy](t.polRaw) }
func (t *redisTxn) version() int64                       { return t.ver }

func (t *redisTxn) write(policy bool, id string, v any) error {
	m := t.apiRaw
	if policy {
		m = t.polRaw
	}
	if v == nil {
		delete(m, id)
		t.ops = append(t.ops, redisOp{policy: policy, id: id})
		return nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	m[id] = string(raw)
	t.ops = append(t.ops, redisOp{policy: policy, id: id, value: raw})
	return nil
}

func (t *redisTxn) putAPI(api adminapi.API) error     { return t.write(false, api.ID, api) }
func (t *redisTxn) putPolicy(p adminapi.Policy) error { return t.write(true, p.ID, p) }
func (t *redisTxn) deleteAPI(id string) error         { return t.write(false, id, nil) }
func (t *redisTxn) deletePolicy(id string) error      { return t.write(true, id, nil) }

// watch calls onChange after every change another replica announces and whenever the stored
// version differs from the one last loaded (a missed message, Redis back after an outage),
// until ctx is done. Calls are serialized and coalesced.
func (b *redisBackend) watch(ctx context.Context, onChange func()) {
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
	go b.poll(ctx, notify)
	for {
		select {
		case <-ctx.Done():
			return
		case <-kick:
			onChange()
		}
	}
}

func (b *redisBackend) poll(ctx context.Context, notify func()) {
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
		if v != b.loadedAt.Load() {
			notify()
		}
	}
}
