package config

import (
	"strings"
	"testing"
)

func TestAmbiguousSpellingAndNormalPath(t *testing.T) {
	for _, tc := range []struct{ path, reason, normal string }{
		{path: "/orders/private/x", normal: "/orders/private/x"},
		{path: "/orders/a b/x.json", normal: "/orders/a b/x.json"},
		{path: "/orders/", normal: "/orders/"},
		{path: "/", normal: "/"},
		{path: "/café/x", normal: "/café/x"},
		{path: "//orders/private/x", reason: "empty segment", normal: "/orders/private/x"},
		{path: "/orders//private", reason: "empty segment", normal: "/orders/private"},
		{path: "/orders;x=1/private/x", reason: ";", normal: "/orders/private/x"},
		{path: "/orders/private;jsessionid=1", reason: ";", normal: "/orders/private"},
		{path: "/orders./private/x", reason: "dot", normal: "/orders/private/x"},
		{path: "/orders. ./private", reason: "dot", normal: "/orders/private"},
		{path: "/orders /private/x", reason: "space", normal: "/orders/private/x"},
		{path: "/orders/private.", reason: "dot", normal: "/orders/private"},
		{path: "/orders/...", reason: "dot", normal: "/orders"},
		{path: "/orders\uff0fprivate/x", reason: "NFKC", normal: "/orders/private/x"}, // fullwidth solidus
		{path: "/orders\uff1bx/private", reason: "NFKC", normal: "/orders/private"},   // fullwidth semicolon
		{path: "/orders\uff0e/private", reason: "NFKC", normal: "/orders/private"},    // fullwidth full stop, trailing
		{path: "/ｏｒｄｅｒｓ/private", normal: "/orders/private"},                          // fullwidth letters: no new segment
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
