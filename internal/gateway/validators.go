package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

// ValidatorFactoryOptions configures a ValidatorFactory. Every field is optional.
type ValidatorFactoryOptions struct {
	// HTTPClient fetches JWKS documents and calls introspection endpoints; nil means a client
	// with its own transport and timeouts.
	HTTPClient *http.Client
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
	// cache (entries); zero means 16384.
	TokenCacheSize int
}

// ValidatorFactory builds TokenValidators for APIs and owns state that must outlive config
// snapshots: JWKS caches keyed by jwks_uri, the verified-token cache, the introspection cache.
// It is safe for concurrent use.
type ValidatorFactory struct {
	client         *http.Client
	log            *slog.Logger
	now            func() time.Time
	minRefetch     time.Duration
	tokenCacheTTL  time.Duration
	verified       *tokenCache // nil when disabled
	introspected   *tokenCache
	introspections singleflight.Group
	jwksFetches    *prometheus.CounterVec
	introspectReqs *prometheus.CounterVec
	ctx            context.Context
	cancel         context.CancelFunc

	mu   sync.Mutex
	jwks map[string]*jwksCache
}

// NewValidatorFactory returns a factory; call Close when done with it.
func NewValidatorFactory(opts ValidatorFactoryOptions) *ValidatorFactory {
	f := &ValidatorFactory{
		client:        opts.HTTPClient,
		log:           opts.Logger,
		now:           opts.Now,
		minRefetch:    opts.JWKSMinRefetchInterval,
		tokenCacheTTL: opts.TokenCacheTTL,
		jwks:          make(map[string]*jwksCache),
	}
	if f.client == nil {
		f.client = validatorDefaultHTTPClient()
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
		f.tokenCacheTTL = tokenCacheDefaultTTL
	}
	if f.tokenCacheTTL > 0 {
		f.verified = newTokenCache(opts.TokenCacheSize)
	}
	f.introspected = newTokenCache(opts.TokenCacheSize)
	f.jwksFetches = validatorCounter(opts.Registerer, f.log, "idpgate_jwks_fetches_total",
		"JWKS documents fetched from identity providers, by result.", "success", "error")
	f.introspectReqs = validatorCounter(opts.Registerer, f.log, "idpgate_introspection_requests_total",
		"RFC 7662 introspection requests sent, by result.", "active", "inactive", "error")
	f.ctx, f.cancel = context.WithCancel(context.Background())
	return f
}

// Close stops background JWKS fetches and in-flight introspection calls. Validators keep
// answering from what is cached.
func (f *ValidatorFactory) Close() { f.cancel() }

// ForAPI returns the validator for api's jwt or introspection section, or an error naming
// the field when the configuration is not acceptable. It does not wait for the network: a
// JWT validator's JWKS is prefetched in the background.
func (f *ValidatorFactory) ForAPI(api adminapi.API) (TokenValidator, error) {
	switch {
	case api.JWT != nil && api.Introspection != nil:
		return nil, errors.New("jwt, introspection: set only one of them")
	case api.JWT != nil:
		v, err := f.newJWTValidator(*api.JWT)
		if err != nil {
			return nil, err // not a typed nil inside the interface
		}
		return v, nil
	case api.Introspection != nil:
		v, err := f.newIntrospectValidator(*api.Introspection)
		if err != nil {
			return nil, err
		}
		return v, nil
	default:
		return nil, errors.New("jwt, introspection: one of them is required")
	}
}

// validatorAllowedAlgs are the JWS algorithms an API may allow: asymmetric only, so that a
// public key can never double as an HMAC secret, and never "none".
var validatorAllowedAlgs = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA,
}

const (
	validatorDefaultLeeway = 30 * time.Second
	validatorMaxLeeway     = 5 * time.Minute
)

