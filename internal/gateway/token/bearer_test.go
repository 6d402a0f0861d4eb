package token

import "testing"

func TestBearer(t *testing.T) {
	for _, tc := range []struct {
		header, tok string
		present     bool
	}{
		{"Bearer abc", "abc", true},
		{"bearer abc", "abc", true},
		{"BEARER  abc ", "abc", true},
		{"Bearer ", "", true},
		{"Bearer", "", true},
		{" bearer ", "", true},
		{"", "", false},
		{"Basic abc", "", false},
		{"DPoP abc", "", false},
		{"Bearerabc", "", false},
		{"Beare", "", false},
	} {
		tok, present := Bearer(tc.header)
		if tok != tc.tok || present != tc.present {
			t.Errorf("Bearer(%q) = %q, %v; want %q, %v", tc.header, tok, present, tc.tok, tc.present)
		}
	}
}
