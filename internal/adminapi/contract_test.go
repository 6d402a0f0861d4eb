package adminapi

import (
	"strings"
	"testing"
)

func TestCheckHTTPURL(t *testing.T) {
	for raw, want := range map[string]string{
		"https://idp.example.com":         "",
		"http://127.0.0.1:8081/base?x=1":  "",
		"":                                "must be set",
		"/relative":                       "must be an absolute http or https URL",
		"idp.example.com":                 "must be an absolute http or https URL",
		"ftp://host/x":                    "must be an absolute http or https URL",
		"https://":                        "must be an absolute http or https URL",
		"://nowhere":                      "is not a URL",
		"http://user:secret@host/x":       "must not carry credentials",
		"https://idp.example.com/cb#frag": "must not have a fragment",
	} {
		err := CheckHTTPURL(raw)
		switch {
		case want == "" && err != nil:
			t.Errorf("CheckHTTPURL(%q) = %v, want nil", raw, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("CheckHTTPURL(%q) = %v, want an error saying %q", raw, err, want)
		case err != nil && strings.Contains(err.Error(), "secret"):
			t.Errorf("CheckHTTPURL(%q) repeats the password: %v", raw, err)
		}
	}
}

func TestIdentityHeadersShareThePrefix(t *testing.T) {
	headers := IdentityHeaders()
	if len(headers) != 4 {
		t.Fatalf("IdentityHeaders() = %q, want the four headers the gateway sets", headers)
	}
	for _, h := range headers {
		if !strings.HasPrefix(h, HeaderPrefix) {
			t.Errorf("%s does not start with %s", h, HeaderPrefix)
		}
	}
	headers[0] = "changed"
	if IdentityHeaders()[0] != HeaderSubject {
		t.Error("IdentityHeaders returns a shared slice")
	}
}
