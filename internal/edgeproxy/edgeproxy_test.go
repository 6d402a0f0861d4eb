package edgeproxy_test

import (
	"bufio"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/edgeproxy"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway"
	"github.com/idpgate/terraform-provider-idpgate/internal/gatewaytest"
	"github.com/idpgate/terraform-provider-idpgate/internal/mockidp"
	"github.com/idpgate/terraform-provider-idpgate/internal/testcerts"
)

// These tests run the documented nginx and Caddy configurations (the files the forward-auth
// guide shows) in front of an in-process gateway, and send what an attacker would.

// edges are the documented configurations, by name.
var edges = []struct {
	name  string
	start func(edgeproxy.Config) (*edgeproxy.Server, error)
}{
	{"nginx", edgeproxy.StartNginx},
	{"caddy", edgeproxy.StartCaddy},
}

// forEdge runs f once per documented configuration, in parallel.
func forEdge(t *testing.T, f func(t *testing.T, start func(edgeproxy.Config) (*edgeproxy.Server, error))) {
	for _, e := range edges {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			f(t, e.start)
		})
	}
}

// stack is the mock IdP, the gateway (proxy and admin listeners) and the admin client.
type stack struct {
	idp   *mockidp.Server
	proxy string // host:port of the proxy listener, which serves the decision endpoint
	admin *adminapi.Client
}

func newStack(t *testing.T, opts ...func(*gateway.Options)) *stack {
	t.Helper()
	idp := mockidp.NewTestServer(t, mockidp.Options{Flavor: mockidp.FlavorGeneric})
	var o gateway.Options
	for _, f := range opts {
		f(&o)
	}
	gw := gatewaytest.Start(t, o)
	return &stack{idp: idp, proxy: strings.TrimPrefix(gw.ProxyURL, "http://"), admin: gw.Admin}
}

// api creates an API at /orders for upstream, checking the mock IdP's tokens.
func (s *stack) api(t *testing.T, upstream string, hosts ...string) *adminapi.API {
	t.Helper()
	a, err := s.admin.CreateAPI(context.Background(), adminapi.API{Name: "orders-" + strings.Join(hosts, "-"), ListenPath: "/orders",
		Hosts: hosts, UpstreamURL: upstream, JWT: &adminapi.JWTValidation{Issuer: s.idp.URL(), JWKSURI: s.idp.JWKSURI(), Audiences: []string{"orders"}}})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// grant lets clientID do anything on the APIs.
func (s *stack) grant(t *testing.T, clientID string, apis ...*adminapi.API) {
	t.Helper()
	p := adminapi.Policy{Name: "p-" + clientID, ClientIDs: []string{clientID}}
	for _, a := range apis {
		p.AccessRights = append(p.AccessRights, adminapi.AccessRight{APIID: a.ID})
	}
	if _, err := s.admin.CreatePolicy(context.Background(), p); err != nil {
		t.Fatal(err)
	}
}

// token is an access token for clientID signed by the mock IdP, with the extra claims.
func (s *stack) token(t *testing.T, clientID string, extra map[string]any) string {
	t.Helper()
	kid, key := s.idp.SigningKey()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
		(&jose.SignerOptions{}).WithType("at+jwt").WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	claims := map[string]any{"iss": s.idp.URL(), "sub": clientID, "client_id": clientID, "aud": "orders", "scope": "orders",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": rand.Text()}
	maps.Copy(claims, extra)
	tok, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func startEdge(t *testing.T, start func(edgeproxy.Config) (*edgeproxy.Server, error), s *stack, upstream, host string) *edgeproxy.Server {
	t.Helper()
	return startEdgeConfig(t, start, s, upstream, edgeproxy.Config{Host: host})
}

// startEdgeConfig starts the edge with cfg in front of s and upstream, in a directory of the
// test's, stopped when the test ends (its log printed if the test failed).
func startEdgeConfig(t *testing.T, start func(edgeproxy.Config) (*edgeproxy.Server, error), s *stack, upstream string, cfg edgeproxy.Config) *edgeproxy.Server {
	t.Helper()
	cfg.Idpgate, cfg.Upstream, cfg.Dir = s.proxy, strings.TrimPrefix(upstream, "http://"), t.TempDir()
	edge, err := start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		edge.Stop()
		if t.Failed() {
			t.Logf("edge proxy log:\n%s", edge.Log())
		}
	})
	return edge
}

// upstream answers 200 "upstream ok" (or 101 to an Upgrade) and records what reached it.
type upstream struct {
	*httptest.Server
	mu   sync.Mutex
	seen []http.Header
}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.seen = append(u.seen, r.Header.Clone())
		u.mu.Unlock()
		if r.Header.Get("Upgrade") != "" {
			conn, rw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Errorf("upgrade: %v", err)
				return
			}
			defer conn.Close()
			_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: " + r.Header.Get("Upgrade") + "\r\nConnection: Upgrade\r\n\r\nupgraded")
			_ = rw.Flush()
			return
		}
		_, _ = io.WriteString(w, "upstream ok")
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) requests() []http.Header {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]http.Header(nil), u.seen...)
}

