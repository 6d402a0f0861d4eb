package gateway

import (
	"context"
	"errors"
	"fmt"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/accesslog"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/limits"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/metrics"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/admin"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/config"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/request"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/store"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/tracing"
)

// Behaviour worth knowing, decided here:
//
//   - Listeners: ProxyHandler reserves the decision path (/_idpgate/decide and below) and
//     RFC 9728's /.well-known/oauth-protected-resource and below (request/resource.go);
//     /healthz, /readyz and /metrics are served by AdminHandler, unauthenticated; /v1/...
//     needs the admin token.
//   - Upstream requests keep the client's Authorization header (as Tyk and Kong do by
//     default) and always carry X-Idpgate-Subject, -Client-Id, -Scope and -Policy plus the
//     API's forward_claims; request/header_rules.go says how a client's own spellings of
//     them are kept away, and request/path_rules.go which request paths are refused.
//   - A token with a cnf claim is checked against its binding (request/sender_constraint.go): a DPoP
//     proof for cnf.jkt, the TLS client certificate for cnf x5t#S256; never as plain Bearer.
//   - Per client address, refused tokens are limited before any token check
//     (limits.FailedAuth), per replica and in memory. The DPoP replay cache is in Redis when
//     the store is (limits/dpop_replay_redis.go), so a proof is used once across replicas.
//   - Rate limits (token bucket) and quotas (fixed window) count per client id (the subject
//     when the token has none) and policy: in memory with the bbolt store (a restart starts
//     from zero), in Redis with the Redis store (limits/limits_redis.go: shared by every replica).
//   - With Redis, a replica that loses Redis keeps serving its last snapshot, /readyz stays
//     200 with "status":"degraded" (taking every replica out of the load balancer at once
//     would turn a Redis outage into a total one), admin calls answer 503, and limits follow
//     Options.LimitsFallback. A change is picked up from pub/sub, or by the version poll
//     within store.PollInterval.
//   - An admin write is answered once the snapshot serves it: its change is applied to the
//     current snapshot (config.Live: config/snapshot_change.go, config/snapshot_publish.go),
//     not by reloading the store; the whole store is read at start, after another replica's
//     change, and when a change cannot be put in order. A reload that fails turns the write's answer into a 500.
//   - Deleting an API that a policy still grants is refused with 409 naming the policies
//     (Terraform destroys the policy first); a policy granting an unknown API is a 409 on
//     access_rights[i].api_id.
//   - When several policies bound to a token grant the request, the first in order (client
//     id bindings, then the policy claim's values; each by policy id) applies its limits.

// Options configure a Gateway.
type Options struct {
	// DataDir holds the bbolt store (store.DBFileName); created if missing. Unused with
	// RedisURL.
	DataDir string
	// RedisURL, when set, makes Redis the store of record and the place where rate limits
	// and quotas are counted, shared by every replica on the same Redis and key prefix
	// (store.RedisOptions.URL says which URLs work).
	RedisURL string
	// RedisKeyPrefix starts every Redis key; "" means store.DefaultKeyPrefix.
	RedisKeyPrefix string
	// LimitsFallback is what rate limits, quotas and the DPoP replay cache do while Redis is
	// unreachable:
	// limits.FallbackLocal (the default) or limits.FallbackDeny.
	LimitsFallback limits.Fallback
	// AdminToken authenticates every admin API call. Required.
	AdminToken string
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// HTTPClient is used for JWKS and introspection requests; nil means the validator
	// factory's default.
	HTTPClient *http.Client
	// Registerer receives the gateway's metrics; nil gives the gateway a registry of its own,
	// served at /metrics. A Registerer that is also a prometheus.Gatherer (such as
	// *prometheus.Registry) is served at /metrics too.
	Registerer prometheus.Registerer
	// DecisionPath is where the proxy listener answers forward-auth requests (request/decision.go);
	// empty means DefaultDecisionPath. It takes precedence over any API's listen path.
	DecisionPath string
	// RefusedTokenTTL is how long an introspected token answered inactive or expired is
	// refused without asking again; zero means 10s, negative turns it off.
	RefusedTokenTTL time.Duration
	// FailedAuthLimit bounds the refused tokens per client address (limits.FailedAuth); the
	// zero value means limits.DefaultFailedAuthLimit.
	FailedAuthLimit limits.FailedAuthLimit
	// ClientCertHeader names the header in which a trusted proxy that terminates TLS passes
	// the client's certificate (URL-escaped PEM as nginx's $ssl_client_escaped_cert, or
	// base64 DER as Traefik's passTLSClientCert), for certificate-bound tokens; "" means none.
	ClientCertHeader string
	// AccessLog receives one JSON line per proxy-listener request (internal/gateway/accesslog); nil means
	// no access log.
	AccessLog io.Writer
	// TrustedProxies are the addresses whose X-Forwarded-* / X-Original-* headers a decision
	// request may use to name the request it is about; nil means DefaultTrustedProxies.
	TrustedProxies []netip.Prefix
	// AllowLinkLocalTargets lets upstreams, JWKS URIs and introspection endpoints be at
	// link-local addresses (request/targets.go); by default the admin API refuses them and the
	// gateway never dials one.
	AllowLinkLocalTargets bool
	// Tracing, when set, turns OpenTelemetry tracing on (tracing.go): spans for each request
	// on the proxy listener, W3C trace context to the upstream and the IdP, trace_id in the
	// access log. nil is tracing off. Its metrics join the gateway's registry; the caller
	// shuts it down after Close.
	Tracing *tracing.Provider
}

