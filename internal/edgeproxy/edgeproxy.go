// Package edgeproxy runs a real nginx or Caddy on loopback as the edge proxy of a
// forward-auth setup: in front of an upstream, asking idpgate's decision endpoint about every
// request. The configurations are the ones the documentation shows (nginx.conf, Caddyfile in
// this directory), with their example addresses and host name replaced, so the tests and the
// benchmark exercise exactly what users copy. The guide shows ingress-nginx.yaml, traefik.yml
// and envoy.yaml from here too; no test can run those (edgeproxy_test.go checks what they say).
//
// Each server gets its own temporary directory and a free port on 127.0.0.1, and runs in the
// foreground until Stop. The binaries come from Debian's packages (scripts/test-deps.sh).
package edgeproxy

import (
	_ "embed"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/childproc"
)

//go:embed nginx.conf
var nginxSite string

//go:embed Caddyfile
var caddySite string

// The example addresses and host name in the documented configurations.
const (
	exampleIdpgate  = "127.0.0.1:8080"
	exampleUpstream = "127.0.0.1:9000"
	exampleHost     = "api.example.com"
)

// NginxSite and CaddySite are the documented configurations, for the docs' tests.
func NginxSite() string { return nginxSite }
func CaddySite() string { return caddySite }

// Config says where the edge proxy finds idpgate and the upstream (host:port each).
type Config struct {
	Idpgate  string
	Upstream string
	// Host is the host name the documented server block (nginx server_name, Caddy site
	// address) serves, in place of the example's api.example.com; requests naming another
	// host are refused. Empty keeps api.example.com. nginx takes several, separated by spaces.
	Host string
	// Dir holds the server's configuration, logs and temporary files; it must exist.
	Dir string
	// TLS, when set, serves the documented blocks over TLS instead of plain HTTP.
	TLS *TLS
}

// TLS is a server certificate for the edge. Clients are asked for a certificate that the edge
// does not verify, as where certificate-bound tokens are used: the gateway checks the
// certificate the edge passes it against the token's binding.
type TLS struct {
	CertFile, KeyFile string
}

// Server is a running edge proxy.
type Server struct {
	// URL is where clients reach it, http://127.0.0.1:port (https with Config.TLS).
	URL  string
	cmd  *exec.Cmd
	log  *childproc.Output
	done chan struct{}
	once sync.Once
}

// InstallHint is what a test prints when a server binary is missing.
const InstallHint = "run `bash scripts/test-deps.sh` (it installs redis-server, nginx and caddy from Debian's packages)"

// passThroughSite is nginx proxying to the upstream the way the documented server block does,
// without asking idpgate: the baseline `make bench` compares decisions against.
const passThroughSite = `upstream orders {
    server 127.0.0.1:9000;
    keepalive 32;
}

server {
    listen 80;
    location / {
        proxy_pass http://orders;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
    }
}
`

// StartNginx runs nginx with the documented server block.
func StartNginx(cfg Config) (*Server, error) { return startNginx(cfg, nginxSite) }

// StartNginxPassThrough runs nginx in front of the upstream alone, configured as StartNginx's
// but for the decisions.
func StartNginxPassThrough(cfg Config) (*Server, error) { return startNginx(cfg, passThroughSite) }

