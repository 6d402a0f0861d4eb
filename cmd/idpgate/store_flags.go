package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/store"
)

// storeFlags choose the configuration store, for `serve` and `config`: the bbolt file under
// --data-dir, or Redis with --redis-url.
type storeFlags struct {
	redisURL, redisKeyPrefix string
}

func (f *storeFlags) register(fs *flag.FlagSet, dataDir *string) {
	fs.StringVar(dataDir, "data-dir", *dataDir, "`directory` of the bbolt configuration store ("+store.DBFileName+"), created if missing; unused with --redis-url")
	fs.StringVar(&f.redisURL, "redis-url", os.Getenv(redisURLEnv),
		"keep the configuration (and count limits) in Redis, shared by every replica: redis://[user:password@]host:port[/db], "+
			"rediss:// for TLS, ?master_name=NAME for Sentinel, several &addr= for Cluster (env "+redisURLEnv+")")
	fs.StringVar(&f.redisKeyPrefix, "redis-key-prefix", envOr(redisKeyPrefixEnv, store.DefaultKeyPrefix),
		"`prefix` of every Redis key, so several gateways can share one Redis (env "+redisKeyPrefixEnv+")")
}

// check refuses a --redis-url that go-redis would misread: without a scheme, "host:6379"
// parses with "host" as its scheme and fails with words that never mention redis://.
func (f *storeFlags) check() error {
	if f.redisURL == "" {
		return nil
	}
	scheme, _, found := strings.Cut(f.redisURL, "://")
	switch {
	case !found:
		// The value is not echoed: it may carry a password.
		return usageErrorf("--redis-url (%s) has no scheme: write it as redis://host:6379[/db], or rediss://host:6380 for TLS", redisURLEnv)
	case scheme != "redis" && scheme != "rediss" && scheme != "unix":
		return usageErrorf("--redis-url (%s) must start with redis://, rediss:// (TLS) or unix://", redisURLEnv)
	}
	return nil
}

// open opens the store the flags name.
func (f *storeFlags) open(dataDir string) (*store.Store, error) {
	var st *store.Store
	var err error
	if f.redisURL == "" {
		st, err = store.OpenBolt(dataDir)
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		st, err = store.OpenRedis(ctx, store.RedisOptions{URL: f.redisURL, KeyPrefix: f.redisKeyPrefix})
	}
	if err != nil {
		return nil, f.explainOpenError(dataDir, err)
	}
	return st, nil
}

// explainOpenError says which store failed to open and which flag chooses it: the store's
// own words name neither the flag nor, for Redis, the address it tried.
func (f *storeFlags) explainOpenError(dataDir string, err error) error {
	if f.redisURL == "" {
		return fmt.Errorf("--data-dir %q: %w; "+
			"choose a writable directory with --data-dir (the default, ./idpgate-data, is relative to the working directory)", dataDir, err)
	}
	if errors.Is(err, store.ErrUnavailable) {
		return fmt.Errorf("the Redis server at %s (--redis-url, %s) did not answer: %w; check that it runs and that the address, "+
			"user and password are right", f.redisAddress(), redisURLEnv, err)
	}
	return fmt.Errorf("--redis-url (%s): %w", redisURLEnv, err)
}

// redisAddress is the host:port of --redis-url, never its user or password.
func (f *storeFlags) redisAddress() string {
	u, err := url.Parse(f.redisURL)
	if err != nil || u.Host == "" {
		return "the --redis-url address"
	}
	return u.Host
}

// describe names the store for a log line, without the Redis URL's password.
func (f *storeFlags) describe(dataDir string) string {
	if f.redisURL == "" {
		return "bbolt " + dataDir
	}
	u, err := url.Parse(f.redisURL)
	if err != nil {
		return "redis"
	}
	return "redis " + u.Redacted() + " prefix " + f.redisKeyPrefix
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
