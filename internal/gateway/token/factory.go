package token

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

// FactoryOptions configures a Factory. Every field is optional.
type FactoryOptions struct {
	// HTTPClient fetches JWKS documents and calls introspection endpoints; nil means a client
	// with its own transport and timeouts.
	HTTPClient *http.Client
	// DialContext, when HTTPClient is nil, opens the connections of the factory's own client
	// (the gateway's refuses link-local addresses); nil means the default dialer's.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// Registerer receives idpgate_jwks_fetches_total{result} and
	// idpgate_introspection_requests_total{result}; nil means not registered.
	Registerer prometheus.Registerer
	// Logger may be nil (no logs).
	Logger *slog.Logger
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time

	// JWKSMinRefetchInterval is the least time between two fetches of one JWKS, whatever
	// triggers them (an unknown kid, the periodic refresh); zero means 10s.
	JWKSMinRefetchInterval time.Duration
	// TokenCacheTTL bounds how long a verified JWT is reused without checking its signature
	// again (never past its exp); zero means 5m, negative disables the cache.
	TokenCacheTTL time.Duration
	// TokenCacheSize bounds the verified-token cache and, separately, the introspection
	// cache and the cache of refused introspected tokens (entries); zero means 16384.
	TokenCacheSize int
	// RefusedTokenTTL is how long a token the introspection endpoint called inactive (or
	// whose answer had expired) is refused without asking again; zero means 10s, negative
	// disables it.
	RefusedTokenTTL time.Duration
}

// refusedTokenDefaultTTL is short: a token refused now will not become active (RFC 7662
// tokens are not reactivated), but an IdP that answered wrongly should not be quoted long.
const refusedTokenDefaultTTL = 10 * time.Second

// Factory builds Validators for APIs and owns state that must outlive config snapshots:
// JWKS caches keyed by jwks_uri, the verified-token cache, the introspection cache.
// It is safe for concurrent use.
type Factory struct {
	client        *http.Client
	log           *slog.Logger
	now           func() time.Time
	minRefetch    time.Duration
	tokenCacheTTL time.Duration
	verified      *cache // nil when disabled
	introspected  *cache
	// refused holds introspected tokens answered inactive or expired, for refusedTTL; nil
	// when disabled.
	refused        *cache
	refusedTTL     time.Duration
	refusedHits    *prometheus.CounterVec
	introspections singleflight.Group
	jwksFetches    *prometheus.CounterVec
	introspectReqs *prometheus.CounterVec
	ctx            context.Context
	cancel         context.CancelFunc

	mu   sync.Mutex
	jwks map[string]*jwksCache
}

// NewFactory returns a factory; call Close when done with it.
func NewFactory(opts FactoryOptions) *Factory {
	f := &Factory{
		client:        opts.HTTPClient,
		log:           opts.Logger,
		now:           opts.Now,
		minRefetch:    opts.JWKSMinRefetchInterval,
		tokenCacheTTL: opts.TokenCacheTTL,
		jwks:          make(map[string]*jwksCache),
	}
	if f.client == nil {
		f.client = defaultHTTPClient(opts.DialContext)
	}
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	if f.now == nil {
		f.now = time.Now
	}
	if f.minRefetch <= 0 {
		f.minRefetch = jwksDefaultMinRefetch
	}
	if f.tokenCacheTTL == 0 {
		f.tokenCacheTTL = cacheDefaultTTL
	}
	if f.tokenCacheTTL > 0 {
		f.verified = newCache(opts.TokenCacheSize)
	}
	f.introspected = newCache(opts.TokenCacheSize)
	f.refusedTTL = opts.RefusedTokenTTL
	if f.refusedTTL == 0 {
		f.refusedTTL = refusedTokenDefaultTTL
	}
	if f.refusedTTL > 0 {
		f.refused = newCache(opts.TokenCacheSize)
	}
	f.jwksFetches = counterVec(opts.Registerer, f.log, "idpgate_jwks_fetches_total",
		"JWKS documents fetched from identity providers, by result.", "success", "error")
	f.introspectReqs = counterVec(opts.Registerer, f.log, "idpgate_introspection_requests_total",
		"RFC 7662 introspection requests sent, by result.", "active", "inactive", "error")
	f.refusedHits = counterVec(opts.Registerer, f.log, "idpgate_introspection_refused_cache_total",
		"Introspected tokens refused again from the cache of inactive or expired answers, without asking the IdP.",
		"hit")
	f.ctx, f.cancel = context.WithCancel(context.Background())
	return f
}

