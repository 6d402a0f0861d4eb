package adminapi

import (
	"fmt"
	"net"
	"slices"
	"strings"
)

// maxHosts bounds API.Hosts.
const maxHosts = 100

// NormalizeHost is how the gateway compares hosts: lower case, without a port or a trailing
// dot. It takes a Host header value as well as a configured host.
func NormalizeHost(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	h = strings.TrimPrefix(strings.TrimSuffix(h, "]"), "[")
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

func validateHosts(field string, hosts []string) error {
	if len(hosts) > maxHosts {
		return FieldError(field, "%d hosts; at most %d", len(hosts), maxHosts)
	}
	seen := make(map[string]bool, len(hosts))
	for i, h := range hosts {
		f := fmt.Sprintf("%s[%d]", field, i)
		n := NormalizeHost(h)
		if strings.ContainsAny(h, "/@*?# ") || !isHostname(n) && net.ParseIP(n) == nil {
			return FieldError(f, "%q is not a host name such as api.example.com (no scheme, port, path or wildcard)", h)
		}
		if _, _, err := net.SplitHostPort(h); err == nil {
			return FieldError(f, "%q has a port: name the host alone (the gateway compares hosts without their port)", h)
		}
		if seen[n] {
			return FieldError(f, "%q is listed twice", h)
		}
		seen[n] = true
	}
	return nil
}

// isHostname reports whether s is a DNS name: dot-separated labels of letters, digits and
// hyphens, none starting or ending with a hyphen.
func isHostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if ('a' > c || c > 'z') && ('0' > c || c > '9') && c != '-' {
				return false
			}
		}
	}
	return true
}

// SharesRouteWith reports whether a and b would compete for the same requests: the same
// listen path, and either both without hosts or with a host in common. An API without hosts
// beside one with hosts on the same path does not compete: the one naming the host wins.
func (a *API) SharesRouteWith(b *API) bool {
	if NormalizeListenPath(a.ListenPath) != NormalizeListenPath(b.ListenPath) {
		return false
	}
	if len(a.Hosts) == 0 || len(b.Hosts) == 0 {
		return len(a.Hosts) == 0 && len(b.Hosts) == 0
	}
	return slices.ContainsFunc(a.Hosts, func(h string) bool {
		return slices.ContainsFunc(b.Hosts, func(o string) bool { return NormalizeHost(h) == NormalizeHost(o) })
	})
}
