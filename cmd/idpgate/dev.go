package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/mockidp"
)

// devConfig is `idpgate dev`'s command line.
type devConfig struct {
	idpListen, upstreamListen string
	flavor                    mockidp.Flavor
	envFile                   string
	// providerDir holds terraform-provider-idpgate for the CLI configuration's dev_overrides;
	// empty: look beside idpgate, then in $GOBIN.
	providerDir string
	gateway     serveConfig
}

func parseDev(args []string, out io.Writer) (*devConfig, error) {
	// The gateway runs as `idpgate serve` would, but stops quickly and logs only problems.
	cfg := &devConfig{gateway: defaultServeConfig()}
	cfg.gateway.shutdownTimeout, cfg.gateway.logLevel = 5*time.Second, slog.LevelWarn
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&cfg.idpListen, "idp-listen", "127.0.0.1:9400", "`address` of the mock IdP (its issuer is http://<address>)")
	fs.StringVar(&cfg.gateway.listen, "listen", "127.0.0.1:8080", "`address` of the gateway's proxy")
	fs.StringVar(&cfg.gateway.adminListen, "admin-listen", "127.0.0.1:8081", "`address` of the gateway's admin API")
	fs.StringVar(&cfg.upstreamListen, "upstream-listen", "127.0.0.1:9000", "`address` of the echo upstream")
	flavor := flavorFlag(fs, "which IdP the mock behaves like: generic, okta, keycloak or hydra")
	fs.StringVar(&cfg.gateway.dataDir, "data-dir", "", "gateway store `directory` (default: a temporary one, removed on exit)")
	fs.StringVar(&cfg.envFile, "env-file", "", "also write the environment to this `file`, once everything is ready")
	fs.StringVar(&cfg.providerDir, "provider-dir", "", "`directory` of the terraform-provider-idpgate that Terraform and OpenTofu use (default: beside idpgate, else $GOBIN)")
	setUsage(fs, `Usage: idpgate dev [flags]

Runs a local sandbox on loopback: a mock identity provider, the idpgate gateway and an echo
upstream that answers with the request it got (identity headers included). It prints the
IDPGATE_* variables that point the Terraform provider at them, and TF_CLI_CONFIG_FILE: a
CLI configuration whose dev_overrides make Terraform and OpenTofu use the provider binary of
this build (beside idpgate after "make build", in $GOBIN after "make install"). Secrets are
generated anew on each start. Use ":0" ports to let the system choose. Stop with Ctrl-C.

Flags:
`)
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	var err error
	if cfg.flavor, err = flavor(); err != nil {
		return nil, err
	}
	return cfg, nil
}

