package request

import (
	"net/netip"
	"testing"
)

// TestDPoPHTUBelievesXForwardedProtoOnlyFromTrustedProxies: the URL a proof must name is
// https only when the connection is TLS or a trusted proxy says so (the gateway's test of the
// same name sends proofs through the proxy listener).
func TestDPoPHTUBelievesXForwardedProtoOnlyFromTrustedProxies(t *testing.T) {
	c := &Checker{trustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	for _, tc := range []struct {
		remote, proto, want string
	}{
		{"192.0.2.7:5000", "https", "http://api.example/x"},
		{"10.0.0.1:5000", "https", "https://api.example/x"},
		{"10.0.0.1:5000", "HTTPS", "https://api.example/x"},
		{"10.0.0.1:5000", "gopher", "http://api.example/x"},
		{"10.0.0.1:5000", "", "http://api.example/x"},
	} {
		if got := c.requestURL(requestFrom("http://api.example/x", tc.remote, "X-Forwarded-Proto", tc.proto)); got != tc.want {
			t.Errorf("from %s with X-Forwarded-Proto %q: %s, want %s", tc.remote, tc.proto, got, tc.want)
		}
	}
}
