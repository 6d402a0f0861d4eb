package request

import (
	"errors"
	"testing"
)

// TestLinkLocalAddressesAreNeverDialled: the dialer refuses a link-local address after name
// resolution, whatever name led to it (the gateway's test of the same name dials through the
// upstream transport).
func TestLinkLocalAddressesAreNeverDialled(t *testing.T) {
	for _, addr := range []string{"169.254.169.254:80", "[fe80::1]:80", "[::ffff:169.254.169.254]:80", "[64:ff9b::a9fe:a9fe]:80"} {
		if _, err := NewDialer(false).DialContext(t.Context(), "tcp", addr); !errors.Is(err, ErrLinkLocalTarget) {
			t.Errorf("dial %s: %v; want the link-local refusal", addr, err)
		}
	}
	if d := NewDialer(true); d.Control != nil {
		t.Error("AllowLinkLocalTargets: the dialer still has a Control function")
	}
}