func (f *ValidatorFactory) newJWTValidator(cfg adminapi.JWTValidation) (*jwtValidator, error) {
	if strings.TrimSpace(cfg.Issuer) == "" {
		return nil, errors.New("jwt.issuer: required")
	}
	if err := validatorCheckURL(cfg.JWKSURI); err != nil {
		return nil, fmt.Errorf("jwt.jwks_uri: %w", err)
	}
	algs := []jose.SignatureAlgorithm{jose.RS256}
	if len(cfg.AllowedAlgorithms) > 0 {
		algs = algs[:0]
		for _, name := range cfg.AllowedAlgorithms {
			alg := jose.SignatureAlgorithm(name)
			if !slices.Contains(validatorAllowedAlgs, alg) {
				return nil, fmt.Errorf("jwt.allowed_algorithms: %q is not allowed; use asymmetric algorithms only (%s)", name, validatorAlgNames())
			}
			if !slices.Contains(algs, alg) {
				algs = append(algs, alg)
			}
		}
	}
	leeway := cfg.Leeway.D()
	switch {
	case leeway < 0 || leeway > validatorMaxLeeway:
		return nil, fmt.Errorf("jwt.leeway: %s is outside 0s..%s", leeway, validatorMaxLeeway)
	case leeway == 0:
		leeway = validatorDefaultLeeway
	}
	v := &jwtValidator{
		issuer:         cfg.Issuer,
		audiences:      slices.Clone(cfg.Audiences),
		algs:           algs,
		leeway:         leeway,
		names:          validatorClaimNames(cfg.IdentityClaim, cfg.ClientIDClaim, cfg.PolicyClaim),
		requiredScopes: slices.Clone(cfg.RequiredScopes),
		keys:           f.jwksFor(cfg.JWKSURI),
		cache:          f.verified,
		cacheTTL:       f.tokenCacheTTL,
		now:            f.now,
	}
	// The fingerprint covers everything that decides acceptance or the identity, so a cached
	// entry is only ever reused under the exact configuration that produced it.
	v.fingerprint = validatorFingerprint("jwt", struct {
		Issuer, JWKSURI string
		Audiences       []string
		Algs            []jose.SignatureAlgorithm
		Leeway          time.Duration
		Names           [3]string
	}{cfg.Issuer, cfg.JWKSURI, v.audiences, algs, leeway, v.names.array()})
	v.keys.prefetch()
	return v, nil
}

func (f *ValidatorFactory) newIntrospectValidator(cfg adminapi.Introspection) (*introspectValidator, error) {
	if err := validatorCheckURL(cfg.Endpoint); err != nil {
		return nil, fmt.Errorf("introspection.endpoint: %w", err)
	}
	if cfg.ClientID == "" {
		return nil, errors.New("introspection.client_id: required")
	}
	ttl := introspectDefaultCacheTTL
	if cfg.CacheTTL != nil {
		ttl = cfg.CacheTTL.D()
	}
	if ttl < 0 || ttl > introspectMaxCacheTTL {
		return nil, fmt.Errorf("introspection.cache_ttl: %s is outside 0s..%s", ttl, introspectMaxCacheTTL)
	}
	noRedirects := *f.client
	noRedirects.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	v := &introspectValidator{
		endpoint:       cfg.Endpoint,
		clientID:       cfg.ClientID,
		clientSecret:   cfg.ClientSecret,
		names:          validatorClaimNames(cfg.IdentityClaim, cfg.ClientIDClaim, cfg.PolicyClaim),
		requiredScopes: slices.Clone(cfg.RequiredScopes),
		cacheTTL:       ttl,
		group:          &f.introspections,
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
	v.fingerprint = validatorFingerprint("introspection", struct {
		Endpoint, ClientID string
		Secret             [sha256.Size]byte
		Names              [3]string
		TTL                time.Duration
	}{cfg.Endpoint, cfg.ClientID, sha256.Sum256([]byte(cfg.ClientSecret)), v.names.array(), ttl})
	return v, nil
}

// jwksFor returns the shared cache of one jwks_uri, creating it on first use.
func (f *ValidatorFactory) jwksFor(uri string) *jwksCache {
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

func validatorCheckURL(raw string) error {
	if raw == "" {
		return errors.New("required")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", raw)
	}
	return nil
}

func validatorAlgNames() string {
	names := make([]string, len(validatorAllowedAlgs))
	for i, a := range validatorAllowedAlgs {
		names[i] = string(a)
	}
	return strings.Join(names, ", ")
}

func validatorFingerprint(kind string, cfg any) [sha256.Size]byte {
	b, err := json.Marshal(cfg)
	if err != nil {
		panic("gateway: validator fingerprint: " + err.Error()) // plain structs of strings and numbers
	}
	return sha256.Sum256(append([]byte(kind+"\x00"), b...))
}

func validatorDefaultHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = 10 * time.Second
	t.MaxIdleConnsPerHost = 32
	return &http.Client{Transport: t, Timeout: 15 * time.Second}
}

// validatorCounter registers a counter vector, or reuses the one already registered under
// the same name (several factories in one process, as in tests).
func validatorCounter(reg prometheus.Registerer, log *slog.Logger, name, help string, results ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{"result"})
	if reg != nil {
		if err := reg.Register(c); err != nil {
			if existing, ok := validatorExisting(err); ok {
				c = existing
			} else {
				log.Warn("metric not registered", "metric", name, "error", err)
			}
		}
	}
	for _, r := range results {
		c.WithLabelValues(r) // export zeros
	}
	return c
}

