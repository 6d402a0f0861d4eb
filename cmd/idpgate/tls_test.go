package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/mockidp"
	"github.com/idpgate/terraform-provider-idpgate/internal/testcerts"
)

const tlsTestAdminToken = "serve-tls-test-admin-token"

// startServe runs the real serve() with cfg until the test ends and returns the proxy and
// admin addresses.
func startServe(t *testing.T, cfg *serveConfig) (proxy, admin string) {
	t.Helper()
	cfg.listen, cfg.adminListen, cfg.dataDir = "127.0.0.1:0", "127.0.0.1:0", t.TempDir()
	cfg.readHeaderTimeout, cfg.readTimeout, cfg.writeTimeout = 5*time.Second, 5*time.Second, 5*time.Second
	cfg.idleTimeout, cfg.shutdownTimeout, cfg.adminToken = 5*time.Second, 5*time.Second, tlsTestAdminToken
	p, a, _ := serveInBackground(t, cfg)
	return p.String(), a.String()
}

// serveInBackground runs the real serve() with cfg in the background and returns its proxy and admin
// addresses once it listens, and stop: it cancels serve and returns what serve returned, or an
// error when serve has not returned within the time given. stop is idempotent; the test's
// end calls it too (20s) and fails the test if serve did not stop cleanly.
func serveInBackground(t *testing.T, cfg *serveConfig) (proxy, admin net.Addr, stop func(within time.Duration) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan [2]net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, cfg, slog.New(slog.DiscardHandler), func(p, a net.Addr) { addrs <- [2]net.Addr{p, a} })
	}()
	var stopped bool
	var stopErr error
	stop = func(within time.Duration) error {
		if stopped {
			return stopErr
		}
		stopped = true
		cancel()
		select {
		case stopErr = <-done:
		case <-time.After(within):
			stopErr = fmt.Errorf("serve did not stop within %s", within)
		}
		return stopErr
	}
	t.Cleanup(func() {
		if err := stop(20 * time.Second); err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	select {
	case a := <-addrs:
		return a[0], a[1], stop
	case err := <-done:
		stopped = true
		cancel()
		t.Fatalf("serve stopped early: %v", err)
		return nil, nil, nil
	}
}

// grantApp creates the API name at listenPath in front of upstream, checking idp's JWTs, and
// the policy policyName that grants client "app" the methods given (all when none).
func grantApp(t *testing.T, ac *adminapi.Client, name, listenPath, upstream, policyName string, idp *mockidp.Server, methods ...string) {
	t.Helper()
	api, err := ac.CreateAPI(t.Context(), adminapi.API{Name: name, ListenPath: listenPath, UpstreamURL: upstream,
		JWT: &adminapi.JWTValidation{Issuer: idp.URL(), JWKSURI: idp.JWKSURI()}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ac.CreatePolicy(t.Context(), adminapi.Policy{Name: policyName, ClientIDs: []string{"app"},
		AccessRights: []adminapi.AccessRight{{APIID: api.ID, Methods: methods}}}); err != nil {
		t.Fatal(err)
	}
}

// httpsClient trusts ca, offers HTTP/2 and, when given, a client certificate.
func httpsClient(t *testing.T, ca *testcerts.CA, clientCert *testcerts.Pair) *http.Client {
	cfg := &tls.Config{RootCAs: ca.Pool()}
	if clientCert != nil {
		cfg.Certificates = []tls.Certificate{clientCert.TLS(t)}
	}
	return &http.Client{Timeout: 5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}}
}

// get fetches url with an optional bearer token and returns the answer with its body read.
func get(c *http.Client, url, token string) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp, nil
}

func TestServeTLSOnBothListeners(t *testing.T) {
	ca := testcerts.NewCA(t)
	server := ca.Server(t)
	cfg := &serveConfig{}
	cfg.tls.certFile, cfg.tls.keyFile = server.WriteFiles(t, t.TempDir())
	proxy, admin := startServe(t, cfg)
	client := httpsClient(t, ca, nil)

	// Only the proxy pair is given: the admin listener serves it too.
	for _, c := range []struct {
		url    string
		status int
	}{{"https://" + admin + "/readyz", 200}, {"https://" + proxy + "/no-such-api", 404}} {
		resp, err := get(client, c.url, "")
		if err != nil {
			t.Fatalf("%s: %v", c.url, err)
		}
		if resp.StatusCode != c.status || resp.ProtoMajor != 2 {
			t.Errorf("%s: %d over %s, want %d over HTTP/2", c.url, resp.StatusCode, resp.Proto, c.status)
		}
		if got := resp.TLS.PeerCertificates[0].SerialNumber; got.Cmp(server.Serial) != 0 {
			t.Errorf("%s: served serial %x, want %x", c.url, got, server.Serial)
		}
	}
	adminClient, err := adminapi.NewClient("https://"+admin, tlsTestAdminToken, client)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := adminClient.ListAPIs(t.Context()); err != nil {
		t.Errorf("admin API over https: %v", err)
	}
	for _, addr := range []string{proxy, admin} {
		conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11})
		if err == nil {
			conn.Close()
			t.Errorf("%s: a TLS 1.1 handshake succeeded", addr)
		}
		if resp, err := get(&http.Client{Timeout: 5 * time.Second}, "http://"+addr+"/readyz", ""); err == nil && resp.StatusCode < 400 {
			t.Errorf("%s: plain HTTP answered %d", addr, resp.StatusCode)
		}
	}
}