func runDev(args []string) error {
	cfg, err := parseDev(args, os.Stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return runDevSandbox(ctx, cfg, log, os.Stdout)
}

// runDevSandbox starts the three servers, prints the environment, and runs until ctx is done.
func runDevSandbox(ctx context.Context, cfg *devConfig, log *slog.Logger, out io.Writer) error {
	cfg.gateway.adminToken = randomSecret()
	initialAccessToken := randomSecret()
	// The sandbox's own files (the CLI configuration, and the store unless --data-dir names one)
	// live as long as the secrets in them.
	sandboxDir, err := os.MkdirTemp("", "idpgate-dev-")
	if err != nil {
		return err
	}
	defer func() {
		if err := os.RemoveAll(sandboxDir); err != nil {
			log.Warn("could not remove the sandbox's directory", "dir", sandboxDir, "error", err)
		}
	}()
	if cfg.gateway.dataDir == "" {
		cfg.gateway.dataDir = sandboxDir
	}
	cliConfig, providerErr := writeSandboxCLIConfig(cfg.providerDir, sandboxDir)

	idpLn, upstreamLn, err := listenBoth(cfg.idpListen, "mock IdP", cfg.upstreamListen, "upstream")
	if err != nil {
		return err
	}
	idp := startMockIdP(&mockIdPConfig{flavor: cfg.flavor, initialAccessToken: initialAccessToken, tokenTTL: 5 * time.Minute}, idpLn)
	defer idp.Close()
	upstream := &http.Server{Handler: echoUpstream(), ReadHeaderTimeout: 10 * time.Second}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sideDone := make(chan error, 1)
	go func() {
		sideDone <- serveUntilDone(ctx, log, []*http.Server{idp.HTTPServer(""), upstream}, []net.Listener{idpLn, upstreamLn}, 2*time.Second)
	}()

	ready := make(chan [2]net.Addr, 1)
	gatewayDone := make(chan error, 1)
	go func() {
		gatewayDone <- serve(ctx, &cfg.gateway, log, func(proxy, admin net.Addr) { ready <- [2]net.Addr{proxy, admin} })
	}()
	var addrs [2]net.Addr
	select {
	case addrs = <-ready:
	case err := <-gatewayDone:
		cancel()
		return errors.Join(fmt.Errorf("gateway: %w", err), <-sideDone)
	}

	env := map[string]string{
		"IDPGATE_ISSUER":               idp.URL(),
		"IDPGATE_IDP_DRIVER":           string(cfg.flavor),
		"IDPGATE_INITIAL_ACCESS_TOKEN": initialAccessToken,
		"IDPGATE_GATEWAY_URL":          "http://" + addrs[1].String(),
		"IDPGATE_GATEWAY_ADMIN_TOKEN":  cfg.gateway.adminToken,
		// Not provider settings: where to send requests, and the quickstart's upstream.
		"IDPGATE_DEV_PROXY_URL":    "http://" + addrs[0].String(),
		"TF_VAR_orders_upstream":   "http://" + upstreamLn.Addr().String(),
		"IDPGATE_DEV_TOKEN_URL":    idp.TokenEndpoint(),
		"IDPGATE_DEV_UPSTREAM_URL": "http://" + upstreamLn.Addr().String(),
	}
	if providerErr == nil {
		env["TF_CLI_CONFIG_FILE"] = cliConfig.path
	}
	text := formatEnv(env)
	fmt.Fprintf(out, "idpgate dev: mock IdP (%s) at %s, gateway proxy at %s, admin API at %s, echo upstream at %s\n\n%s\n",
		cfg.flavor, idp.URL(), env["IDPGATE_DEV_PROXY_URL"], env["IDPGATE_GATEWAY_URL"], env["IDPGATE_DEV_UPSTREAM_URL"], text)
	printDevSteps(out, cfg.envFile, cliConfig, providerErr)
	var envErr error
	if cfg.envFile != "" {
		if envErr = writeFileAtomic(cfg.envFile, []byte(text)); envErr != nil {
			envErr = fmt.Errorf("--env-file: %w", envErr)
			cancel()
		}
	}

	err = <-gatewayDone
	cancel()
	return errors.Join(envErr, err, <-sideDone)
}

// echoUpstream answers every request with what it received, so a user sees the identity
// headers the gateway added.
func echoUpstream() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		headers := map[string]string{}
		for name, values := range r.Header {
			if strings.HasPrefix(name, "X-Idpgate-") {
				headers[name] = strings.Join(values, ", ")
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"upstream": "echo", "method": r.Method, "path": r.URL.Path, "query": r.URL.RawQuery, "identity_headers": headers,
		})
	})
}

func formatEnv(env map[string]string) string {
	names := make([]string, 0, len(env))
	for name := range env {
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, name := range names {
		fmt.Fprintf(&b, "export %s=%s\n", name, env[name])
	}
	return b.String()
}

// writeFileAtomic makes path appear whole, so a script polling for it never reads half.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".env-*")
	if err != nil {
		return err
	}
	// On failure the temporary file is removed as well as can be; the write's error is the one to report.
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func randomSecret() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b)
}
