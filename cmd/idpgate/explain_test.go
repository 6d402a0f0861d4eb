package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway"
	"github.com/idpgate/terraform-provider-idpgate/internal/gatewaytest"
	"github.com/idpgate/terraform-provider-idpgate/internal/mockidp"
)

// TestExplain: `idpgate explain` asks a running gateway and prints the verdict with its
// reasons; exit status 0 when allowed, 1 when refused, 2 for a malformed question.
func TestExplain(t *testing.T) {
	idp := mockidp.NewTestServer(t, mockidp.Options{})
	gw := gatewaytest.Start(t, gateway.Options{})
	client := gw.Admin
	ctx := context.Background()
	api, err := client.CreateAPI(ctx, adminapi.API{Name: "orders", ListenPath: "/orders", UpstreamURL: "http://127.0.0.1:1",
		JWT: &adminapi.JWTValidation{Issuer: idp.URL(), JWKSURI: idp.JWKSURI()}})
	if err != nil {
		t.Fatal(err)
	}
	pol, err := client.CreatePolicy(ctx, adminapi.Policy{Name: "billing", ClientIDs: []string{"billing"},
		RateLimit:    &adminapi.Limit{Requests: 10, Per: adminapi.Duration(time.Minute)},
		AccessRights: []adminapi.AccessRight{{APIID: api.ID, Methods: []string{"GET"}, Paths: []string{"/items/*"}, RequiredScopes: []string{"orders:read"}}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("IDPGATE_GATEWAY_URL", gw.AdminURL)
	t.Setenv("IDPGATE_GATEWAY_ADMIN_TOKEN", gw.AdminToken)

	// explain runs the command as run does, with its output in a buffer: exit status 1 when
	// the gateway would refuse.
	explain := func(args ...string) (string, int) {
		t.Helper()
		var stdout bytes.Buffer
		switch err := runExplain(args, &stdout); {
		case err == nil:
			return stdout.String(), 0
		case errors.Is(err, errRefused):
			return stdout.String(), 1
		default:
			t.Fatalf("explain %q: %v", args, err)
			return "", 0
		}
	}

	out, code := explain("--method", "GET", "--url", "https://api.example.com/orders/items/1", "--client-id", "billing", "--scopes", "orders:read")
	for _, want := range []string{
		"GET https://api.example.com/orders/items/1 as client billing",
		"verdict:  allowed",
		`why:      policy "billing" (access_rights[0]) grants GET /items/1 on API "orders"`,
		"API:      orders (" + api.ID + ")",
		"policy:   billing (" + pol.ID + "), access_rights[0]",
		"+ billing (" + pol.ID + ", by client_id): access_rights[0] grants GET /items/1",
		"limits:   rate limit 10 per 1m0s; 9 left after this request (nothing was counted)",
	} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("allowed: exit %d, output lacks %q:\n%s", code, want, out)
		}
	}

	out, code = explain("--method", "delete", "--url", "/orders/items/1", "--client-id", "billing", "--scopes", "orders:read")
	for _, want := range []string{"verdict:  refused, 403 access_denied", "method DELETE is not one of GET"} {
		if code != 1 || !strings.Contains(out, want) {
			t.Errorf("refused: exit %d, output lacks %q:\n%s", code, want, out)
		}
	}

	// a real token, from a file, that the IdP did not sign for this API: the proxy's 401
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(idp.MintToken(map[string]any{"client_id": "billing", "scope": "orders:read", "iss": "https://other.example"})+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, code = explain("--url", "/orders/items/1", "--token-file", tokenFile, "--json")
	var d adminapi.Decision
	if code != 1 || json.Unmarshal([]byte(out[:strings.LastIndex(out, "}")+1]), &d) != nil || d.Status != 401 || d.Error != "invalid_token" {
		t.Errorf("token of another issuer: exit %d, %+v:\n%s", code, d, out)
	}

	var stderr bytes.Buffer
	if code := run([]string{"explain", "--method", "DELETE", "--url", "/orders/items/1", "--client-id", "billing", "--json"}, &stderr); code != 1 ||
		!strings.Contains(stderr.String(), "idpgate explain: the gateway would refuse this request") {
		t.Errorf("a refusal through run: exit %d, stderr %q", code, stderr.String())
	}
	for name, args := range map[string][]string{
		"no url":         {"--client-id", "billing"},
		"bad claims":     {"--url", "/orders/x", "--claims", "[1]"},
		"bad header":     {"--url", "/orders/x", "--header", "nocolon"},
		"both callers":   {"--url", "/orders/x", "--client-id", "a", "--token-file", tokenFile},
		"positional":     {"--url", "/orders/x", "GET"},
		"bad method":     {"--url", "/orders/x", "--method", "GE T"},
		"bad token type": {"--url", "/orders/x", "--client-id", "a", "--token-type", "MAC"},
	} {
		var stderr bytes.Buffer
		if code := run(append([]string{"explain"}, args...), &stderr); code != 2 {
			t.Errorf("%s: exit %d, want 2 (usage): %s", name, code, stderr.String())
		}
	}
}
