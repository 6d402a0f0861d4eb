package main

import (
	"context"
	"flag"
	"net/url"
	"os"
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

// open opens the store the flags name.
func (f *storeFlags) open(dataDir string) (*store.Store, error) {
	if f.redisURL == "" {
		return store.OpenBolt(dataDir)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return store.OpenRedis(ctx, store.RedisOptions{URL: f.redisURL, KeyPrefix: f.redisKeyPrefix})
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
