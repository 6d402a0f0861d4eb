package request

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientAddr(t *testing.T) {
	c := &Checker{trustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	for _, tc := range []struct {
		remote, xff string
		want        string // "" = not counted
	}{
		{"192.0.2.7:5000", "", "192.0.2.7"},
		{"192.0.2.7:5000", "203.0.113.9", "192.0.2.7"}, // an untrusted peer's XFF is ignored
		{"10.0.0.1:5000", "203.0.113.9", "203.0.113.9"},
		{"10.0.0.1:5000", "198.51.100.1, 203.0.113.9, 10.0.0.2", "203.0.113.9"},
		{"10.0.0.1:5000", "", ""},
		{"10.0.0.1:5000", "garbage", ""},
		{"[::ffff:192.0.2.7]:5000", "", "192.0.2.7"},
	} {
		addr, ok := c.clientAddr(requestFrom("/", tc.remote, "X-Forwarded-For", tc.xff))
		got := ""
		if ok {
			got = addr.String()
		}
		if got != tc.want {
			t.Errorf("%s with X-Forwarded-For %q: %q, want %q", tc.remote, tc.xff, got, tc.want)
		}
	}
}

// TestClientAddrWithSeveralForwardedForLines: a trusted proxy that adds its own
// X-Forwarded-For line after the client's (nginx with proxy_add_x_forwarded_for appends to
// the value, others add a line) names the client in the last line; the client's own line
// cannot choose the address its failures are counted under.
func TestClientAddrWithSeveralForwardedForLines(t *testing.T) {
	c := &Checker{trustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	for _, tc := range []struct {
		lines []string
		want  string // "" = not counted
	}{
		{[]string{"198.51.100.66", "203.0.113.9"}, "203.0.113.9"},
		{[]string{"198.51.100.66, 198.51.100.67", "203.0.113.9, 10.0.0.2"}, "203.0.113.9"},
		{[]string{"198.51.100.66", "10.0.0.3", "203.0.113.9"}, "203.0.113.9"},
		{[]string{"198.51.100.66", "10.0.0.3"}, "198.51.100.66"}, // every later hop a trusted proxy
		{[]string{"garbage", "203.0.113.9"}, "203.0.113.9"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "10.0.0.1:5000"
		for _, l := range tc.lines {
			r.Header.Add("X-Forwarded-For", l)
		}
		addr, ok := c.clientAddr(r)
		got := ""
		if ok {
			got = addr.String()
		}
		if got != tc.want {
			t.Errorf("X-Forwarded-For lines %q: %q, want %q", tc.lines, got, tc.want)
		}
	}
}

// requestFrom is a request for target from the peer remote (host:port), with header set to
// value unless value is empty.
func requestFrom(target, remote, header, value string) *http.Request {
	r := httptest.NewRequest("GET", target, nil)
	r.RemoteAddr = remote
	if value != "" {
		r.Header.Set(header, value)
	}
	return r
}