func startNginx(cfg Config, site string) (*Server, error) {
	bin, port, err := binaryAndPort("nginx")
	if err != nil {
		return nil, err
	}
	site = replaceAddrs(site, cfg)
	ssl, scheme := "", "http"
	if cfg.TLS != nil {
		ssl = fmt.Sprintf("    ssl_certificate %s;\n    ssl_certificate_key %s;\n    ssl_verify_client optional_no_ca;\n", cfg.TLS.CertFile, cfg.TLS.KeyFile)
		site = strings.ReplaceAll(site, "listen 80", fmt.Sprintf("listen 127.0.0.1:%d ssl", port))
		scheme = "https"
	} else {
		site = strings.ReplaceAll(site, "listen 80", fmt.Sprintf("listen 127.0.0.1:%d", port))
	}
	tmp := filepath.Join(cfg.Dir, "tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return nil, err
	}
	// In the foreground, a worker per core as nginx's documentation advises for throughput,
	// with every path under Dir: nothing is shared with a system nginx. Run as root (the
	// tests in a container), the workers stay root rather than become nobody, who could not
	// read Dir.
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;\n"
	}
	main := fmt.Sprintf(`daemon off;
%[4]sworker_processes auto;
pid %[1]s/nginx.pid;
error_log stderr warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path %[2]s/body;
    proxy_temp_path %[2]s/proxy;
    fastcgi_temp_path %[2]s/fastcgi;
    uwsgi_temp_path %[2]s/uwsgi;
    scgi_temp_path %[2]s/scgi;
%[5]s%[3]s
}
`, cfg.Dir, tmp, site, user, ssl)
	conf := filepath.Join(cfg.Dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(main), 0o600); err != nil {
		return nil, err
	}
	return start(exec.Command(bin, "-e", "stderr", "-p", cfg.Dir, "-c", conf), scheme, port)
}

// StartCaddy runs Caddy with the documented Caddyfile.
func StartCaddy(cfg Config) (*Server, error) {
	bin, port, err := binaryAndPort("caddy")
	if err != nil {
		return nil, err
	}
	site := replaceAddrs(caddySite, cfg)
	scheme, tls := "http", ""
	if cfg.TLS != nil {
		scheme = "https"
		tls = fmt.Sprintf("\n\ttls %s %s {\n\t\tclient_auth {\n\t\t\tmode request\n\t\t}\n\t}", cfg.TLS.CertFile, cfg.TLS.KeyFile)
	}
	site = strings.NewReplacer(":80 {", fmt.Sprintf("%s://:%d {%s", scheme, port, tls),
		"http://"+host(cfg)+" {", fmt.Sprintf("%s://%s:%d {%s", scheme, host(cfg), port, tls)).Replace(site)
	// No admin endpoint (it would take port 2019), no automatic HTTPS, no state outside Dir.
	caddyfile := "{\n\tadmin off\n\tauto_https off\n}\n\n" + site
	conf := filepath.Join(cfg.Dir, "Caddyfile")
	if err := os.WriteFile(conf, []byte(caddyfile), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "run", "--config", conf, "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(), "HOME="+cfg.Dir, "XDG_DATA_HOME="+cfg.Dir, "XDG_CONFIG_HOME="+cfg.Dir)
	return start(cmd, scheme, port)
}

// binaryAndPort finds the server's binary and a free port for it on 127.0.0.1.
func binaryAndPort(name string) (string, int, error) {
	bin, err := lookPath(name)
	if err != nil {
		return "", 0, err
	}
	port, err := childproc.FreePort()
	return bin, port, err
}

func replaceAddrs(site string, cfg Config) string {
	return strings.NewReplacer(exampleIdpgate, cfg.Idpgate, exampleUpstream, cfg.Upstream, exampleHost, host(cfg)).Replace(site)
}

func host(cfg Config) string {
	if cfg.Host == "" {
		return exampleHost
	}
	return cfg.Host
}

// start runs cmd and waits until it accepts connections on port.
func start(cmd *exec.Cmd, scheme string, port int) (*Server, error) {
	s := &Server{URL: fmt.Sprintf("%s://127.0.0.1:%d", scheme, port), cmd: cmd, log: &childproc.Output{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", cmd.Path, err)
	}
	go func() { _ = cmd.Wait(); close(s.done) }()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-s.done:
			return nil, fmt.Errorf("%s exited before listening: %s", filepath.Base(cmd.Path), s.log.String())
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			_ = c.Close()
			return s, nil
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("%s did not listen on %s within 15s: %s", filepath.Base(cmd.Path), addr, s.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop ends the server and waits for it.
func (s *Server) Stop() {
	s.once.Do(func() {
		childproc.Stop(s.cmd.Process, os.Interrupt, s.done, 5*time.Second)
	})
}

// Log is what the server wrote to stdout and stderr so far.
func (s *Server) Log() string { return s.log.String() }

func lookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/usr/bin", "/usr/local/sbin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s is not installed: %s", name, InstallHint)
}
