package token

import (
	"strings"
	"testing"
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