// DefaultDecisionPath and DefaultTrustedProxies are the request path's defaults
// (internal/gateway/request) for Options.DecisionPath and Options.TrustedProxies.
const DefaultDecisionPath = request.DefaultDecisionPath

var DefaultTrustedProxies = request.DefaultTrustedProxies

// Gateway is the assembled data plane and admin API.
type Gateway struct {
	log        *slog.Logger
	store      *store.Store
	metrics    *metrics.Metrics
	limits     limits.Counter
	transport  *http.Transport
	validators config.ValidatorSource
	// now is the request path's clock, read on every call (tests set it).
	now func() time.Time

	// config is the configuration served, and how admin writes and other replicas' changes
	// reach it (internal/gateway/config).
	config *config.Live
	// upstreams builds each route's reverse proxy, requests is the request path
	// (internal/gateway/request).
	upstreams *request.Upstreams
	requests  *request.Checker

	accessLog *accesslog.Log  // nil when off (neither an access log nor tracing)
	tracer    *tracing.Tracer // nil when tracing is off

	proxyHandler http.Handler
	adminHandler http.Handler
	stopWatch    context.CancelFunc
	watching     sync.WaitGroup
	closeOnce    sync.Once
}

// New opens the store (Redis when opts.RedisURL is set, else the bbolt file under
// opts.DataDir), loads the first snapshot and returns a Gateway ready to serve. Close
// releases the store.
func New(opts Options) (*Gateway, error) {
	if err := checkOptions(opts); err != nil {
		return nil, err
	}
	m, reg, err := metrics.New(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("registering metrics: %w", err)
	}
	if opts.Tracing != nil {
		for _, c := range opts.Tracing.Collectors() {
			metrics.Register(reg, c, &err)
		}
		if err != nil {
			return nil, fmt.Errorf("registering metrics: %w", err)
		}
	}
	src, err := buildValidatorFactory(opts, reg)
	if err != nil {
		return nil, err
	}
	return newGateway(opts, m, src)
}

func checkOptions(opts Options) error {
	if p := opts.DecisionPath; p != "" && (!strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || strings.ContainsAny(p, "?#%")) {
		return fmt.Errorf("gateway: Options.DecisionPath %q must be a path such as %s, without a trailing /", p, DefaultDecisionPath)
	}
	if opts.DataDir == "" && opts.RedisURL == "" {
		return errors.New("gateway: Options.DataDir or Options.RedisURL is required")
	}
	if _, err := limits.ParseFallback(string(opts.LimitsFallback)); err != nil {
		return fmt.Errorf("gateway: Options.LimitsFallback: %w", err)
	}
	if opts.AdminToken == "" {
		return errors.New("gateway: Options.AdminToken is required")
	}
	return nil
}

