// Package redistest starts a real redis-server on loopback for a test: its own free port,
// data directory and configuration (append-only file, fsync on every write), stopped when
// the test ends. A test that needs it and cannot find redis-server fails, naming the script
// that installs it; it never skips.
package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/childproc"
	"github.com/redis/go-redis/v9"
)

// Server is one redis-server process.
type Server struct {
	t     testing.TB
	bin   string
	dir   string
	conf  string
	Addr  string // host:port
	URL   string // redis://host:port/0
	child *childproc.Child
}

// Binary finds redis-server or fails the test saying how to install it.
func Binary(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/bin/redis-server", "/usr/sbin/redis-server", "/usr/local/bin/redis-server"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatal("redis-server is not installed: run `bash scripts/test-deps.sh` (make test-all does) to install it from Debian's packages")
	return ""
}

// Start starts redis-server and waits until it answers PING.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, bin: Binary(t), dir: t.TempDir()}
	s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(childproc.FreePortFor(t)))
	s.URL = "redis://" + s.Addr + "/0"
	_, port, _ := net.SplitHostPort(s.Addr)
	s.conf = filepath.Join(s.dir, "redis.conf")
	conf := fmt.Sprintf(`bind 127.0.0.1
port %s
dir %s
daemonize no
save ""
appendonly yes
appendfsync always
logfile %s
loglevel warning
`, port, s.dir, filepath.Join(s.dir, "redis.log"))
	if err := os.WriteFile(s.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	s.start()
	t.Cleanup(s.Stop)
	return s
}

func (s *Server) start() {
	s.t.Helper()
	cmd := exec.Command(s.bin, s.conf)
	cmd.Dir = s.dir
	s.child = childproc.Start(s.t, "redis-server", cmd)
	c := redis.NewClient(&redis.Options{Addr: s.Addr, DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	defer func() { _ = c.Close() }()
	log := func() string { b, _ := os.ReadFile(filepath.Join(s.dir, "redis.log")); return string(b) }
	childproc.WaitReady(s.t, "redis-server on "+s.Addr, s.child.Exited, 10*time.Second, 20*time.Millisecond, log, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		return c.Ping(ctx).Err()
	})
}

// Stop shuts redis-server down (SIGTERM: it finishes writing its append-only file). Idempotent.
func (s *Server) Stop() {
	s.child.Stop(10 * time.Second)
}

// Kill stops redis-server with SIGKILL: what it had not written is lost.
func (s *Server) Kill() {
	s.child.Kill()
}

// Restart starts redis-server again on the same port and data directory (its append-only
// file is replayed).
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.start()
}

// StartAgain starts redis-server again after Stop or Kill.
func (s *Server) StartAgain() {
	s.t.Helper()
	s.start()
}

// Client is a go-redis client on the server, closed when the test ends.
func (s *Server) Client() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	s.t.Cleanup(func() { _ = c.Close() })
	return c
}
