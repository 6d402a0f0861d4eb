// Package gatewaytest serves a gateway for a test: its proxy and admin listeners on loopback
// (httptest servers) and an admin API client, all closed when the test ends.
package gatewaytest

import (
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway"
)

// AdminToken is the admin token Start gives a gateway whose options name none.
const AdminToken = "gatewaytest-admin-token-0123456789"

// Gateway is a served gateway.
type Gateway struct {
	*gateway.Gateway
	ProxyURL   string // http://127.0.0.1:port
	AdminURL   string // http://127.0.0.1:port
	AdminToken string
	Admin      *adminapi.Client // on AdminURL with AdminToken
}

// Start serves a gateway made with opts until t ends. Left empty, opts.DataDir is a
// temporary folder, opts.AdminToken is AdminToken and opts.Logger discards.
func Start(t testing.TB, opts gateway.Options) *Gateway {
	t.Helper()
	if opts.DataDir == "" && opts.RedisURL == "" {
		opts.DataDir = t.TempDir()
	}
	if opts.AdminToken == "" {
		opts.AdminToken = AdminToken
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	gw, err := gateway.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httptest.NewServer(gw.ProxyHandler())
	admin := httptest.NewServer(gw.AdminHandler())
	t.Cleanup(func() { proxy.Close(); admin.Close(); _ = gw.Close() })
	client, err := adminapi.NewClient(admin.URL, opts.AdminToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &Gateway{Gateway: gw, ProxyURL: proxy.URL, AdminURL: admin.URL, AdminToken: opts.AdminToken, Admin: client}
}
