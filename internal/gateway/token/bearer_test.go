package token

import "testing"

func TestBearer(t *testing.T) {
	// header value: the token read, or "-" when it holds no Bearer credential
	want := map[string]string{
		"Bearer abc": "abc", "bearer abc": "abc", "BEARER  abc ": "abc",
		"Bearer ": "", "Bearer": "", " bearer ": "",
		"": "-", "Basic abc": "-", "DPoP abc": "-", "Bearerabc": "-", "Beare": "-",
	}
	for header, w := range want {
		got, present := Bearer(header)
		if !present {
			got = "-"
		}
		if got != w {
			t.Errorf("Bearer(%q) reads %q, want %q", header, got, w)
		}
	}
}
