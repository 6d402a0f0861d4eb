package adminapi

import (
	"net/netip"
	"testing"
)

func TestIsLinkLocal(t *testing.T) {
	for s, want := range map[string]bool{
		"169.254.169.254": true, "169.254.0.1": true, "fe80::1": true, "febf::1": true, "ff02::1": true, "224.0.0.251": true,
		"::ffff:169.254.169.254": true, "::169.254.169.254": true, "64:ff9b::169.254.169.254": true, "fe80::1%eth0": true,
		"127.0.0.1": false, "::1": false, "10.0.0.1": false, "192.168.1.1": false, "172.16.0.1": false, "fd00::1": false,
		"169.253.255.255": false, "169.255.0.1": false, "fec0::1": false, "8.8.8.8": false, "::": false, "::ffff:10.0.0.1": false,
	} {
		if got := IsLinkLocal(netip.MustParseAddr(s)); got != want {
			t.Errorf("IsLinkLocal(%s) = %v, want %v", s, got, want)
		}
	}
}

func TestLinkLocalHost(t *testing.T) {
	for raw, want := range map[string]string{
		"http://169.254.169.254/latest/meta-data": "169.254.169.254",
		"https://[fe80::1%25eth0]:8443/jwks":      "fe80::1%eth0",
		"http://[::ffff:169.254.169.254]/":        "::ffff:169.254.169.254",
		"http://[::ffff:a9fe:a9fe]/":              "::ffff:a9fe:a9fe",
		"http://127.0.0.1:9000":                   "",
		"http://10.0.0.5/":                        "",
		"https://idp.example.com/jwks":            "",
		"http://metadata.google.internal/":        "", // a name: refused when dialled, if it resolves to one
	} {
		if got := LinkLocalHost(raw); got != want {
			t.Errorf("LinkLocalHost(%s) = %q, want %q", raw, got, want)
		}
	}
}
