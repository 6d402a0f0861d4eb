package config

import (
	"strings"
	"testing"
)

func TestAmbiguousSpellingAndNormalPath(t *testing.T) {
	for _, tc := range []struct{ path, reason, normal string }{
		{"/orders/private/x", "", "/orders/private/x"},
		{"/orders/a b/x.json", "", "/orders/a b/x.json"},
		{"/orders/", "", "/orders/"},
		{"/", "", "/"},
		{"/café/x", "", "/café/x"},
		{"//orders/private/x", "empty segment", "/orders/private/x"},
		{"/orders//private", "empty segment", "/orders/private"},
		{"/orders;x=1/private/x", ";", "/orders/private/x"},
		{"/orders/private;jsessionid=1", ";", "/orders/private"},
		{"/orders./private/x", "dot", "/orders/private/x"},
		{"/orders. ./private", "dot", "/orders/private"},
		{"/orders /private/x", "space", "/orders/private/x"},
		{"/orders/private.", "dot", "/orders/private"},
		{"/orders/...", "dot", "/orders"},
		{"/orders\uff0fprivate/x", "NFKC", "/orders/private/x"}, // fullwidth solidus
		{"/orders\uff1bx/private", "NFKC", "/orders/private"},   // fullwidth semicolon
		{"/orders\uff0e/private", "NFKC", "/orders/private"},    // fullwidth full stop, trailing
		{"/ｏｒｄｅｒｓ/private", "", "/orders/private"},              // fullwidth letters: no new segment
	} {
		reason := ambiguousSpelling(tc.path)
		switch {
		case tc.reason == "" && reason != "":
			t.Errorf("%q: ambiguous (%s); want it not", tc.path, reason)
		case tc.reason != "" && !strings.Contains(reason, tc.reason):
			t.Errorf("%q: reason %q, want one naming %q", tc.path, reason, tc.reason)
		}
		if got := normalPath(tc.path); got != tc.normal && reason != "" {
			t.Errorf("normalPath(%q) = %q, want %q", tc.path, got, tc.normal)
		}
	}
}
