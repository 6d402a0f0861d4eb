// Package childproc is what the tests' helpers share to run a real server (redis-server,
// Hydra, nginx, caddy, idpgate itself) as a child process on loopback: a port to give it,
// a buffer for its output, and a stop that lets it shut down cleanly before killing it.
package childproc

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

// FreePort is a TCP port on 127.0.0.1 that nothing listens on at the time of the call.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = ln.Close() }()
	addr, ok := ln.Addr().(*net.TCPAddr)
	if !ok {
		return 0, errors.New("not a TCP listener")
	}
	return addr.Port, nil
}

// FreePortFor is FreePort for a test's helper: it fails t when no port can be had.
func FreePortFor(t testing.TB) int {
	t.Helper()
	port, err := FreePort()
	if err != nil {
		t.Fatalf("finding a free port on 127.0.0.1: %v", err)
	}
	return port
}

// Output collects what one goroutine writes while another reads it: a child's output as
// exec's copying goroutine copies it, or a log.
type Output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

// String is everything written so far.
func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// Bytes is a copy of everything written so far.
func (o *Output) Bytes() []byte {
	o.mu.Lock()
	defer o.mu.Unlock()
	return bytes.Clone(o.buf.Bytes())
}

// Stop sends p the signal sig and waits until exited is closed; if that takes longer than
// grace, it kills p and waits for exited.
func Stop(p *os.Process, sig os.Signal, exited <-chan struct{}, grace time.Duration) {
	_ = p.Signal(sig)
	select {
	case <-exited:
	case <-time.After(grace):
		_ = p.Kill()
		<-exited
	}
}

// Unresponsive listens on loopback and accepts connections it never answers: a frozen server,
// or one behind a network path that drops its answers. With drain it reads and discards what
// they send; without, it reads nothing (what is sent fills the socket's buffers). It returns
// the address (host:port) and stops when the test ends.
func Unresponsive(t testing.TB, drain bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			if drain {
				go func() { _, _ = io.Copy(io.Discard, c) }()
			}
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().String()
}
