package token

import (
	"slices"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

func TestCheckLength(t *testing.T) {
	for _, tok := range []string{"a", strings.Repeat("a", maxTokenBytes)} {
		if err := checkLength(tok); err != nil {
			t.Errorf("length %d refused: %v", len(tok), err)
		}
	}
	for _, tok := range []string{"", strings.Repeat("a", maxTokenBytes+1)} {
		if err := checkLength(tok); err == nil || err.Code != CodeInvalid {
			t.Errorf("length %d: %v, want invalid_token", len(tok), err)
		}
	}
}

// TestAllowedAlgorithmsAreAsymmetric guards the contract's allow-list (adminapi's, which this
// package only retypes): an HMAC algorithm would let a public key from the JWKS double as
// the shared secret, and "none" would need no key at all.
func TestAllowedAlgorithmsAreAsymmetric(t *testing.T) {
	for _, alg := range append(slices.Clone(allowedAlgs), defaultAlgs...) {
		switch alg {
		case jose.HS256, jose.HS384, jose.HS512, "none", "":
			t.Errorf("%q is in the allow-list", alg)
		}
	}
	if len(allowedAlgs) == 0 || len(defaultAlgs) != 1 || defaultAlgs[0] != jose.RS256 {
		t.Errorf("allowed %v, default %v", allowedAlgs, defaultAlgs)
	}
}
