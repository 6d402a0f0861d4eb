package tlsreload_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/testcerts"
	"github.com/idpgate/terraform-provider-idpgate/internal/tlsreload"
	"github.com/idpgate/terraform-provider-idpgate/internal/workertest"
)

// clock is a settable clock for the Reloader (tlsreload.WithClock).
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

func newClockedReloader(t *testing.T, certFile, keyFile string, interval time.Duration, c *clock) (*tlsreload.Reloader, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	r, err := tlsreload.New(certFile, keyFile, tlsreload.WithClock(tlsreload.Options{CheckInterval: interval,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))}, c.now))
	if err != nil {
		t.Fatal(err)
	}
	return r, &logs
}

// TestReloaderRenewalThatChangesOneFile: a renewal that keeps the key (certbot --reuse-key)
// changes only the certificate file, and is served; the key file rewritten in another
// encoding of the same key is a change too; a renewal written key first, then certificate,
// serves the old pair until both are there, then the new one.
func TestReloaderRenewalThatChangesOneFile(t *testing.T) {
	ca := testcerts.NewCA(t)
	first := ca.Server(t)
	certFile, keyFile := first.WriteFiles(t, t.TempDir())
	r, logs := newReloader(t, certFile, keyFile, -1)

	renewed := ca.Renew(t, first)
	testcerts.WriteFile(t, certFile, renewed.CertPEM)
	if got := servedSerial(t, r); got.Cmp(renewed.Serial) != 0 {
		t.Fatalf("after a renewal of the certificate alone: serial %x, want the renewed %x", got, renewed.Serial)
	}

	block, _ := pem.Decode(renewed.KeyPEM)
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	sec1, err := x509.MarshalECPrivateKey(key.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	testcerts.WriteFile(t, keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}))
	servedSerial(t, r)
	if n := strings.Count(logs.String(), "TLS certificate reloaded"); n != 2 {
		t.Errorf("%d reloads after a new certificate and then a re-encoded key, want 2:\n%s", n, logs.String())
	}

	next := ca.Server(t) // a new key: written first, then its certificate
	testcerts.WriteFile(t, keyFile, next.KeyPEM)
	if got := servedSerial(t, r); got.Cmp(renewed.Serial) != 0 {
		t.Errorf("with the new key beside the old certificate: serial %x, want the previous %x", got, renewed.Serial)
	}
	testcerts.WriteFile(t, certFile, next.CertPEM)
	if got := servedSerial(t, r); got.Cmp(next.Serial) != 0 {
		t.Errorf("with both new files: serial %x, want the new %x", got, next.Serial)
	}
}

// TestReloaderRereadsOncePerIntervalAndReloadsOnce: after the first interval, the files are
// read at most once per interval again (a change made just after a check waits for the next
// one), and a changed pair is loaded once, not again at every interval after.
func TestReloaderRereadsOncePerIntervalAndReloadsOnce(t *testing.T) {
	ca := testcerts.NewCA(t)
	first, second, third := ca.Server(t), ca.Server(t), ca.Server(t)
	certFile, keyFile := first.WriteFiles(t, t.TempDir())
	c := newClock()
	r, logs := newClockedReloader(t, certFile, keyFile, time.Second, c)

	c.advance(time.Second)
	checked := c.now()
	servedSerial(t, r) // the first interval is over: this handshake reads the files (unchanged)
	testcerts.WriteFile(t, certFile, second.CertPEM)
	testcerts.WriteFile(t, keyFile, second.KeyPEM)
	for _, at := range []time.Duration{0, 500 * time.Millisecond, 999 * time.Millisecond} {
		c.ns.Store(checked.Add(at).UnixNano())
		if got := servedSerial(t, r); got.Cmp(first.Serial) != 0 {
			t.Fatalf("%s after the last check: serial %x, want the first %x (the files must not be read again yet)", at, got, first.Serial)
		}
	}
	c.ns.Store(checked.Add(time.Second).UnixNano()) // a full interval after the last check
	if got := servedSerial(t, r); got.Cmp(second.Serial) != 0 {
		t.Fatalf("an interval after the last check: serial %x, want the second %x", got, second.Serial)
	}
	for range 5 {
		c.advance(time.Second)
		servedSerial(t, r)
	}
	if n := strings.Count(logs.String(), "TLS certificate reloaded"); n != 1 {
		t.Errorf("%d reloads of one changed pair over 6 intervals, want 1:\n%s", n, logs.String())
	}

	// a failing replacement is logged once, not at every interval
	testcerts.WriteFile(t, certFile, third.CertPEM) // with the second's key: does not load
	for range 5 {
		c.advance(time.Second)
		if got := servedSerial(t, r); got.Cmp(second.Serial) != 0 {
			t.Fatalf("with a mismatched pair: serial %x, want the second %x", got, second.Serial)
		}
	}
	if n := strings.Count(logs.String(), "do not load"); n != 1 {
		t.Errorf("%d failure lines for one broken replacement over 5 intervals, want 1", n)
	}
}

// TestReloaderConcurrentHandshakesDuringReplacement: handshakes on many goroutines while the
// files are replaced again and again always get one of the pairs written, whole (run under
// -race, as CI does, it also checks the reload path for data races).
func TestReloaderConcurrentHandshakesDuringReplacement(t *testing.T) {
	ca := testcerts.NewCA(t)
	pairs := []testcerts.Pair{ca.Server(t), ca.Server(t), ca.Server(t)}
	certFile, keyFile := pairs[0].WriteFiles(t, t.TempDir())
	r, _ := newReloader(t, certFile, keyFile, -1)
	valid := map[string]bool{}
	for _, p := range pairs {
		valid[p.Serial.String()] = true
	}
	var bad atomic.Int64
	stop := workertest.Start(8, func() {
		c, err := r.GetCertificate(nil)
		if err != nil || c == nil || c.Leaf == nil || !valid[c.Leaf.SerialNumber.String()] || len(c.Certificate) == 0 {
			bad.Add(1)
		}
		if cur := r.Certificate(); cur == nil {
			bad.Add(1)
		}
	})
	for i := range 20 {
		p := pairs[i%len(pairs)]
		testcerts.WriteFile(t, keyFile, p.KeyPEM) // key first: a moment of mismatched files
		testcerts.WriteFile(t, certFile, p.CertPEM)
	}
	stop()
	if n := bad.Load(); n != 0 {
		t.Errorf("%d handshakes got no certificate or one never written", n)
	}
	if got := servedSerial(t, r); got.Cmp(pairs[19%len(pairs)].Serial) != 0 {
		t.Errorf("after the last replacement: serial %x, want %x", got, pairs[19%len(pairs)].Serial)
	}
}