// Close stops background JWKS fetches and in-flight introspection calls. Validators keep
// answering from what is cached.
func (f *Factory) Close() { f.cancel() }

// ForAPI returns the validator for api's jwt or introspection section, or an error naming
// the field when the configuration is not acceptable. It does not wait for the network: a
// JWT validator's JWKS is prefetched in the background.
func (f *Factory) ForAPI(api adminapi.API) (Validator, error) {
	switch {
	case api.JWT != nil && api.Introspection != nil:
		return nil, errors.New("jwt, introspection: set only one of them")
	case api.JWT != nil:
		v, err := f.newJWTValidator(*api.JWT, api.ResourceAudience())
		if err != nil {
			return nil, err // not a typed nil inside the interface
		}
		return v, nil
	case api.Introspection != nil:
		v, err := f.newIntrospectionValidator(*api.Introspection, api.ResourceAudience())
		if err != nil {
			return nil, err
		}
		return v, nil
	default:
		return nil, errors.New("jwt, introspection: one of them is required")
	}
}

// resource, when set, must be in the token's aud besides one of cfg.Audiences (RFC 8707: the
// API's adminapi.API.ResourceAudience).
func (f *Factory) newJWTValidator(cfg adminapi.JWTValidation, resource string) (*jwtValidator, error) {
	if strings.TrimSpace(cfg.Issuer) == "" {
		return nil, errors.New("jwt.issuer: required")
	}
	if err := checkURL(cfg.JWKSURI); err != nil {
		return nil, fmt.Errorf("jwt.jwks_uri: %w", err)
	}
	algs := slices.Clone(defaultAlgs)
	if len(cfg.AllowedAlgorithms) > 0 {
		algs = algs[:0]
		for _, name := range cfg.AllowedAlgorithms {
			alg := jose.SignatureAlgorithm(name)
			if !slices.Contains(allowedAlgs, alg) {
				return nil, fmt.Errorf("jwt.allowed_algorithms: %q is not allowed; use asymmetric algorithms only (%s)", name, allowedAlgNames())
			}
			if !slices.Contains(algs, alg) {
				algs = append(algs, alg)
			}
		}
	}
	leeway := adminapi.DefaultLeeway
	if cfg.Leeway != nil {
		leeway = cfg.Leeway.D() // 0s is no leeway at all
	}
	if leeway < 0 || leeway > adminapi.MaxLeeway {
		return nil, fmt.Errorf("jwt.leeway: %s is outside 0s..%s", leeway, adminapi.MaxLeeway)
	}
	v := &jwtValidator{
		issuer:         cfg.Issuer,
		audiences:      slices.Clone(cfg.Audiences),
		resource:       resource,
		algs:           algs,
		leeway:         leeway,
		names:          newClaimNames(cfg.IdentityClaim, cfg.ClientIDClaim, cfg.PolicyClaim),
		requiredScopes: slices.Clip(slices.Clone(cfg.RequiredScopes)),
		keys:           f.jwksFor(cfg.JWKSURI),
		cache:          f.verified,
		cacheTTL:       f.tokenCacheTTL,
		now:            f.now,
	}
	// The fingerprint covers everything that decides acceptance or the identity, so a cached
	// entry is only ever reused under the exact configuration that produced it.
	v.fingerprint = fingerprint("jwt", struct {
		Issuer, JWKSURI string
		Audiences       []string
		Resource        string
		Algs            []jose.SignatureAlgorithm
		Leeway          time.Duration
		Names           [3]string
	}{cfg.Issuer, cfg.JWKSURI, v.audiences, resource, algs, leeway, v.names.array()})
	v.keys.prefetch()
	return v, nil
}