func TestServeAdminClientCertificate(t *testing.T) {
	ca, otherCA := testcerts.NewCA(t), testcerts.NewCA(t)
	dir := t.TempDir()
	cfg := &serveConfig{}
	cfg.tls.adminCertFile, cfg.tls.adminKeyFile = ca.Server(t).WriteFiles(t, dir)
	cfg.tls.adminClientCA = filepath.Join(dir, "clients-ca.pem")
	if err := os.WriteFile(cfg.tls.adminClientCA, ca.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	proxy, admin := startServe(t, cfg)

	operator, stranger := ca.Client(t, "terraform"), otherCA.Client(t, "stranger")
	if resp, err := get(httpsClient(t, ca, &stranger), "https://"+admin+"/readyz", tlsTestAdminToken); err == nil {
		t.Errorf("a certificate from another CA: admin listener answered %d, want a refused handshake", resp.StatusCode)
	}
	// A kubelet's probe presents no certificate: /healthz and /readyz answer it, and nothing
	// else does, whatever the token, nor a path that only starts like a probe's.
	noCert := httpsClient(t, ca, nil)
	for path, want := range map[string]int{
		"/healthz": http.StatusOK, "/readyz": http.StatusOK,
		"/v1/apis": http.StatusUnauthorized, "/metrics": http.StatusUnauthorized,
		"/readyz/": http.StatusUnauthorized, "/healthz/../v1/apis": http.StatusUnauthorized,
	} {
		resp, err := get(noCert, "https://"+admin+path, tlsTestAdminToken)
		if err != nil || resp.StatusCode != want {
			t.Errorf("no client certificate, GET %s: %v, %v; want %d", path, resp, err, want)
		}
	}
	withCert := httpsClient(t, ca, &operator)
	if resp, err := get(withCert, "https://"+admin+"/metrics", ""); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("client certificate, /metrics: %v, %v; want 200", resp, err)
	}
	if resp, err := get(withCert, "https://"+admin+"/v1/apis", ""); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("client certificate without the admin token: %v, %v; want 401", resp, err)
	}
	if resp, err := get(withCert, "https://"+admin+"/v1/apis", tlsTestAdminToken); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("client certificate and admin token: %v, %v; want 200", resp, err)
	}
	// No pair for the proxy: it stays plain HTTP, and asks no client certificate.
	if resp, err := get(&http.Client{Timeout: 5 * time.Second}, "http://"+proxy+"/x", ""); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("proxy listener: %v, %v; want plain HTTP 404", resp, err)
	}
}

