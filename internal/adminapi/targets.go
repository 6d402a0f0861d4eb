package adminapi

import (
	"net/netip"
	"net/url"
	"strings"
)

// Link-local targets. A jwks_uri, introspection endpoint or upstream_url at a link-local
// address (169.254.0.0/16, fe80::/10) reaches what the gateway's own host exposes on its
// link, such as a cloud's metadata service at 169.254.169.254 with the instance's
// credentials. The gateway refuses them (in the admin API, and again when it dials, after
// name resolution) unless it runs with -allow-link-local-targets. Loopback and private
// addresses stay allowed: IdPs and upstreams live there.

// IsLinkLocal reports whether a is a link-local unicast or multicast address, also written
// as an IPv4-mapped (::ffff:169.254.0.1), IPv4-compatible (::169.254.0.1) or NAT64
// (64:ff9b::169.254.0.1) IPv6 address.
func IsLinkLocal(a netip.Addr) bool {
	a = a.Unmap()
	if a.Is6() {
		b := a.As16()
		if p := [12]byte(b[:12]); p == [12]byte{} || p == nat64Prefix {
			a = netip.AddrFrom4([4]byte(b[12:]))
		}
	}
	return a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast()
}

// nat64Prefix is the well-known NAT64 prefix 64:ff9b::/96 (RFC 6052).
var nat64Prefix = [12]byte{0, 0x64, 0xff, 0x9b}

// LinkLocalHost returns the host of raw (a URL) when it is a link-local IP address literal,
// else "". A host name that resolves to one is caught when the gateway dials it.
func LinkLocalHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	h := u.Hostname()
	if i := strings.IndexByte(h, '%'); i >= 0 {
		h = h[:i] // fe80::1%eth0: the zone does not change the address
	}
	if a, err := netip.ParseAddr(h); err == nil && IsLinkLocal(a) {
		return u.Hostname()
	}
	return ""
}

// TargetURLs are the URLs of an API the gateway connects to, by field name.
func (a *API) TargetURLs() [][2]string {
	out := [][2]string{{"upstream_url", a.UpstreamURL}}
	if a.JWT != nil {
		out = append(out, [2]string{"jwt.jwks_uri", a.JWT.JWKSURI})
	}
	if a.Introspection != nil {
		out = append(out, [2]string{"introspection.endpoint", a.Introspection.Endpoint})
	}
	return out
}