// resource, when set, must be in the answer's aud (RFC 8707).
func (f *Factory) newIntrospectionValidator(cfg adminapi.Introspection, resource string) (*introspectionValidator, error) {
	if err := checkURL(cfg.Endpoint); err != nil {
		return nil, fmt.Errorf("introspection.endpoint: %w", err)
	}
	if cfg.ClientID == "" {
		return nil, errors.New("introspection.client_id: required")
	}
	ttl := adminapi.DefaultIntrospectionCacheTTL
	if cfg.CacheTTL != nil {
		ttl = cfg.CacheTTL.D()
	}
	if ttl < 0 || ttl > adminapi.MaxCacheTTL {
		return nil, fmt.Errorf("introspection.cache_ttl: %s is outside 0s..%s", ttl, adminapi.MaxCacheTTL)
	}
	noRedirects := *f.client
	noRedirects.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	v := &introspectionValidator{
		endpoint:       cfg.Endpoint,
		clientID:       cfg.ClientID,
		clientSecret:   cfg.ClientSecret,
		names:          newClaimNames(cfg.IdentityClaim, cfg.ClientIDClaim, cfg.PolicyClaim),
		requiredScopes: slices.Clip(slices.Clone(cfg.RequiredScopes)),
		resource:       resource,
		cacheTTL:       ttl,
		group:          &f.introspections,
		refused:        f.refused,
		refusedTTL:     f.refusedTTL,
		refusedHits:    f.refusedHits,
		client:         &noRedirects,
		requests:       f.introspectReqs,
		baseCtx:        f.ctx,
		now:            f.now,
		log:            f.log,
	}
	if ttl > 0 {
		v.cache = f.introspected
	}
	// Keyed by endpoint and client (an IdP may answer differently per resource server), the
	// claim mapping and the TTL; the secret only by hash, so a changed secret starts afresh.
	v.fingerprint = fingerprint("introspection", struct {
		Endpoint, ClientID string
		Secret             [sha256.Size]byte
		Names              [3]string
		TTL                time.Duration
		Resource           string
	}{cfg.Endpoint, cfg.ClientID, sha256.Sum256([]byte(cfg.ClientSecret)), v.names.array(), ttl, resource})
	return v, nil
}

// Retain drops the JWKS caches of every jwks_uri that none of apis uses any more, so that a
// gateway whose APIs change over months does not keep (and refresh) keys nobody asks for.
// Validators built earlier for a dropped URI keep working with the keys they hold.
func (f *Factory) Retain(apis []adminapi.API) {
	used := make(map[string]bool, len(apis))
	for _, api := range apis {
		if api.JWT != nil {
			used[api.JWT.JWKSURI] = true
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for uri := range f.jwks {
		if !used[uri] {
			delete(f.jwks, uri)
		}
	}
}

// jwksCaches is how many jwks_uri caches the factory holds.
func (f *Factory) jwksCaches() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.jwks)
}

// jwksFor returns the shared cache of one jwks_uri, creating it on first use.
func (f *Factory) jwksFor(uri string) *jwksCache {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.jwks[uri]
	if !ok {
		c = newJWKSCache(uri, jwksCacheDeps{
			client:     f.client,
			now:        f.now,
			log:        f.log,
			fetches:    f.jwksFetches,
			minRefetch: f.minRefetch,
			baseCtx:    f.ctx,
		})
		f.jwks[uri] = c
	}
	return c
}

// checkURL is adminapi's URL rule, with "required" for an empty value as the factory's
// callers expect.
func checkURL(raw string) error {
	if raw == "" {
		return errors.New("required")
	}
	return adminapi.CheckHTTPURL(raw)
}

// fingerprint identifies a validator configuration in cache keys.
func fingerprint(kind string, cfg any) [sha256.Size]byte {
	b, err := json.Marshal(cfg)
	if err != nil {
		panic("token: validator fingerprint: " + err.Error()) // plain structs of strings and numbers
	}
	return sha256.Sum256(append([]byte(kind+"\x00"), b...))
}

func defaultHTTPClient(dial func(ctx context.Context, network, addr string) (net.Conn, error)) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	if dial != nil {
		t.DialContext = dial
	}
	t.ResponseHeaderTimeout = 10 * time.Second
	t.MaxIdleConnsPerHost = 32
	return &http.Client{Transport: t, Timeout: 15 * time.Second}
}
