package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/gateway"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/limits"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/tracing"
)

const (
	adminTokenEnv     = "IDPGATE_ADMIN_TOKEN"
	redisURLEnv       = "IDPGATE_REDIS_URL"
	redisKeyPrefixEnv = "IDPGATE_REDIS_KEY_PREFIX"
	redisFallbackEnv  = "IDPGATE_REDIS_LIMITS_FALLBACK"
	tracingEnv        = "IDPGATE_TRACING"

	// minAdminTokenLength is the shortest admin token serve accepts.
	minAdminTokenLength = 16
)

// serveConfig is `idpgate serve`'s command line.
type serveConfig struct {
	listen, adminListen, dataDir string
	storeFlags
	limitsFallback               string
	readHeaderTimeout            time.Duration
	readTimeout, writeTimeout    time.Duration
	idleTimeout, shutdownTimeout time.Duration
	logLevel                     slog.Level
	adminToken                   string
	decisionPath                 string
	trustedProxies               prefixList
	accessLog                    string
	failedAuthLimit              failedAuthLimitFlag
	refusedTokenTTL              time.Duration
	clientCertHeader             string
	allowLinkLocalTargets        bool
	tracing                      bool
	tls                          serveTLS
}

// defaultServeConfig is what `idpgate serve` runs with when no flag says otherwise.
func defaultServeConfig() serveConfig {
	return serveConfig{
		listen: "127.0.0.1:8080", adminListen: "127.0.0.1:8081", dataDir: "./idpgate-data",
		readHeaderTimeout: 10 * time.Second, readTimeout: 60 * time.Second, writeTimeout: 60 * time.Second,
		idleTimeout: 120 * time.Second, shutdownTimeout: 20 * time.Second, logLevel: slog.LevelInfo,
		decisionPath: gateway.DefaultDecisionPath, trustedProxies: gateway.DefaultTrustedProxies,
		accessLog: "stderr", failedAuthLimit: failedAuthLimitFlag(limits.DefaultFailedAuthLimit),
		refusedTokenTTL: 10 * time.Second,
	}
}

