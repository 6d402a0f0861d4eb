package tracing

import (
	"net/http"
	"testing"
)

func TestMalformedTraceparent(t *testing.T) {
	const valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	for name, tc := range map[string]struct {
		values    []string
		malformed bool
	}{
		"absent":                   {nil, false},
		"valid, sampled":           {[]string{valid}, false},
		"valid, not sampled":       {[]string{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"}, false},
		"later version, longer":    {[]string{"cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds"}, false},
		"later version, exact":     {[]string{"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}, false},
		"two headers":              {[]string{valid, valid}, true},
		"empty":                    {[]string{""}, true},
		"garbage":                  {[]string{"not a traceparent"}, true},
		"uppercase hex":            {[]string{"00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01"}, true},
		"version ff":               {[]string{"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}, true},
		"zero trace id":            {[]string{"00-00000000000000000000000000000000-00f067aa0ba902b7-01"}, true},
		"zero parent id":           {[]string{"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"}, true},
		"version 00 with more":     {[]string{valid + "-00"}, true},
		"later version, no dash":   {[]string{"cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x"}, true},
		"short trace id":           {[]string{"00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01"}, true},
		"non-hex flags":            {[]string{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g"}, true},
		"dash misplaced":           {[]string{"00-4bf92f3577b34da6a3ce929d0e0e4736000f067aa0ba902b7-01"}, true},
		"non-hex in parent id":     {[]string{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba9z2b7-01"}, true},
		"header injection attempt": {[]string{valid[:54] + "\r"}, true},
	} {
		h := http.Header{}
		if tc.values != nil {
			h["Traceparent"] = tc.values
		}
		if got := MalformedTraceparent(h); got != tc.malformed {
			t.Errorf("%s: %q: malformed = %v, want %v", name, tc.values, got, tc.malformed)
		}
	}
}

func TestMalformedTraceparentAllocatesNothing(t *testing.T) {
	h := http.Header{"Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}
	if n := testing.AllocsPerRun(100, func() { MalformedTraceparent(h) }); n != 0 {
		t.Errorf("%v allocations per call, want 0", n)
	}
}
