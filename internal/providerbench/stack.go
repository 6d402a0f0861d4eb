package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway"
	"github.com/idpgate/terraform-provider-idpgate/internal/mockidp"
)

const benchAdminToken = "bench-provider-admin-token-0123456789"

// stack is what the idpgate side of the benchmark talks to, on 127.0.0.1 free ports: the
// mock IdP (a generic OpenID provider with open registration) and the gateway with its bbolt
// store in a temporary directory, as `idpgate serve` runs it.
type stack struct {
	IdP      *mockidp.Server
	AdminURL string
	Admin    *adminapi.Client

	gw      *gateway.Gateway
	servers []*http.Server
	// adminCalls times the admin API's answers.
	adminCalls *callMeter
}

func startStack(dataDir string) (*stack, error) {
	s := &stack{IdP: mockidp.New(mockidp.Options{Flavor: mockidp.FlavorGeneric})}
	idpURL, err := s.serve(s.IdP.HTTPServer(""))
	if err != nil {
		return nil, err
	}
	s.IdP.SetIssuer(idpURL)

	s.gw, err = gateway.New(gateway.Options{DataDir: dataDir, AdminToken: benchAdminToken,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("starting the gateway: %w", err)
	}
	s.adminCalls = &callMeter{}
	if s.AdminURL, err = s.serve(&http.Server{Handler: s.adminCalls.wrap(s.gw.AdminHandler()), ReadHeaderTimeout: 10 * time.Second}); err != nil {
		s.Close()
		return nil, err
	}
	if s.Admin, err = adminapi.NewClient(s.AdminURL, benchAdminToken, nil); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// serve starts srv on a free loopback port and returns its base URL.
func (s *stack) serve(srv *http.Server) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("listening on 127.0.0.1: %w", err)
	}
	s.servers = append(s.servers, srv)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, "bench-provider: server stopped:", err)
		}
	}()
	return "http://" + ln.Addr().String(), nil
}

// leftovers says what the IdP or the gateway still holds; nil when both are empty.
func (s *stack) leftovers(ctx context.Context) error {
	apis, err := s.Admin.ListAPIs(ctx)
	if err != nil {
		return fmt.Errorf("listing the gateway's APIs: %w", err)
	}
	policies, err := s.Admin.ListPolicies(ctx)
	if err != nil {
		return fmt.Errorf("listing the gateway's policies: %w", err)
	}
	clients := len(s.IdP.Clients())
	if clients+len(apis)+len(policies) > 0 {
		return fmt.Errorf("left after destroy: %d clients at the IdP, %d APIs and %d policies at the gateway",
			clients, len(apis), len(policies))
	}
	return nil
}

// Close stops the servers and the gateway.
func (s *stack) Close() {
	for _, srv := range s.servers {
		_ = srv.Close()
	}
	s.IdP.Close()
	if s.gw != nil {
		_ = s.gw.Close()
	}
}