func parseServe(args []string, out io.Writer) (*serveConfig, error) {
	cfg := defaultServeConfig()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&cfg.listen, "listen", cfg.listen, "`address` of the proxy (data plane) listener")
	fs.StringVar(&cfg.adminListen, "admin-listen", cfg.adminListen, "`address` of the admin listener: admin API (/v1/...), /healthz, /readyz, /metrics")
	cfg.register(fs, &cfg.dataDir)
	fs.StringVar(&cfg.limitsFallback, "redis-limits-fallback", envOr(redisFallbackEnv, string(limits.FallbackLocal)),
		"with --redis-url, what rate limits and quotas do while Redis is unreachable: local (each replica counts on its own, "+
			"at the full limit) or deny (503) (env "+redisFallbackEnv+")")
	fs.DurationVar(&cfg.readHeaderTimeout, "read-header-timeout", cfg.readHeaderTimeout, "longest time to read a request's headers")
	fs.DurationVar(&cfg.readTimeout, "read-timeout", cfg.readTimeout, "longest time to read a whole request, body included (0: no limit)")
	fs.DurationVar(&cfg.writeTimeout, "write-timeout", cfg.writeTimeout, "longest time to write a response, upstream time included (0: no limit)")
	fs.DurationVar(&cfg.idleTimeout, "idle-timeout", cfg.idleTimeout, "how long an idle keep-alive connection is kept open")
	fs.DurationVar(&cfg.shutdownTimeout, "shutdown-timeout", cfg.shutdownTimeout, "on SIGTERM or SIGINT, how long in-flight requests may take to finish")
	fs.StringVar(&cfg.decisionPath, "decision-path", cfg.decisionPath, "`path` of the forward-auth decision endpoint on the proxy listener (it and every path below it)")
	fs.Var(&cfg.trustedProxies, "trusted-proxies", "comma-separated `CIDRs` of the edge proxies whose X-Forwarded-Method/-Uri and X-Original-Method/-URI a decision request may use")
	fs.Var(&cfg.failedAuthLimit, "failed-auth-limit", "refused tokens one client address may present, as `N/duration` (a bucket of N refilled at N per duration), before its requests get 429 without a token check; off to disable")
	fs.DurationVar(&cfg.refusedTokenTTL, "refused-token-ttl", cfg.refusedTokenTTL, "how long a token the introspection endpoint called inactive is refused without asking again (0: ask every time)")
	fs.StringVar(&cfg.clientCertHeader, "client-cert-header", "", "`header` in which a proxy in -trusted-proxies that terminates TLS passes the client certificate (nginx's $ssl_client_escaped_cert, Traefik's passTLSClientCert), for certificate-bound tokens")
	fs.BoolVar(&cfg.allowLinkLocalTargets, "allow-link-local-targets", false, "let upstreams, JWKS URIs and introspection endpoints be at link-local addresses (169.254.0.0/16, fe80::/10, where clouds serve instance metadata); refused by default, in the admin API and when dialling")
	fs.StringVar(&cfg.accessLog, "access-log", cfg.accessLog, "where the JSON access log goes: stderr, off, or a `file` (appended to)")
	tracingDefault, err := strconv.ParseBool(envOr(tracingEnv, "false"))
	if err != nil {
		return nil, usageErrorf("%s=%q: true or false", tracingEnv, os.Getenv(tracingEnv))
	}
	fs.BoolVar(&cfg.tracing, "tracing", tracingDefault, "export OpenTelemetry traces (OTLP) as the standard OTEL_* variables say: "+
		"OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL (http/protobuf or grpc), OTEL_TRACES_SAMPLER(_ARG), "+
		"OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES (env "+tracingEnv+")")
	cfg.tls.addFlags(fs)
	fs.TextVar(&cfg.logLevel, "log-level", cfg.logLevel, "log `level`: debug, info, warn or error (logs are JSON on stderr)")
	setUsage(fs, fmt.Sprintf(`Usage: idpgate serve [flags]

Runs the idpgate gateway: a reverse proxy that checks each request's bearer token (JWKS or
RFC 7662 introspection) and access policy before forwarding it, and an admin API through
which the Terraform provider configures protected APIs and access policies.

Several replicas share their configuration and limits through Redis (--redis-url); without
it the configuration is a bbolt file under --data-dir, owned by one process.

Environment:
  %s   required: the token every admin API call must present as
                        "Authorization: Bearer <token>". The gateway refuses to start without it,
                        or with one shorter than 16 characters.
  %s, %s, %s
                        defaults of the --redis-* flags
  %s       default of --tracing; with tracing on, the OTEL_* variables
                        configure the exporter, the sampler and the resource

Flags:
`, adminTokenEnv, redisURLEnv, redisKeyPrefixEnv, redisFallbackEnv, tracingEnv))
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	if err := cfg.tls.check(); err != nil {
		return nil, err
	}
	if _, err := limits.ParseFallback(cfg.limitsFallback); err != nil {
		return nil, usageErrorf("--redis-limits-fallback: %v", err)
	}
	if err := cfg.check(); err != nil { // the store flags
		return nil, err
	}
	cfg.adminToken = os.Getenv(adminTokenEnv)
	if strings.TrimSpace(cfg.adminToken) == "" {
		return nil, usageErrorf("%s is not set: set it to a long random secret (e.g. `openssl rand -hex 32`); "+
			"every admin API call must present it as a bearer token", adminTokenEnv)
	}
	// A short token can be guessed through the admin API; refusing it costs a user one line.
	if len(cfg.adminToken) < minAdminTokenLength {
		return nil, usageErrorf("%s is %d characters long: use at least %d, a long random secret (e.g. `openssl rand -hex 32`)",
			adminTokenEnv, len(cfg.adminToken), minAdminTokenLength)
	}
	return &cfg, nil
}

func runServe(args []string, stderr io.Writer) error {
	cfg, err := parseServe(args, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.logLevel}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return serve(ctx, cfg, log, nil)
}

