package tlsreload_test

import (
	"bytes"
	"log/slog"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/testcerts"
	"github.com/idpgate/terraform-provider-idpgate/internal/tlsreload"
)

// newReloader loads the pair, checking the files at most once per interval (-1: on every
// call), and returns the reloader and its log.
func newReloader(t *testing.T, certFile, keyFile string, interval time.Duration) (*tlsreload.Reloader, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	r, err := tlsreload.New(certFile, keyFile, tlsreload.Options{CheckInterval: interval, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return r, &logs
}

func servedSerial(t *testing.T, r *tlsreload.Reloader) *big.Int {
	t.Helper()
	c, err := r.GetCertificate(nil)
	if err != nil || c == nil {
		t.Fatalf("GetCertificate: %v, %v", c, err)
	}
	return c.Leaf.SerialNumber
}

// TestReloaderPicksUpReplacedFiles: new content is loaded even when the files keep their
// modification time.
func TestReloaderPicksUpReplacedFiles(t *testing.T) {
	ca := testcerts.NewCA(t)
	first, second := ca.Server(t), ca.Server(t)
	certFile, keyFile := first.WriteFiles(t, t.TempDir())
	r, logs := newReloader(t, certFile, keyFile, -1)
	if got := servedSerial(t, r); got.Cmp(first.Serial) != 0 {
		t.Fatalf("serving serial %x, want the first %x", got, first.Serial)
	}
	// Replaced as `cp -p` or rsync would: the new files keep the old modification time.
	old, err := os.Stat(certFile)
	if err != nil {
		t.Fatal(err)
	}
	testcerts.WriteFile(t, certFile, second.CertPEM)
	testcerts.WriteFile(t, keyFile, second.KeyPEM)
	for _, f := range []string{certFile, keyFile} {
		if err := os.Chtimes(f, old.ModTime(), old.ModTime()); err != nil {
			t.Fatal(err)
		}
	}
	if got := servedSerial(t, r); got.Cmp(second.Serial) != 0 {
		t.Errorf("after replacing the files: serial %x, want the second %x", got, second.Serial)
	}
	if !strings.Contains(logs.String(), "TLS certificate reloaded") {
		t.Errorf("no log line for the reload: %s", logs.String())
	}
}

func TestReloaderKeepsTheLastGoodPair(t *testing.T) {
	ca := testcerts.NewCA(t)
	good, other := ca.Server(t), ca.Server(t)
	certFile, keyFile := good.WriteFiles(t, t.TempDir())
	r, logs := newReloader(t, certFile, keyFile, -1)
	for _, c := range []struct {
		name    string
		replace func()
	}{
		{"a key that does not match", func() { testcerts.WriteFile(t, certFile, other.CertPEM) }},
		{"garbage", func() { testcerts.WriteFile(t, certFile, []byte("not PEM")) }},
		{"a missing key", func() { _ = os.Remove(keyFile) }},
	} {
		c.replace()
		if got := servedSerial(t, r); got.Cmp(good.Serial) != 0 {
			t.Errorf("%s: serving serial %x, want the last good %x", c.name, got, good.Serial)
		}
	}
	if n := strings.Count(logs.String(), "still serving the previous certificate"); n != 3 {
		t.Errorf("%d log lines for broken replacements, want one per distinct failure:\n%s", n, logs.String())
	}
	// Repaired: the next change loads.
	testcerts.WriteFile(t, certFile, other.CertPEM)
	testcerts.WriteFile(t, keyFile, other.KeyPEM)
	if got := servedSerial(t, r); got.Cmp(other.Serial) != 0 {
		t.Errorf("after repair: serial %x, want %x", got, other.Serial)
	}
}

func TestReloaderLooksAtTheFilesAtMostOncePerInterval(t *testing.T) {
	ca := testcerts.NewCA(t)
	first, second := ca.Server(t), ca.Server(t)
	certFile, keyFile := first.WriteFiles(t, t.TempDir())
	r, _ := newReloader(t, certFile, keyFile, 300*time.Millisecond)
	testcerts.WriteFile(t, certFile, second.CertPEM)
	testcerts.WriteFile(t, keyFile, second.KeyPEM)
	if got := servedSerial(t, r); got.Cmp(first.Serial) != 0 {
		t.Errorf("within the interval: serial %x, want the first %x still", got, first.Serial)
	}
	time.Sleep(350 * time.Millisecond)
	if got := servedSerial(t, r); got.Cmp(second.Serial) != 0 {
		t.Errorf("after the interval: serial %x, want the second %x", got, second.Serial)
	}
}

func TestNewRefusesAPairThatDoesNotLoad(t *testing.T) {
	ca := testcerts.NewCA(t)
	a, b := ca.Server(t), ca.Server(t)
	dir := t.TempDir()
	certFile, keyFile := a.WriteFiles(t, dir)
	testcerts.WriteFile(t, keyFile, b.KeyPEM)
	if _, err := tlsreload.New(certFile, keyFile, tlsreload.Options{}); err == nil || !strings.Contains(err.Error(), certFile) {
		t.Errorf("mismatched key: %v, want an error naming %s", err, certFile)
	}
	if _, err := tlsreload.New(dir+"/missing.pem", keyFile, tlsreload.Options{}); err == nil {
		t.Error("missing certificate file: no error")
	}
}
