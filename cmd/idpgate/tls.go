package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/tlsreload"
)

// serveTLS is the TLS part of `idpgate serve`'s command line. Each flag's default comes from
// its IDPGATE_* environment variable, so a container can be configured by environment alone.
type serveTLS struct {
	certFile, keyFile           string // proxy listener
	adminCertFile, adminKeyFile string // admin listener; empty: the proxy's pair, if any
	adminClientCA               string // CA file: the admin listener requires client certificates
}

const (
	tlsCertEnv       = "IDPGATE_TLS_CERT"
	tlsKeyEnv        = "IDPGATE_TLS_KEY"
	adminTLSCertEnv  = "IDPGATE_ADMIN_TLS_CERT"
	adminTLSKeyEnv   = "IDPGATE_ADMIN_TLS_KEY"
	adminClientCAEnv = "IDPGATE_ADMIN_CLIENT_CA"
)

func (c *serveTLS) addFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.certFile, "tls-cert", os.Getenv(tlsCertEnv), "PEM certificate `file` (chain included) of the proxy listener, which then speaks "+
		"HTTPS (TLS 1.2+, HTTP/2); reloaded when it changes ("+tlsCertEnv+")")
	fs.StringVar(&c.keyFile, "tls-key", os.Getenv(tlsKeyEnv), "PEM private key `file` of --tls-cert ("+tlsKeyEnv+")")
	fs.StringVar(&c.adminCertFile, "admin-tls-cert", os.Getenv(adminTLSCertEnv), "PEM certificate `file` of the admin listener; "+
		"when unset and --tls-cert is set, the admin listener serves the proxy's certificate ("+adminTLSCertEnv+")")
	fs.StringVar(&c.adminKeyFile, "admin-tls-key", os.Getenv(adminTLSKeyEnv), "PEM private key `file` of --admin-tls-cert ("+adminTLSKeyEnv+")")
	fs.StringVar(&c.adminClientCA, "admin-client-ca", os.Getenv(adminClientCAEnv), "PEM CA certificates `file`: the admin listener then "+
		"requires a client certificate issued by one of them, in addition to the admin token, on every path but /healthz and /readyz, "+
		"which probes reach without one ("+adminClientCAEnv+")")
}

// check refuses the combinations that cannot be served.
func (c *serveTLS) check() error {
	if (c.certFile == "") != (c.keyFile == "") {
		return usageErrorf("--tls-cert and --tls-key go together (%s, %s)", tlsCertEnv, tlsKeyEnv)
	}
	if (c.adminCertFile == "") != (c.adminKeyFile == "") {
		return usageErrorf("--admin-tls-cert and --admin-tls-key go together (%s, %s)", adminTLSCertEnv, adminTLSKeyEnv)
	}
	if c.adminClientCA != "" && c.certFile == "" && c.adminCertFile == "" {
		return usageErrorf("--admin-client-ca needs TLS on the admin listener: set --admin-tls-cert and --admin-tls-key (or --tls-cert and --tls-key)")
	}
	return nil
}

// serverConfigs loads the certificates and returns the TLS configuration of each listener;
// nil means plain HTTP. The admin listener serves the proxy's pair when it has none of its
// own: once an operator turns TLS on, the admin token does not travel in clear text.
func (c *serveTLS) serverConfigs(log *slog.Logger) (proxy, admin *tls.Config, err error) {
	var proxyCert, adminCert *tlsreload.Reloader
	if c.certFile != "" {
		if proxyCert, err = tlsreload.New(c.certFile, c.keyFile, tlsreload.Options{Logger: log.With("listener", "proxy")}); err != nil {
			return nil, nil, err
		}
		proxy = serverTLSConfig(proxyCert)
		// Ask for, but do not require or verify, a client certificate: a token bound to one
		// (RFC 8705) is checked against its hash; clients without one are unaffected.
		proxy.ClientAuth = tls.RequestClientCert
		adminCert = proxyCert
	}
	if c.adminCertFile != "" {
		if adminCert, err = tlsreload.New(c.adminCertFile, c.adminKeyFile, tlsreload.Options{Logger: log.With("listener", "admin")}); err != nil {
			return nil, nil, err
		}
	}
	if adminCert == nil {
		return proxy, nil, nil
	}
	admin = serverTLSConfig(adminCert)
	if c.adminClientCA != "" {
		pem, err := os.ReadFile(c.adminClientCA)
		if err != nil {
			return nil, nil, fmt.Errorf("--admin-client-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, nil, fmt.Errorf("--admin-client-ca: %s holds no PEM certificate", c.adminClientCA)
		}
		// A certificate that is given is verified in the handshake; one that is missing is
		// refused by requireClientCert on every path but the probes': a kubelet presents none.
		admin.ClientCAs, admin.ClientAuth = pool, tls.VerifyClientCertIfGiven
	}
	return proxy, admin, nil
}

// probePaths are the admin listener's paths that answer without a client certificate under
// --admin-client-ca: a kubelet's or a load balancer's health probe has none. Exact paths, no
// prefix: anything else, /metrics included, needs a verified certificate.
var probePaths = map[string]bool{"/healthz": true, "/readyz": true}

// requireClientCert answers 401 to a request on the admin listener that presented no
// certificate verified against --admin-client-ca, unless it asks for a probe path.
func requireClientCert(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if probePaths[r.URL.Path] || (r.TLS != nil && len(r.TLS.VerifiedChains) > 0) {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusUnauthorized)
		_ = json.NewEncoder(w).Encode(&adminapi.Error{Code: "client_certificate_required",
			Message: "the admin listener requires a client certificate issued by a CA of --admin-client-ca"})
	})
}

// serverTLSConfig is Go's defaults from TLS 1.2 up, the certificate from the reloader, and
// HTTP/2 offered before HTTP/1.1.
func serverTLSConfig(r *tlsreload.Reloader) *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.GetCertificate, NextProtos: []string{"h2", "http/1.1"}}
}

// serveOn serves srv on ln, over TLS when srv has a TLS configuration.
func serveOn(srv *http.Server, ln net.Listener) error {
	if srv.TLSConfig == nil {
		return srv.Serve(ln)
	}
	return srv.ServeTLS(ln, "", "")
}

// scheme is how a listener is reached, for the log line.
func scheme(c *tls.Config) string {
	if c == nil {
		return "http"
	}
	if c.ClientAuth == tls.VerifyClientCertIfGiven {
		return "https+client-cert"
	}
	return "https"
}
