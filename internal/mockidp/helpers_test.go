package mockidp_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// response is a decoded answer from the mock.
type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

// call sends a request with an optional JSON body and Authorization header.
func call(t *testing.T, method, target, authorization string, body any) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatalf("marshal body: %v", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, target, rd)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	return do(t, req)
}

// postForm sends a form, optionally with HTTP Basic client credentials.
func postForm(t *testing.T, target string, form url.Values, basicUser, basicPass string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicUser != "" {
		req.SetBasicAuth(url.QueryEscape(basicUser), url.QueryEscape(basicPass))
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) response {
	t.Helper()
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	r := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	// Arrays (Okta's lists) stay in raw for the test to decode.
	if len(raw) > 0 && raw[0] == '{' && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			t.Fatalf("decode %s: %v", raw, err)
		}
	}
	return r
}

func bearer(token string) string { return "Bearer " + token }

// expect fails the test unless the answer has this status (and, when code is set, this
// RFC 6749 error code).
func (r response) expect(t *testing.T, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.raw)
	}
	if code != "" && r.body["error"] != code {
		t.Fatalf("error = %v, want %q; body %s", r.body["error"], code, r.raw)
	}
}

func (r response) str(key string) string {
	s, _ := r.body[key].(string)
	return s
}

// strings returns a JSON array field as strings.
func (r response) strings(key string) []string {
	list, _ := r.body[key].([]any)
	out := make([]string, 0, len(list))
	for _, v := range list {
		s, _ := v.(string)
		out = append(out, s)
	}
	return out
}

// ccClient is the metadata of a client_credentials-only client, as the provider sends it.
func ccClient(name, scope string) map[string]any {
	return map[string]any{
		"client_name":    name,
		"grant_types":    []string{"client_credentials"},
		"response_types": []string{},
		"scope":          scope,
	}
}
