package redistest

import (
	"io"
	"net"
	"sync"
	"testing"
)

// StartHanging starts a listener that accepts connections and reads what they send, never
// answering: a frozen Redis, or one behind a network path that drops its answers. It returns
// the redis:// URL to reach it; it stops when the test ends.
func StartHanging(t testing.TB) string {
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
			go func() { _, _ = io.Copy(io.Discard, c) }()
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
	return "redis://" + ln.Addr().String() + "/0"
}
