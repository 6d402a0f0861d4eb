package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

func TestServeRefusesToStartWithoutAdminToken(t *testing.T) {
	t.Setenv(adminTokenEnv, "")
	var stderr bytes.Buffer
	if code := run([]string{"serve", "--data-dir", t.TempDir()}, &stderr); code != 2 {
		t.Errorf("exit status %d, want 2", code)
	}
	if !strings.Contains(stderr.String(), adminTokenEnv+" is not set") {
		t.Errorf("message must name %s: %q", adminTokenEnv, stderr.String())
	}
}

func TestServeRejectsBadFlags(t *testing.T) {
	t.Setenv(adminTokenEnv, "x")
	var stderr bytes.Buffer
	if code := run([]string{"serve", "--no-such-flag"}, &stderr); code != 2 {
		t.Errorf("exit status %d, want 2", code)
	}
	if code := run([]string{"frobnicate"}, &stderr); code != 2 {
		t.Errorf("unknown command: exit status %d, want 2", code)
	}
}

func TestServeTrustedProxiesFlag(t *testing.T) {
	t.Setenv(adminTokenEnv, "serve-test-admin-token")
	cfg, err := parseServe([]string{"--trusted-proxies", "10.0.0.0/8, 192.168.1.7/32,::1/128"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.trustedProxies.String(); got != "10.0.0.0/8,192.168.1.7/32,::1/128" {
		t.Errorf("trusted proxies %s", got)
	}
	if cfg, _ := parseServe(nil, io.Discard); cfg.trustedProxies.String() != "127.0.0.0/8,::1/128" || cfg.decisionPath != "/_idpgate/decide" {
		t.Errorf("defaults: %s, %s", cfg.trustedProxies.String(), cfg.decisionPath)
	}
	var out bytes.Buffer
	if _, err := parseServe([]string{"--trusted-proxies", "10.0.0.1"}, &out); err == nil || !strings.Contains(out.String(), "is not a CIDR") {
		t.Errorf("a bare address: %v, %q; want an error that says it is not a CIDR", err, out.String())
	}
}

func TestServeFailedAuthLimitFlag(t *testing.T) {
	t.Setenv(adminTokenEnv, "serve-test-admin-token")
	for arg, want := range map[string]string{"20/30s": "20/30s", "off": "off"} {
		cfg, err := parseServe([]string{"--failed-auth-limit", arg}, io.Discard)
		if err != nil || cfg.failedAuthLimit.String() != want {
			t.Errorf("-failed-auth-limit %s: %v, %v", arg, cfg, err)
		}
	}
	if cfg, _ := parseServe(nil, io.Discard); cfg.failedAuthLimit.String() != "50/1m0s" {
		t.Errorf("default %s", cfg.failedAuthLimit.String())
	}
	for _, bad := range []string{"50", "0/1m", "x/1m", "5/never"} {
		var out bytes.Buffer
		if _, err := parseServe([]string{"--failed-auth-limit", bad}, &out); err == nil || !strings.Contains(out.String(), "N/duration") {
			t.Errorf("-failed-auth-limit %s: %v %q", bad, err, out.String())
		}
	}
}

func TestServeAllowLinkLocalTargetsFlag(t *testing.T) {
	t.Setenv(adminTokenEnv, "serve-test-admin-token")
	if cfg, err := parseServe(nil, io.Discard); err != nil || cfg.allowLinkLocalTargets {
		t.Errorf("default: %v, allow=%v; want link-local targets refused", err, cfg.allowLinkLocalTargets)
	}
	if cfg, err := parseServe([]string{"-allow-link-local-targets"}, io.Discard); err != nil || !cfg.allowLinkLocalTargets {
		t.Errorf("-allow-link-local-targets: %v, allow=%v", err, cfg.allowLinkLocalTargets)
	}
}

func TestServeHelpExplainsEveryFlag(t *testing.T) {
	var out bytes.Buffer
	if _, err := parseServe([]string{"--help"}, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
	for _, want := range []string{"-listen", "-admin-listen", "-data-dir", "-read-header-timeout", "-read-timeout",
		"-write-timeout", "-idle-timeout", "-shutdown-timeout", "-log-level", "-decision-path", "-trusted-proxies", "-access-log", "-failed-auth-limit", "-refused-token-ttl", "-client-cert-header", "-allow-link-local-targets", adminTokenEnv,
		"-redis-url", "-redis-key-prefix", "-redis-limits-fallback", redisURLEnv, redisKeyPrefixEnv, redisFallbackEnv,
		"-tracing", tracingEnv, "OTEL_EXPORTER_OTLP_ENDPOINT"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--help does not mention %s", want)
		}
	}
}

func TestServeServesAndShutsDownGracefully(t *testing.T) {
	cfg := &serveConfig{listen: "127.0.0.1:0", adminListen: "127.0.0.1:0", dataDir: t.TempDir(),
		readHeaderTimeout: time.Second, readTimeout: time.Second, writeTimeout: time.Second,
		idleTimeout: time.Second, shutdownTimeout: 5 * time.Second, adminToken: "serve-test-admin-token"}
	proxy, admin, stop := serveInBackground(t, cfg)
	client, _ := adminapi.NewClient("http://"+admin.String(), cfg.adminToken, nil)
	if _, err := client.CreateAPI(context.Background(), adminapi.API{Name: "a", ListenPath: "/a", UpstreamURL: "http://127.0.0.1:1",
		JWT: &adminapi.JWTValidation{Issuer: "https://i", JWKSURI: "https://i/k"}}); err != nil {
		t.Fatalf("admin API through serve: %v", err)
	}
	for _, u := range []string{"http://" + admin.String() + "/readyz", "http://" + proxy.String() + "/a"} {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if want := map[bool]int{true: 200, false: 401}[strings.HasSuffix(u, "/readyz")]; resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", u, resp.StatusCode, want)
		}
	}
	if err := stop(10 * time.Second); err != nil {
		t.Fatalf("graceful shutdown: %v", err)
	}
	if _, err := http.Get("http://" + proxy.String() + "/a"); err == nil {
		t.Error("proxy still listening after shutdown")
	}
}

// A newcomer's mistakes with `idpgate serve`: each message names the flag to change.
func TestServeMistakesNameTheFlag(t *testing.T) {
	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	_ = closed.Close() // nothing answers there now

	const token = "serve-test-admin-token"
	for _, tc := range []struct {
		name    string
		token   string
		args    []string
		code    int
		want    []string
		mustNot []string
	}{
		{name: "data dir not writable", token: token, args: []string{"serve", "--data-dir", filepath.Join(notADir, "sub"),
			"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"}, code: 1,
			want: []string{"--data-dir", notADir, "writable directory"}},
		{name: "redis url without a scheme", token: token, args: []string{"serve", "--redis-url", "localhost:6379"}, code: 2,
			want: []string{"--redis-url", "no scheme", "redis://", "rediss://"}, mustNot: []string{"localhost"}},
		{name: "redis url with a password and no scheme", token: token, args: []string{"serve", "--redis-url", "user:s3cretpw@host:6379"}, code: 2,
			want: []string{"redis://"}, mustNot: []string{"s3cretpw"}},
		{name: "redis url with another scheme", token: token, args: []string{"serve", "--redis-url", "http://host:6379"}, code: 2,
			want: []string{"must start with redis://"}},
		{name: "redis not answering", token: token, args: []string{"serve", "--redis-url", "redis://:s3cretpw@" + closedAddr,
			"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"}, code: 1,
			want: []string{"Redis server at " + closedAddr, "--redis-url", "did not answer"}, mustNot: []string{"s3cretpw"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(adminTokenEnv, tc.token)
			var stderr bytes.Buffer
			if code := run(tc.args, &stderr); code != tc.code {
				t.Errorf("exit status %d, want %d; stderr %q", code, tc.code, stderr.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("message lacks %q: %q", w, stderr.String())
				}
			}
			for _, w := range tc.mustNot {
				if strings.Contains(stderr.String(), w) {
					t.Errorf("message must not show %q: %q", w, stderr.String())
				}
			}
		})
	}
}

// parseServe, not run: a token wrongly accepted must fail the test, not start a gateway.
func TestServeAdminTokenLength(t *testing.T) {
	t.Setenv(adminTokenEnv, "fifteen-chars-x")
	_, err := parseServe([]string{"--data-dir", t.TempDir()}, io.Discard)
	if err == nil || !errors.As(err, new(*usageError)) {
		t.Fatalf("a 15-character admin token: %v, want a usage error", err)
	}
	for _, w := range []string{adminTokenEnv, "15 characters", "at least 16"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("message lacks %q: %q", w, err)
		}
	}
	t.Setenv(adminTokenEnv, "sixteen-chars-xy")
	if _, err := parseServe([]string{"--data-dir", t.TempDir()}, io.Discard); err != nil {
		t.Errorf("a 16-character admin token: %v", err)
	}
}

func TestHelpServePrintsServeFlags(t *testing.T) {
	var stderr bytes.Buffer
	if code := run([]string{"help", "serve"}, &stderr); code != 0 {
		t.Errorf("exit status %d, want 0", code)
	}
	for _, w := range []string{"Usage: idpgate serve", "-redis-url", "-data-dir"} {
		if !strings.Contains(stderr.String(), w) {
			t.Errorf("`idpgate help serve` lacks %q: %q", w, stderr.String())
		}
	}
	stderr.Reset()
	if code := run([]string{"help", "nonesuch"}, &stderr); code != 2 {
		t.Errorf("help for an unknown command: exit status %d, want 2", code)
	}
}