func TestServeReloadsCertificatesWithoutDroppingRequests(t *testing.T) {
	ca := testcerts.NewCA(t)
	first, second := ca.Server(t), ca.Server(t)
	cfg := &serveConfig{}
	cfg.tls.certFile, cfg.tls.keyFile = first.WriteFiles(t, t.TempDir())
	proxy, _ := startServe(t, cfg)
	url := "https://" + proxy + "/no-such-api"

	// Clients that open a new connection (a new handshake) for every request, all the time.
	var (
		stop           atomic.Bool
		wg             sync.WaitGroup
		mu             sync.Mutex
		failures, sent int
		lastErr        error
	)
	for range 4 {
		wg.Go(func() {
			c := httpsClient(t, ca, nil)
			c.Transport.(*http.Transport).DisableKeepAlives = true
			for !stop.Load() {
				resp, err := get(c, url, "")
				mu.Lock()
				sent++
				if err != nil || resp.StatusCode != http.StatusNotFound {
					failures++
					lastErr = errors.Join(err, errors.New(statusOf(resp)))
				}
				mu.Unlock()
			}
		})
	}
	t.Cleanup(func() { stop.Store(true); wg.Wait() })
	// served is the serial of the certificate a new handshake gets; a failed handshake is
	// counted with the clients' failures.
	served := func() *big.Int {
		conn, err := tls.Dial("tcp", proxy, &tls.Config{RootCAs: ca.Pool()})
		if err != nil {
			mu.Lock()
			failures, lastErr = failures+1, err
			mu.Unlock()
			return new(big.Int)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber
	}
	waitForSerial := func(want *big.Int) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for served().Cmp(want) != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("still serving %x, want %x", served(), want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	time.Sleep(200 * time.Millisecond)
	testcerts.WriteFile(t, cfg.tls.certFile, second.CertPEM)
	testcerts.WriteFile(t, cfg.tls.keyFile, second.KeyPEM)
	waitForSerial(second.Serial)

	// A broken replacement: the previous certificate stays.
	testcerts.WriteFile(t, cfg.tls.certFile, []byte("-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n"))
	time.Sleep(1500 * time.Millisecond) // past the reloader's check interval
	if got := served(); got.Cmp(second.Serial) != 0 {
		t.Errorf("after a broken replacement: serving %x, want the last good %x", got, second.Serial)
	}
	stop.Store(true)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if failures > 0 || sent < 20 {
		t.Errorf("%d of %d requests failed during the replacements (last: %v)", failures, sent, lastErr)
	}
}

func statusOf(resp *http.Response) string {
	if resp == nil {
		return "no response"
	}
	return resp.Status
}

func TestServeTLSFlags(t *testing.T) {
	t.Setenv(adminTokenEnv, tlsTestAdminToken)
	t.Setenv(tlsCertEnv, "/etc/idpgate/cert.pem")
	t.Setenv(tlsKeyEnv, "/etc/idpgate/key.pem")
	cfg, err := parseServe([]string{"--admin-client-ca", "/etc/idpgate/ca.pem"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.tls.certFile != "/etc/idpgate/cert.pem" || cfg.tls.keyFile != "/etc/idpgate/key.pem" || cfg.tls.adminClientCA != "/etc/idpgate/ca.pem" {
		t.Errorf("from the environment and flags: %+v", cfg.tls)
	}
	if cfg, _ := parseServe([]string{"--tls-cert", "/other.pem"}, io.Discard); cfg == nil || cfg.tls.certFile != "/other.pem" {
		t.Errorf("a flag must win over its environment variable: %+v", cfg)
	}
	t.Setenv(tlsCertEnv, "")
	t.Setenv(tlsKeyEnv, "")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--tls-cert", "c.pem"}, "--tls-cert and --tls-key go together"},
		{[]string{"--admin-tls-key", "k.pem"}, "--admin-tls-cert and --admin-tls-key go together"},
		{[]string{"--admin-client-ca", "ca.pem"}, "--admin-client-ca needs TLS on the admin listener"},
	} {
		_, err := parseServe(c.args, io.Discard)
		if !errors.As(err, new(*usageError)) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want a usage error saying %q", c.args, err, c.want)
		}
	}
	var out bytes.Buffer
	if _, err := parseServe([]string{"--help"}, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatal(err)
	}
	for _, want := range []string{"-tls-cert", "-tls-key", "-admin-tls-cert", "-admin-tls-key", "-admin-client-ca", tlsCertEnv, adminClientCAEnv} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--help does not mention %s", want)
		}
	}
}

func TestServeRefusesCertificatesThatDoNotLoad(t *testing.T) {
	ca := testcerts.NewCA(t)
	dir := t.TempDir()
	cfg := &serveConfig{listen: "127.0.0.1:0", adminListen: "127.0.0.1:0", dataDir: t.TempDir(), adminToken: tlsTestAdminToken}
	cfg.tls.certFile, cfg.tls.keyFile = ca.Server(t).WriteFiles(t, dir)
	cfg.tls.adminClientCA = filepath.Join(dir, "empty-ca.pem")
	if err := os.WriteFile(cfg.tls.adminClientCA, []byte("no PEM here"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := serve(t.Context(), cfg, slog.New(slog.DiscardHandler), nil); err == nil || !strings.Contains(err.Error(), "--admin-client-ca") {
		t.Errorf("a client CA file without certificates: %v", err)
	}
	cfg.tls.adminClientCA = ""
	cfg.tls.keyFile = filepath.Join(dir, "missing-key.pem")
	if err := serve(t.Context(), cfg, slog.New(slog.DiscardHandler), nil); err == nil || !strings.Contains(err.Error(), "missing-key.pem") {
		t.Errorf("a missing key file: %v", err)
	}
}

// TestServeProxiesATokenOverHTTP2: the whole proxy path (token check, policy, upstream) works
// for a client that speaks HTTP/2 over TLS, and the upstream gets the identity headers.
func TestServeProxiesATokenOverHTTP2(t *testing.T) {
	idp := mockidp.NewTestServer(t, mockidp.Options{Flavor: mockidp.FlavorGeneric})
	subjects := make(chan string, 1)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		subjects <- r.Header.Get("X-Idpgate-Subject")
	}))
	defer upstream.Close()
	ca := testcerts.NewCA(t)
	cfg := &serveConfig{}
	cfg.tls.certFile, cfg.tls.keyFile = ca.Server(t).WriteFiles(t, t.TempDir())
	proxy, admin := startServe(t, cfg)
	client := httpsClient(t, ca, nil)

	ac, err := adminapi.NewClient("https://"+admin, tlsTestAdminToken, client)
	if err != nil {
		t.Fatal(err)
	}
	grantApp(t, ac, "echo", "/echo/", upstream.URL, "app", idp)
	resp, err := get(client, "https://"+proxy+"/echo/items", idp.MintToken(map[string]any{"sub": "alice", "client_id": "app"}))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
		t.Fatalf("through the proxy: %d over %s, want 200 over HTTP/2", resp.StatusCode, resp.Proto)
	}
	if got := <-subjects; got != "alice" {
		t.Errorf("upstream saw subject %q, want alice", got)
	}
}