// serve runs the gateway until ctx is done, then drains in-flight requests for at most
// cfg.shutdownTimeout. ready, when set, is told the bound addresses.
func serve(ctx context.Context, cfg *serveConfig, log *slog.Logger, ready func(proxy, admin net.Addr)) error {
	accessLog, closeAccessLog, err := openAccessLog(cfg.accessLog)
	if err != nil {
		return err
	}
	defer closeAccessLog()
	proxyTLS, adminTLS, err := cfg.tls.serverConfigs(log)
	if err != nil {
		return err
	}
	var tp *tracing.Provider
	if cfg.tracing {
		if tp, err = tracing.New(ctx, tracing.Options{ServiceVersion: version, Logger: log}); err != nil {
			return fmt.Errorf("tracing: %w", err)
		}
		defer func() {
			// After the gateway closed: the last requests' spans are exported, for a few seconds at most.
			if err := tp.Shutdown(context.Background()); err != nil {
				log.Warn("tracing: the last spans were not exported", "error", err)
			}
		}()
	}
	gw, err := gateway.New(gateway.Options{DataDir: cfg.dataDir, RedisURL: cfg.redisURL, RedisKeyPrefix: cfg.redisKeyPrefix,
		LimitsFallback: limits.Fallback(cfg.limitsFallback), AdminToken: cfg.adminToken, Logger: log,
		DecisionPath: cfg.decisionPath, TrustedProxies: cfg.trustedProxies, AccessLog: accessLog,
		FailedAuthLimit: limits.FailedAuthLimit(cfg.failedAuthLimit), RefusedTokenTTL: refusedTTL(cfg.refusedTokenTTL),
		ClientCertHeader: cfg.clientCertHeader, AllowLinkLocalTargets: cfg.allowLinkLocalTargets, Tracing: tp})
	if errors.Is(err, gateway.ErrOpeningStore) {
		return cfg.explainOpenError(cfg.dataDir, err)
	}
	if err != nil {
		return err
	}
	defer func() {
		// The store is flushed and unlocked here; a failure may have lost the last write.
		if err := gw.Close(); err != nil {
			log.Error("closing the gateway's store", "error", err)
		}
	}()

	proxyLn, adminLn, err := listenBoth(cfg.listen, "proxy", cfg.adminListen, "admin")
	if err != nil {
		return err
	}
	errLog := slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	proxySrv := &http.Server{
		Handler: gw.ProxyHandler(), ReadHeaderTimeout: cfg.readHeaderTimeout, ReadTimeout: cfg.readTimeout,
		WriteTimeout: cfg.writeTimeout, IdleTimeout: cfg.idleTimeout, MaxHeaderBytes: 64 << 10, ErrorLog: errLog,
		TLSConfig: proxyTLS,
	}
	adminHandler := gw.AdminHandler()
	if cfg.tls.adminClientCA != "" {
		adminHandler = requireClientCert(adminHandler)
	}
	adminSrv := &http.Server{
		Handler: adminHandler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: cfg.idleTimeout, MaxHeaderBytes: 64 << 10, ErrorLog: errLog,
		TLSConfig: adminTLS,
	}
	errs := make(chan error, 2)
	go func() { errs <- serveOn(proxySrv, proxyLn) }()
	go func() { errs <- serveOn(adminSrv, adminLn) }()
	log.Info("idpgate serving", "version", version, "proxy", proxyLn.Addr().String(),
		"admin", adminLn.Addr().String(), "store", cfg.describe(cfg.dataDir),
		"proxy_scheme", scheme(proxyTLS), "admin_scheme", scheme(adminTLS), "tracing", cfg.tracing)
	if ready != nil {
		ready(proxyLn.Addr(), adminLn.Addr())
	}

	var serveErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down: draining in-flight requests", "deadline", cfg.shutdownTimeout.String())
	case serveErr = <-errs:
		log.Error("listener failed; shutting down", "error", serveErr)
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.shutdownTimeout)
	defer cancel()
	var shutdownErr error
	for _, srv := range []*http.Server{proxySrv, adminSrv} {
		if err := srv.Shutdown(shutdownCtx); err != nil {
			shutdownErr = fmt.Errorf("requests still in flight after %s: %w", cfg.shutdownTimeout, err)
			_ = srv.Close() // grace is over: drop the connections still open
		}
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	if shutdownErr != nil {
		return shutdownErr
	}
	log.Info("stopped")
	return nil
}

// prefixList is a comma-separated list of CIDRs on the command line.
type prefixList []netip.Prefix

func (l *prefixList) String() string {
	if l == nil {
		return ""
	}
	parts := make([]string, len(*l))
	for i, p := range *l {
		parts[i] = p.String()
	}
	return strings.Join(parts, ",")
}

func (l *prefixList) Set(s string) error {
	var out prefixList
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			return fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8 or 127.0.0.1/32", part)
		}
		out = append(out, p.Masked())
	}
	*l = out
	return nil
}

// openAccessLog turns the -access-log value into a writer: stderr, nothing (off), or a file
// opened for appending, closed by the returned func.
func openAccessLog(where string) (io.Writer, func(), error) {
	switch where {
	case "stderr":
		return os.Stderr, func() {}, nil
	case "off", "":
		return nil, func() {}, nil
	}
	f, err := os.OpenFile(where, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o640)
	if err != nil {
		return nil, nil, fmt.Errorf("access log: %w", err)
	}
	return f, func() { _ = f.Close() }, nil // lines are written unbuffered; nothing is lost on close
}

// refusedTTL maps the flag (0: off) to gateway.Options.RefusedTokenTTL (negative: off).
func refusedTTL(d time.Duration) time.Duration {
	if d <= 0 {
		return -1
	}
	return d
}

// failedAuthLimitFlag is -failed-auth-limit: "N/duration" or "off".
type failedAuthLimitFlag limits.FailedAuthLimit

func (f *failedAuthLimitFlag) String() string {
	if f == nil || f.Burst < 0 {
		return "off"
	}
	return fmt.Sprintf("%d/%s", f.Burst, f.Per)
}

func (f *failedAuthLimitFlag) Set(s string) error {
	if s == "off" {
		*f = failedAuthLimitFlag{Burst: -1}
		return nil
	}
	n, per, ok := strings.Cut(s, "/")
	burst, err := strconv.Atoi(n)
	d, derr := time.ParseDuration(per)
	if !ok || err != nil || derr != nil || burst < 1 || d <= 0 {
		return fmt.Errorf("%q is not N/duration such as 50/1m, or off", s)
	}
	*f = failedAuthLimitFlag{Burst: burst, Per: d}
	return nil
}
