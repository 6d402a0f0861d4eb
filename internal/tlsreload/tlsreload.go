// Package tlsreload serves a certificate and key pair from files that may be replaced while
// the process runs (certbot, cert-manager, a Kubernetes secret volume): the pair is loaded
// again when either file's content changes, without a restart and without touching the
// connections already open.
//
// The files are read from the TLS handshake itself (tls.Config.GetCertificate), at most once
// per CheckInterval, and compared with what was last loaded: no goroutine, no file-system
// watcher (inotify misses the symlink swap of a Kubernetes volume). Content, not modification
// time and size, tells a change: file timestamps have the kernel tick's resolution, two
// certificates of one key type often have the same size, and `cp -p` or rsync keep the old
// time; reading a few kilobytes once a second costs nothing. A replacement that does not load
// (a key that does not match the certificate, a half-written file) is logged and the last good
// pair is kept, so a bad renewal never takes the listener down; it is tried again when the
// files change again.
package tlsreload

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultCheckInterval is how often, at most, the files are read.
const DefaultCheckInterval = time.Second

// Reloader holds the current pair of one certificate and key file.
type Reloader struct {
	certFile, keyFile string
	interval          time.Duration
	log               *slog.Logger
	now               func() time.Time

	cert      atomic.Pointer[tls.Certificate]
	nextCheck atomic.Int64 // unix nanoseconds

	mu              sync.Mutex // one handshake reads the files at a time; the others use the current pair
	certPEM, keyPEM []byte     // the files' content when last read, whether it loaded or not
	lastErr         string     // the last failure logged, not to repeat it every interval
}

// Options tune a Reloader; the zero value is fine.
type Options struct {
	// CheckInterval is how often, at most, the files are read (DefaultCheckInterval when zero;
	// negative: on every handshake).
	CheckInterval time.Duration
	// Logger receives a line for every reload and every replacement that does not load.
	Logger *slog.Logger
	// now is the clock (time.Now when nil); tests set it (export_test.go).
	now func() time.Time
}

// New loads the pair; an error here is a configuration error, since there is no previous pair
// to fall back on.
func New(certFile, keyFile string, opts Options) (*Reloader, error) {
	r := &Reloader{certFile: certFile, keyFile: keyFile, interval: opts.CheckInterval, log: opts.Logger, now: opts.now}
	if r.now == nil {
		r.now = time.Now
	}
	if r.interval == 0 {
		r.interval = DefaultCheckInterval
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	certPEM, keyPEM, err := read(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	cert, err := load(certFile, keyFile, certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	r.certPEM, r.keyPEM = certPEM, keyPEM
	r.cert.Store(cert)
	r.nextCheck.Store(r.now().Add(r.interval).UnixNano())
	return r, nil
}

// GetCertificate is for tls.Config.GetCertificate: the current pair, after reading the files
// if CheckInterval has passed. It never fails once New has succeeded.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	if r.now().UnixNano() >= r.nextCheck.Load() {
		r.check()
	}
	return r.cert.Load(), nil
}

// Certificate is the pair served now.
func (r *Reloader) Certificate() *tls.Certificate { return r.cert.Load() }

// check reloads the pair if the files changed since they were last read.
func (r *Reloader) check() {
	if !r.mu.TryLock() {
		return // another handshake is reading; this one serves the current pair
	}
	defer r.mu.Unlock()
	r.nextCheck.Store(r.now().Add(r.interval).UnixNano())
	certPEM, keyPEM, err := read(r.certFile, r.keyFile)
	if err != nil {
		r.fail(err)
		return
	}
	if bytes.Equal(certPEM, r.certPEM) && bytes.Equal(keyPEM, r.keyPEM) {
		return
	}
	r.certPEM, r.keyPEM = certPEM, keyPEM
	cert, err := load(r.certFile, r.keyFile, certPEM, keyPEM)
	if err != nil {
		r.fail(err)
		return
	}
	r.cert.Store(cert)
	r.lastErr = ""
	r.log.Info("TLS certificate reloaded", "cert_file", r.certFile, "serial", cert.Leaf.SerialNumber.Text(16),
		"subject", cert.Leaf.Subject.String(), "not_after", cert.Leaf.NotAfter)
}

func (r *Reloader) fail(err error) {
	if msg := err.Error(); msg != r.lastErr {
		r.lastErr = msg
		r.log.Error("TLS certificate files changed but do not load; still serving the previous certificate",
			"cert_file", r.certFile, "key_file", r.keyFile, "error", msg)
	}
}

func read(certFile, keyFile string) (certPEM, keyPEM []byte, err error) {
	if certPEM, err = os.ReadFile(certFile); err != nil {
		return nil, nil, fmt.Errorf("TLS certificate: %w", err)
	}
	if keyPEM, err = os.ReadFile(keyFile); err != nil {
		return nil, nil, fmt.Errorf("TLS key: %w", err)
	}
	return certPEM, keyPEM, nil
}

func load(certFile, keyFile string, certPEM, keyPEM []byte) (*tls.Certificate, error) {
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("TLS certificate %s with key %s: %w", certFile, keyFile, err)
	}
	if cert.Leaf == nil { // set by X509KeyPair since Go 1.23; kept for the log line
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("TLS certificate %s: %w", certFile, err)
		}
	}
	return &cert, nil
}