// send sends one request through the edge; host "" keeps the URL's.
func send(t *testing.T, edge *edgeproxy.Server, method, path, host string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, edge.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for k, v := range header {
		req.Header[k] = []string{v} // as spelled
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// appBehindEdge is a gateway stack with one API on a recording upstream, granted to client
// "app", behind the edge start runs on 127.0.0.1.
func appBehindEdge(t *testing.T, start func(edgeproxy.Config) (*edgeproxy.Server, error)) (*stack, *upstream, *edgeproxy.Server) {
	t.Helper()
	s, up := newStack(t), newUpstream(t)
	s.grant(t, "app", s.api(t, up.URL))
	return s, up, startEdge(t, start, s, up.URL, "127.0.0.1")
}

var identityHeaders = []string{adminapi.HeaderSubject, adminapi.HeaderClientID, adminapi.HeaderScope, adminapi.HeaderPolicy}

// TestIdentityHeadersSurviveConnection: a client that names the identity headers in its
// Connection header (so that a proxy's hop-by-hop removal drops them after forward-auth copied
// them in) still has them reach the upstream, on a plain request and on a protocol upgrade.
func TestIdentityHeadersSurviveConnection(t *testing.T) {
	forEdge(t, func(t *testing.T, start func(edgeproxy.Config) (*edgeproxy.Server, error)) {
		s, up, edge := appBehindEdge(t, start)
		tok := s.token(t, "app", nil)
		connection := "keep-alive, " + strings.Join(identityHeaders, ", ")
		status, body := send(t, edge, "GET", "/orders/7", "", map[string]string{"Authorization": "Bearer " + tok, "Connection": connection})
		if status != http.StatusOK || body != "upstream ok" {
			t.Fatalf("valid token: %d %q, want the upstream's 200", status, body)
		}
		seen := up.requests()
		if len(seen) != 1 {
			t.Fatalf("the upstream saw %d requests, want 1", len(seen))
		}
		checkIdentity(t, seen[0], "app")
	})
}

// TestIdentityHeadersSurviveConnectionUpgrade: the same on a WebSocket upgrade through
// Caddy, whose documented configuration keeps "Connection: Upgrade" (the nginx one does not
// proxy upgrades).
func TestIdentityHeadersSurviveConnectionUpgrade(t *testing.T) {
	t.Parallel()
	s, up, edge := appBehindEdge(t, edgeproxy.StartCaddy)
	conn, err := net.Dial("tcp", strings.TrimPrefix(edge.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET /orders/ws HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nConnection: Upgrade, %s\r\n"+
		"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
		strings.TrimPrefix(edge.URL, "http://"), s.token(t, "app", nil), strings.Join(identityHeaders, ", "))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %d, want 101 from the upstream", resp.StatusCode)
	}
	seen := up.requests()
	if len(seen) != 1 || seen[0].Get("Upgrade") != "websocket" {
		t.Fatalf("the upstream saw %v, want one upgrade", seen)
	}
	checkIdentity(t, seen[0], "app")
}

// TestNoH2CUpgradeThroughCaddy: an h2c upgrade would turn the connection into a tunnel to
// the upstream, whose later requests no decision sees (h2c smuggling). The gateway refuses
// any upgrade but WebSocket it is asked about; Caddy's documented configuration does not even
// pass one on: the request goes upstream as a plain request.
func TestNoH2CUpgradeThroughCaddy(t *testing.T) {
	t.Parallel()
	s, up, edge := appBehindEdge(t, edgeproxy.StartCaddy)
	status, body := send(t, edge, "GET", "/orders/7", "", map[string]string{"Authorization": "Bearer " + s.token(t, "app", nil),
		"Connection": "Upgrade, HTTP2-Settings", "Upgrade": "h2c", "Http2-Settings": "AAMAAABkAARAAAAAAAIAAAAA"})
	if status != http.StatusOK || body != "upstream ok" {
		t.Errorf("h2c upgrade: %d %q, want the upstream's plain 200", status, body)
	}
	for _, h := range up.requests() {
		if h.Get("Upgrade") != "" || h.Get("Connection") != "" {
			t.Errorf("the upstream saw Upgrade %q, Connection %q, want neither", h.Get("Upgrade"), h.Get("Connection"))
		}
	}
}

func checkIdentity(t *testing.T, h http.Header, clientID string) {
	t.Helper()
	for _, name := range identityHeaders {
		if v := h.Values(name); len(v) != 1 || v[0] == "" {
			t.Errorf("the upstream saw %s = %q, want one value from the gateway", name, v)
		}
	}
	if got := h.Get(adminapi.HeaderClientID); got != clientID {
		t.Errorf("the upstream saw %s %q, want %q", adminapi.HeaderClientID, got, clientID)
	}
}

// TestDPoPThroughEdge: a DPoP proof names the URL the client addressed, the edge on a
// non-default port (every loopback port is one); a proof naming that URL without the port is
// refused, as is one for another port of the same host.
func TestDPoPThroughEdge(t *testing.T) {
	forEdge(t, func(t *testing.T, start func(edgeproxy.Config) (*edgeproxy.Server, error)) {
		s, up, edge := appBehindEdge(t, start)
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		thumb, err := (&jose.JSONWebKey{Key: &key.PublicKey}).Thumbprint(crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		tok := s.token(t, "app", map[string]any{"cnf": map[string]any{"jkt": base64.RawURLEncoding.EncodeToString(thumb)}})
		u, _ := url.Parse(edge.URL)
		for _, c := range []struct {
			htu  string
			want int
		}{
			{edge.URL + "/orders/7", http.StatusOK},
			{"http://" + u.Hostname() + "/orders/7", http.StatusUnauthorized},
			{"http://" + u.Hostname() + ":1/orders/7", http.StatusUnauthorized},
		} {
			status, _ := send(t, edge, "GET", "/orders/7", "", map[string]string{"Authorization": "DPoP " + tok, "Dpop": proof(t, key, "GET", c.htu, tok)})
			if status != c.want {
				t.Errorf("proof for %s: %d, want %d", c.htu, status, c.want)
			}
		}
		if n := len(up.requests()); n != 1 {
			t.Errorf("the upstream saw %d requests, want only the one with the right htu", n)
		}
		// nginx names the port it listens on, whatever port the client's Host claims (Caddy
		// 2.6 cannot: the guide says so).
		if t.Name() == "TestDPoPThroughEdge/caddy" {
			return
		}
		other := "http://" + u.Hostname() + ":1/orders/7"
		status, _ := send(t, edge, "GET", "/orders/7", u.Hostname()+":1", map[string]string{"Authorization": "DPoP " + tok, "Dpop": proof(t, key, "GET", other, tok)})
		if status != http.StatusUnauthorized {
			t.Errorf("proof for %s with Host %s:1: %d, want 401", other, u.Hostname(), status)
		}
	})
}

func proof(t *testing.T, key *ecdsa.PrivateKey, method, htu, tok string) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, (&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt"))
	if err != nil {
		t.Fatal(err)
	}
	ath := sha256.Sum256([]byte(tok))
	p, err := jwt.Signed(signer).Claims(map[string]any{"jti": rand.Text(), "htm": method, "htu": htu, "iat": time.Now().Unix(),
		"ath": base64.RawURLEncoding.EncodeToString(ath[:])}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestClientCertHeaderFromClientNotBelieved: with -client-cert-header X-Client-Cert, a
// client that sends a certificate-bound token and its victim's (public) certificate in
// X-Client-Cert, in each form the gateway reads, is refused through the edge. The same header
// from the edge itself is believed (the control at the end), so the edge is what stops it.
func TestClientCertHeaderFromClientNotBelieved(t *testing.T) {
	victim := testcerts.NewCA(t).Client(t, "victim")
	block, _ := pem.Decode(victim.CertPEM)
	sum := sha256.Sum256(block.Bytes)
	forms := map[string]string{
		"escaped PEM": url.PathEscape(string(victim.CertPEM)),
		"base64 DER":  base64.StdEncoding.EncodeToString(block.Bytes),
	}
	forEdge(t, func(t *testing.T, start func(edgeproxy.Config) (*edgeproxy.Server, error)) {
		s, up := newStack(t, func(o *gateway.Options) { o.ClientCertHeader = "X-Client-Cert" }), newUpstream(t)
		s.grant(t, "app", s.api(t, up.URL))
		edge := startEdge(t, start, s, up.URL, "127.0.0.1")
		tok := s.token(t, "app", map[string]any{"cnf": map[string]any{"x5t#S256": base64.RawURLEncoding.EncodeToString(sum[:])}})
		for name, v := range forms {
			status, _ := send(t, edge, "GET", "/orders/7", "", map[string]string{"Authorization": "Bearer " + tok, "X-Client-Cert": v})
			if status != http.StatusUnauthorized {
				t.Errorf("the victim's certificate as %s in the client's X-Client-Cert: %d, want 401", name, status)
			}
		}
		if n := len(up.requests()); n != 0 {
			t.Errorf("the upstream saw %d requests, want none", n)
		}
		// Control: from a trusted proxy, the header is believed.
		req, _ := http.NewRequest("GET", "http://"+s.proxy+gateway.DefaultDecisionPath, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("X-Forwarded-Method", "GET")
		req.Header.Set("X-Forwarded-Uri", "/orders/7")
		req.Header.Set("X-Client-Cert", forms["escaped PEM"])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("control: the decision endpoint answered %d to a trusted proxy's X-Client-Cert, want 200", resp.StatusCode)
		}
	})
}

// TestClientCertThroughTLSEdge: over TLS, the edge passes the certificate of the connection
// in X-Client-Cert as the guide shows, in the form its variable gives (nginx URL-escaped PEM,
// Caddy base64 DER), and the gateway takes the certificate-bound token with that certificate
// only: not with another, nor with none, whatever X-Client-Cert the client sends.
func TestClientCertThroughTLSEdge(t *testing.T) {
	ca := testcerts.NewCA(t)
	alice, mallory := ca.Client(t, "alice"), ca.Client(t, "mallory")
	block, _ := pem.Decode(alice.CertPEM)
	sum := sha256.Sum256(block.Bytes)
	forEdge(t, func(t *testing.T, start func(edgeproxy.Config) (*edgeproxy.Server, error)) {
		s, up := newStack(t, func(o *gateway.Options) { o.ClientCertHeader = "X-Client-Cert" }), newUpstream(t)
		s.grant(t, "app", s.api(t, up.URL))
		certFile, keyFile := ca.Server(t).WriteFiles(t, t.TempDir())
		// By name: Caddy refuses a Host other than the name the client asked TLS for (SNI),
		// and a client sends no SNI for an address.
		edge := startEdgeConfig(t, start, s, up.URL,
			edgeproxy.Config{Host: "localhost", TLS: &edgeproxy.TLS{CertFile: certFile, KeyFile: keyFile}})
		tok := s.token(t, "app", map[string]any{"cnf": map[string]any{"x5t#S256": base64.RawURLEncoding.EncodeToString(sum[:])}})
		for _, c := range []struct {
			name string
			cert *testcerts.Pair
			want int
		}{{"alice's certificate", &alice, http.StatusOK}, {"mallory's certificate", &mallory, http.StatusUnauthorized}, {"no certificate", nil, http.StatusUnauthorized}} {
			cfg := &tls.Config{RootCAs: ca.Pool()}
			if c.cert != nil {
				cfg.Certificates = []tls.Certificate{c.cert.TLS(t)}
			}
			client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
			req, _ := http.NewRequest("GET", strings.Replace(edge.URL, "127.0.0.1", "localhost", 1)+"/orders/7", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("X-Client-Cert", url.PathEscape(string(alice.CertPEM)))
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.want {
				t.Errorf("%s (and alice's in X-Client-Cert): %d, want %d", c.name, resp.StatusCode, c.want)
			}
		}
		if n := len(up.requests()); n != 1 {
			t.Errorf("the upstream saw %d requests, want alice's only", n)
		}
	})
}

// TestEdgeRoutesByTheHostDecided: the edge sends a request to the upstream of the API the
// gateway decided on. api.example.com has its own API (and upstream); beside it an API that
// names no host lets the client in. A request naming another Host must not be decided by the
// host-less API and then reach api.example.com's upstream.
func TestEdgeRoutesByTheHostDecided(t *testing.T) {
	forEdge(t, func(t *testing.T, start func(edgeproxy.Config) (*edgeproxy.Server, error)) {
		s, hostUp, anyUp := newStack(t), newUpstream(t), newUpstream(t)
		hosted, anyHost := s.api(t, hostUp.URL, "api.example.com"), s.api(t, anyUp.URL)
		s.grant(t, "outsider", anyHost)
		s.grant(t, "insider", hosted)
		edge := startEdge(t, start, s, hostUp.URL, "api.example.com")
		outsider := map[string]string{"Authorization": "Bearer " + s.token(t, "outsider", nil)}
		insider := map[string]string{"Authorization": "Bearer " + s.token(t, "insider", nil)}

		if status, body := send(t, edge, "GET", "/orders/7", "api.example.com", insider); status != http.StatusOK || body != "upstream ok" {
			t.Fatalf("insider at api.example.com: %d %q, want the upstream's 200", status, body)
		}
		if status, _ := send(t, edge, "GET", "/orders/7", "api.example.com", outsider); status != http.StatusForbidden {
			t.Errorf("outsider at api.example.com: %d, want 403", status)
		}
		for _, host := range []string{"other.example", "API.Example.COM.", "api.example.com.evil", "127.0.0.1"} {
			if status, body := send(t, edge, "GET", "/orders/7", host, outsider); status == http.StatusOK {
				t.Errorf("outsider with Host %s: %d %q, want a refusal", host, status, body)
			}
		}
		if n := len(hostUp.requests()); n != 1 {
			t.Errorf("api.example.com's upstream saw %d requests, want only the insider's", n)
		}
	})
}

// TestGuideShowsTheseFiles: the forward-auth guide shows every edge configuration by
// including the file from this directory (tfplugindocs' codefile), never a copy that could
// drift from what the tests run.
func TestGuideShowsTheseFiles(t *testing.T) {
	guide, err := os.ReadFile("../../templates/guides/forward-auth.md.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"nginx.conf", "Caddyfile", "ingress-nginx.yaml", "traefik.yml", "envoy.yaml"} {
		if !strings.Contains(string(guide), `"internal/edgeproxy/`+f+`" }}`) {
			t.Errorf("the guide does not include internal/edgeproxy/%s with codefile", f)
		}
	}
	if n := strings.Count(string(guide), "```"); n != 0 {
		t.Errorf("the guide has %d code fences of its own; show configurations from internal/edgeproxy", n/2)
	}
}

// TestUnrunConfigurations: the ingress-nginx, Traefik and Envoy files, which no test can run
// here (none is packaged for Debian), say what the guide requires of every edge: route by the
// host idpgate decided on, copy every identity header, let no client's certificate header
// through.
func TestUnrunConfigurations(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	ingress, traefik, envoy := read("ingress-nginx.yaml"), read("traefik.yml"), read("envoy.yaml")
	for _, want := range []string{"- host: api.example.com", "proxy_set_header X-Forwarded-Host $host:$server_port;",
		"proxy_set_header X-Client-Cert $ssl_client_escaped_cert;", strings.Join(identityHeaders, ",")} {
		if !strings.Contains(ingress, want) {
			t.Errorf("ingress-nginx.yaml lacks %q", want)
		}
	}
	for _, want := range append([]string{"rule: \"Host(`api.example.com`) && "}, identityHeaders...) {
		if !strings.Contains(traefik, want) {
			t.Errorf("traefik.yml lacks %q", want)
		}
	}
	for _, want := range []string{`domains: ["api.example.com", "api.example.com:*"]`, "headers_with_underscores_action: DROP_HEADER",
		"path_prefix: /_idpgate/decide", "allowed_upstream_headers:\n            patterns: [{ prefix: x-idpgate-, ignore_case: true }]"} {
		if !strings.Contains(envoy, want) {
			t.Errorf("envoy.yaml lacks %q", want)
		}
	}
	// Only these of the client's headers reach idpgate through Envoy.
	allowed := envoy[strings.Index(envoy, "allowed_headers:"):strings.Index(envoy, "authorization_response:")]
	var exact []string
	for _, line := range strings.Split(allowed, "\n") {
		if _, rest, ok := strings.Cut(line, "exact: "); ok {
			exact = append(exact, strings.TrimSpace(strings.SplitN(rest, ",", 2)[0]))
		} else if strings.Contains(line, "prefix") || strings.Contains(line, "regex") || strings.Contains(line, "contains") {
			t.Errorf("envoy.yaml allows client headers by a pattern wider than a name: %s", strings.TrimSpace(line))
		}
	}
	if got := strings.Join(exact, ","); got != "authorization,dpop" {
		t.Errorf("envoy.yaml lets the client's %s through to idpgate, want authorization,dpop", got)
	}
}