// newGateway assembles a gateway around a validator source (tests pass a fake one).
func newGateway(opts Options, m *metrics.Metrics, src config.ValidatorSource) (*Gateway, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	st, err := openStore(opts, log)
	if err != nil {
		src.Close()
		return nil, err
	}
	g := &Gateway{
		log: log, store: st, metrics: m,
		limits: limits.New(st, opts.LimitsFallback, m.LimitsFallback, log), transport: request.NewTransport(request.NewDialer(opts.AllowLinkLocalTargets)),
		validators: src, now: time.Now,
		tracer: newTracer(opts),
	}
	m.WatchStore(st)
	m.Requests.WithLabelValues("", metrics.NoRoute.String()) // exported from the start, as 0
	g.upstreams = &request.Upstreams{Transport: g.tracer.Transport(g.transport), Tracer: g.tracer, Log: log, BufferPool: request.NewBufferPool()}
	builder := &config.Builder{Validators: src, Log: log, ReverseProxy: g.upstreams.ReverseProxy,
		Metrics: m}
	g.config, err = config.NewLive(st, builder, log)
	if err != nil {
		_ = g.Close() // the load error is the one to report
		return nil, fmt.Errorf("loading configuration from the store: %w", err)
	}

	rdb, prefix := st.Redis()
	g.requests = request.New(request.Options{Config: g.config, Metrics: m, Limits: g.limits,
		FailedAuth: limits.NewFailedAuth(opts.FailedAuthLimit),
		DPoP:       token.NewDPoPChecker(nil, limits.NewReplayStore(rdb, prefix, opts.LimitsFallback)),
		Tracer:     g.tracer, Log: log, Now: func() time.Time { return g.now() },
		DecisionPath: opts.DecisionPath, TrustedProxies: opts.TrustedProxies, ClientCertHeader: opts.ClientCertHeader,
		AllowLinkLocal: opts.AllowLinkLocalTargets})
	serve := g.requests.Serve
	g.proxyHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { serve(w, r, nil) })
	if g.accessLog = accesslog.New(opts.AccessLog, g.tracer); g.accessLog != nil {
		g.proxyHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { g.accessLog.Serve(w, r, serve) })
	}
	g.adminHandler = admin.New(admin.Options{Token: opts.AdminToken, Store: st, Config: g.config, Log: log,
		Gatherer: m.Gatherer, CheckAPI: g.requests.CheckPlacement, Decider: g.requests})

	ctx, cancel := context.WithCancel(context.Background())
	g.stopWatch = cancel
	g.watching.Go(func() {
		st.Watch(ctx, g.config.Version, g.config.CatchUp) // CatchUp logs and counts its failures
	})
	return g, nil
}

// ErrOpeningStore wraps every error of opening the store, so a command can name the flag that
// chose it.
var ErrOpeningStore = errors.New("opening the configuration store")

func openStore(opts Options, log *slog.Logger) (st *store.Store, err error) {
	if opts.RedisURL == "" {
		st, err = store.OpenBolt(opts.DataDir)
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		st, err = store.OpenRedis(ctx, store.RedisOptions{URL: opts.RedisURL, KeyPrefix: opts.RedisKeyPrefix, Logger: log})
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrOpeningStore, err)
	}
	return st, nil
}

// ProxyHandler is the data plane: the decision endpoint (DecisionPath and below it), and every
// other path matched against the protected APIs' listen paths. Health and metrics live on
// AdminHandler.
func (g *Gateway) ProxyHandler() http.Handler { return g.proxyHandler }

// AdminHandler serves the admin API (/v1/..., admin token required) and the unauthenticated
// /healthz, /readyz and /metrics.
func (g *Gateway) AdminHandler() http.Handler { return g.adminHandler }

// Close releases the validators, idle upstream connections and the store. In-flight proxy
// requests should be drained (http.Server.Shutdown) first.
func (g *Gateway) Close() error {
	var err error
	g.closeOnce.Do(func() {
		if g.stopWatch != nil {
			g.stopWatch()
			g.watching.Wait()
		}
		if rl, ok := g.limits.(*limits.Redis); ok {
			rl.Close()
		}
		g.validators.Close()
		g.transport.CloseIdleConnections()
		g.accessLog.Close()
		err = g.store.Close()
	})
	return err
}