func validatorExisting(err error) (*prometheus.CounterVec, bool) {
	var already prometheus.AlreadyRegisteredError
	if !errors.As(err, &already) {
		return nil, false
	}
	c, ok := already.ExistingCollector.(*prometheus.CounterVec)
	return c, ok
}

// tokenClaimNames says which claims carry an API's identity fields.
type tokenClaimNames struct {
	identity string
	// clientID is empty for the default order client_id, cid, azp.
	clientID string
	policy   string
}

func validatorClaimNames(identity, clientID, policy string) tokenClaimNames {
	n := tokenClaimNames{identity: identity, clientID: clientID, policy: policy}
	if n.identity == "" {
		n.identity = "sub"
	}
	if n.policy == "" {
		n.policy = "pol"
	}
	return n
}

func (n tokenClaimNames) array() [3]string { return [3]string{n.identity, n.clientID, n.policy} }

// tokenIdentityFromClaims maps verified claims (a JWT payload or an introspection answer)
// to an Identity; the caller sets IssuedAt and ExpiresAt.
func tokenIdentityFromClaims(claims map[string]any, n tokenClaimNames) *Identity {
	id := &Identity{Claims: claims}
	id.Subject, _ = claims[n.identity].(string)
	if n.clientID != "" {
		id.ClientID, _ = claims[n.clientID].(string)
	} else {
		for _, name := range [...]string{"client_id", "cid", "azp"} {
			if s, _ := claims[name].(string); s != "" {
				id.ClientID = s
				break
			}
		}
	}
	if s, ok := claims["scope"].(string); ok {
		id.Scopes = strings.Fields(s)
	} else {
		switch scp := claims["scp"].(type) {
		case string:
			id.Scopes = strings.Fields(scp)
		case []any:
			id.Scopes = tokenStringValues(scp)
		}
	}
	if cnf, present := claims["cnf"]; present {
		id.Confirmation, _ = cnf.(map[string]any)
		if id.Confirmation == nil {
			id.Confirmation = map[string]any{} // still bound; never taken as Bearer
		}
	}
	switch pol := claims[n.policy].(type) {
	case string:
		if pol != "" {
			id.Policies = []string{pol}
		}
	case []any:
		id.Policies = tokenStringValues(pol)
	}
	return id
}

// tokenStringValues keeps the non-empty strings of a JSON array.
func tokenStringValues(values []any) []string {
	out := make([]string, 0, len(values))
	for _, v := range values {
		if s, ok := v.(string); ok && s != "" {
			out = append(out, s)
		}
	}
	return out
}

func tokenCheckScopes(id *Identity, required []string) (*Identity, error) {
	for _, s := range required {
		if !id.HasScope(s) {
			return nil, &TokenError{
				Code:        tokenCodeInsufficientScope,
				Description: "The access token lacks a scope this API requires.",
				Reason:      "missing scope " + s,
			}
		}
	}
	return id, nil
}

// RFC 6750 §3.1 error codes, plus temporarily_unavailable (answered with 503).
const (
	tokenCodeInvalid           = "invalid_token"
	tokenCodeInsufficientScope = "insufficient_scope"
	tokenCodeUnavailable       = "temporarily_unavailable"
)

// tokenInvalid refuses a token; reason is for logs only (it may say why a signature failed).
func tokenInvalid(reason string) *TokenError {
	return &TokenError{Code: tokenCodeInvalid, Description: "The access token is invalid.", Reason: reason}
}

func tokenExpired() *TokenError {
	return &TokenError{Code: tokenCodeInvalid, Description: "The access token expired.", Reason: "token expired"}
}

func tokenUnavailable(reason string) *TokenError {
	return &TokenError{Code: tokenCodeUnavailable, Description: "The token issuer cannot be reached; retry later.", Reason: reason}
}
