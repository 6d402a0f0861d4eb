package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

func TestMockIdPFlags(t *testing.T) {
	t.Setenv(mockInitialAccessTokenEnv, "")
	cfg, err := parseMockIdP([]string{"--flavor", "keycloak", "--initial-access-token", "iat", "--audience", "a, b"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.flavor != "keycloak" || cfg.initialAccessToken != "iat" || strings.Join(cfg.audience, "|") != "a|b" {
		t.Errorf("parsed %+v", cfg)
	}
	if _, err := parseMockIdP([]string{"--flavor", "auth0"}, io.Discard); !errors.As(err, new(*usageError)) {
		t.Errorf("unknown flavour: %v, want a usage error", err)
	}
	// Okta and Keycloak cannot register anything without a token: say so at start.
	_, err = parseMockIdP([]string{"--flavor", "okta"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), mockInitialAccessTokenEnv) {
		t.Errorf("okta without a token: %v, want a message naming %s", err, mockInitialAccessTokenEnv)
	}
	t.Setenv(mockInitialAccessTokenEnv, "from-env")
	if cfg, err := parseMockIdP([]string{"--flavor", "okta"}, io.Discard); err != nil || cfg.initialAccessToken != "from-env" {
		t.Errorf("token from the environment: %+v, %v", cfg, err)
	}
	var help bytes.Buffer
	if _, err := parseMockIdP([]string{"--help"}, &help); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
	for _, want := range []string{"-listen", "-issuer", "-flavor", "-initial-access-token", "-token-ttl", "-audience"} {
		if !strings.Contains(help.String(), want) {
			t.Errorf("--help does not mention %s", want)
		}
	}
}

// TestDevSandbox starts `idpgate dev` on random ports and checks that the environment it
// prints points at a working IdP, gateway and upstream, and that it stops cleanly.
func TestDevSandbox(t *testing.T) {
	envFile := filepath.Join(t.TempDir(), "env")
	providerDir := fakeProviderDir(t)
	cfg, err := parseDev([]string{"--idp-listen", "127.0.0.1:0", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
		"--upstream-listen", "127.0.0.1:0", "--env-file", envFile, "--provider-dir", providerDir}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- runDevSandbox(ctx, cfg, slog.New(slog.DiscardHandler), &out) }()

	env := waitForEnvFile(t, envFile, done)
	for _, name := range []string{"IDPGATE_ISSUER", "IDPGATE_IDP_DRIVER", "IDPGATE_INITIAL_ACCESS_TOKEN", "IDPGATE_GATEWAY_URL",
		"IDPGATE_GATEWAY_ADMIN_TOKEN", "IDPGATE_DEV_PROXY_URL", "IDPGATE_DEV_TOKEN_URL", "TF_VAR_orders_upstream", "TF_CLI_CONFIG_FILE"} {
		if env[name] == "" {
			t.Errorf("environment lacks %s: %v", name, env)
		}
	}

	// The IdP: discovery answers with the printed issuer.
	var discovery map[string]any
	getJSON(t, env["IDPGATE_ISSUER"]+"/.well-known/openid-configuration", nil, &discovery)
	if discovery["issuer"] != env["IDPGATE_ISSUER"] {
		t.Errorf("discovery issuer %v, want %s", discovery["issuer"], env["IDPGATE_ISSUER"])
	}
	// Registration requires the printed initial access token.
	resp, err := http.Post(discovery["registration_endpoint"].(string), "application/json", strings.NewReader(`{"client_name":"x","grant_types":["client_credentials"],"response_types":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("registration without the initial access token: HTTP %d, want 401", resp.StatusCode)
	}

	// The gateway: its admin API takes the printed token.
	admin, err := adminapi.NewClient(env["IDPGATE_GATEWAY_URL"], env["IDPGATE_GATEWAY_ADMIN_TOKEN"], nil)
	if err != nil {
		t.Fatal(err)
	}
	if apis, err := admin.ListAPIs(ctx); err != nil || len(apis) != 0 {
		t.Errorf("admin API: %v, %v; want an empty list", apis, err)
	}
	// The proxy answers 401 without a token once an API is protected.
	_, err = admin.CreateAPI(ctx, adminapi.API{Name: "echo", ListenPath: "/echo/", UpstreamURL: env["TF_VAR_orders_upstream"],
		JWT: &adminapi.JWTValidation{Issuer: env["IDPGATE_ISSUER"], JWKSURI: discovery["jwks_uri"].(string)}})
	if err != nil {
		t.Fatal(err)
	}
	resp, err = http.Get(env["IDPGATE_DEV_PROXY_URL"] + "/echo/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("proxy without a token: HTTP %d, want 401", resp.StatusCode)
	}

	// The upstream echoes what it got.
	var echo map[string]any
	getJSON(t, env["TF_VAR_orders_upstream"]+"/items?x=1", http.Header{"X-Idpgate-Subject": {"s"}}, &echo)
	if echo["path"] != "/items" || echo["query"] != "x=1" || echo["identity_headers"].(map[string]any)["X-Idpgate-Subject"] != "s" {
		t.Errorf("echo answered %v", echo)
	}

	if !strings.Contains(out.String(), "export IDPGATE_ISSUER="+env["IDPGATE_ISSUER"]) {
		t.Errorf("stdout does not show the environment:\n%s", out.String())
	}
	// The CLI configuration runs the provider found in --provider-dir.
	cliConfig, err := os.ReadFile(env["TF_CLI_CONFIG_FILE"])
	if err != nil {
		t.Fatalf("TF_CLI_CONFIG_FILE: %v", err)
	}
	if want := `"idpgate/idpgate" = "` + filepath.ToSlash(providerDir) + `"`; !strings.Contains(string(cliConfig), want) {
		t.Errorf("the CLI configuration lacks %s:\n%s", want, cliConfig)
	}
	for _, want := range []string{"source " + envFile, "terraform init && terraform apply", "tofu init && tofu apply", providerDir} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("stdout does not say %q:\n%s", want, out.String())
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("dev stopped with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("dev did not stop within 10s of cancellation")
	}
	if _, err := http.Get(env["IDPGATE_ISSUER"] + "/jwks"); err == nil {
		t.Error("the mock IdP still answers after dev stopped")
	}
	if _, err := os.Stat(env["TF_CLI_CONFIG_FILE"]); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the CLI configuration outlived dev: %v", err)
	}
}

// waitForEnvFile waits for dev to write its env file and reads the variables it exports.
func waitForEnvFile(t *testing.T, path string, done <-chan error) map[string]string {
	t.Helper()
	waitForFile(t, path, done, 10*time.Second)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "export "), "=")
		if ok {
			env[name] = value
		}
	}
	return env
}

// waitForFile waits within for `idpgate dev` to write path; it fails t when dev exits first
// (done answers).
func waitForFile(t *testing.T, path string, done <-chan error, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("idpgate dev exited before it was ready: %v", err)
		default:
		}
		if _, err := os.Stat(path); err == nil {
			return
		} else if !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("idpgate dev wrote no %s within %s", path, within)
}

func getJSON(t *testing.T, rawURL string, header http.Header, out any) {
	t.Helper()
	if _, err := url.Parse(rawURL); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, rawURL, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: HTTP %d", rawURL, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}
