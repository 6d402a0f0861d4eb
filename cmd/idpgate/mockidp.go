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
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/mockidp"
)

const mockInitialAccessTokenEnv = "IDPGATE_MOCK_INITIAL_ACCESS_TOKEN"

// mockIdPConfig is `idpgate mock-idp`'s command line.
type mockIdPConfig struct {
	listen             string
	issuer             string
	flavor             mockidp.Flavor
	initialAccessToken string
	tokenTTL           time.Duration
	audience           []string
}

// flavorFlag registers --flavor (default generic) on fs; once fs is parsed, the function it
// returns is the flavour named, or a usage error.
func flavorFlag(fs *flag.FlagSet, usage string) func() (mockidp.Flavor, error) {
	name := fs.String("flavor", "generic", usage)
	return func() (mockidp.Flavor, error) {
		f, err := mockidp.ParseFlavor(*name)
		if err != nil {
			return "", usageErrorf("--flavor: %v", err)
		}
		return f, nil
	}
}

func parseMockIdP(args []string, out io.Writer) (*mockIdPConfig, error) {
	cfg := &mockIdPConfig{}
	var audience string
	fs := flag.NewFlagSet("mock-idp", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&cfg.listen, "listen", "127.0.0.1:9400", "`address` to listen on")
	fs.StringVar(&cfg.issuer, "issuer", "", "issuer `URL` to advertise (default http://<listen address>)")
	flavor := flavorFlag(fs, "which IdP to behave like: generic, okta, keycloak or hydra")
	fs.StringVar(&cfg.initialAccessToken, "initial-access-token", "",
		"`token` that registration requires (keycloak: initial access token; okta: the SSWS API token; generic: optional; "+
			"hydra: ignored); default $"+mockInitialAccessTokenEnv)
	fs.DurationVar(&cfg.tokenTTL, "token-ttl", 5*time.Minute, "lifetime of the access tokens it mints")
	fs.StringVar(&audience, "audience", "api://default", "comma-separated aud of the access tokens it mints")
	setUsage(fs, `Usage: idpgate mock-idp [flags]

Runs a mock OAuth 2.0 / OpenID Connect identity provider for trials and tests: discovery, JWKS,
client_credentials tokens (RS256 JWTs), introspection, revocation and Dynamic Client
Registration (RFC 7591/7592) that behaves like the chosen IdP. Everything is in memory.
Never expose it beyond your machine.

Flags:
`)
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	f, err := flavor()
	if err != nil {
		return nil, err
	}
	cfg.flavor = f
	if cfg.initialAccessToken == "" {
		cfg.initialAccessToken = os.Getenv(mockInitialAccessTokenEnv)
	}
	if (f == mockidp.FlavorOkta || f == mockidp.FlavorKeycloak) && cfg.initialAccessToken == "" {
		return nil, usageErrorf("the %s flavour needs a token: set --initial-access-token or %s", f, mockInitialAccessTokenEnv)
	}
	if cfg.tokenTTL <= 0 {
		return nil, usageErrorf("--token-ttl must be positive, got %s", cfg.tokenTTL)
	}
	for _, a := range strings.Split(audience, ",") {
		if a = strings.TrimSpace(a); a != "" {
			cfg.audience = append(cfg.audience, a)
		}
	}
	return cfg, nil
}

func runMockIdP(args []string) error {
	cfg, err := parseMockIdP(args, os.Stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return fmt.Errorf("listener: %w", err)
	}
	idp := startMockIdP(cfg, ln)
	defer idp.Close()
	log.Info("mock IdP serving", "issuer", idp.URL(), "flavor", string(cfg.flavor),
		"registration_endpoint", idp.RegistrationEndpoint(), "token_endpoint", idp.TokenEndpoint())
	return serveUntilDone(ctx, log, []*http.Server{idp.HTTPServer("")}, []net.Listener{ln}, 5*time.Second)
}

// startMockIdP builds the mock IdP for a bound listener; the issuer defaults to its address.
func startMockIdP(cfg *mockIdPConfig, ln net.Listener) *mockidp.Server {
	idp := mockidp.New(mockidp.Options{
		Flavor:             cfg.flavor,
		InitialAccessToken: cfg.initialAccessToken,
		TokenTTL:           cfg.tokenTTL,
		Audience:           cfg.audience,
	})
	issuer := cfg.issuer
	if issuer == "" {
		issuer = "http://" + ln.Addr().String()
	}
	idp.SetIssuer(issuer)
	return idp
}

// listenBoth opens two listeners, or neither; a failure names the one that failed ("proxy
// listener: ...").
func listenBoth(addrA, nameA, addrB, nameB string) (a, b net.Listener, err error) {
	if a, err = net.Listen("tcp", addrA); err != nil {
		return nil, nil, fmt.Errorf("%s listener: %w", nameA, err)
	}
	if b, err = net.Listen("tcp", addrB); err != nil {
		_ = a.Close() // best effort: the listener error is what the user needs
		return nil, nil, fmt.Errorf("%s listener: %w", nameB, err)
	}
	return a, b, nil
}

// serveUntilDone serves each server on its listener until ctx is done or one fails, then
// shuts them all down, letting in-flight requests finish for at most grace.
func serveUntilDone(ctx context.Context, log *slog.Logger, servers []*http.Server, listeners []net.Listener, grace time.Duration) error {
	errs := make(chan error, len(servers))
	for i, srv := range servers {
		go func(srv *http.Server, ln net.Listener) { errs <- srv.Serve(ln) }(srv, listeners[i])
	}
	var serveErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case serveErr = <-errs:
		log.Error("listener failed; shutting down", "error", serveErr)
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	for _, srv := range servers {
		if err := srv.Shutdown(shutdownCtx); err != nil {
			_ = srv.Close() // grace is over: drop the connections still open
		}
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return nil
}
