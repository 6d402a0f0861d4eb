package request

import (
	"net/http"
	"testing"
)

func TestConditionsRemoteIP(t *testing.T) {
	k := &Checker{trustedProxies: DefaultTrustedProxies}
	for _, c := range []struct{ peer, xff, want string }{
		{"192.0.2.7:1234", "10.1.1.1", "192.0.2.7"},           // an untrusted peer's X-Forwarded-For is ignored
		{"127.0.0.1:1234", "", "127.0.0.1"},                   // a trusted peer naming no client is the client
		{"127.0.0.1:1234", "10.1.1.1, 127.0.0.2", "10.1.1.1"}, // the nearest untrusted hop
		{"127.0.0.1:1234", "127.0.0.3, 127.0.0.2", "127.0.0.3"},
		{"127.0.0.1:1234", "not-an-ip", ""},
		{"[::ffff:192.0.2.9]:1", "", "192.0.2.9"},
	} {
		r, _ := http.NewRequest("GET", "http://h/", nil)
		r.RemoteAddr = c.peer
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if got := k.requestRemoteIP(r); got != c.want {
			t.Errorf("peer %s, X-Forwarded-For %q: %q, want %q", c.peer, c.xff, got, c.want)
		}
	}
}
