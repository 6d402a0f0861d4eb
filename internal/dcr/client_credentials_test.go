package dcr

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/mockidp"
)

// newTestTokenClient retries fast, so that only a server's own wait takes time.
func newTestTokenClient(maxRetries int, log Logger) *TokenClient {
	return NewTokenClient(Config{
		HTTPClient: &http.Client{Timeout: 5 * time.Second}, MaxRetries: maxRetries,
		RetryWaitMin: 10 * time.Millisecond, RetryWaitMax: 50 * time.Millisecond,
		Logger: log, UserAgent: "idpgate-test",
	})
}

// TestClientCredentials_authMethods obtains a real token from the mock IdP with each client
// authentication method and checks what went over the wire.
func TestClientCredentials_authMethods(t *testing.T) {
	for _, method := range []string{"", AuthMethodClientSecretBasic, AuthMethodClientSecretPost} {
		t.Run("method="+method, func(t *testing.T) {
			t.Parallel()
			idp := mockidp.NewTestServer(t, mockidp.Options{})
			svc := idp.RegisterServiceClient(t, "orders:read orders:write")
			tok, err := newTestTokenClient(0, nil).ClientCredentials(context.Background(), TokenRequest{
				Endpoint: idp.TokenEndpoint(), ClientID: svc.ClientID, ClientSecret: svc.ClientSecret,
				AuthMethod: method, Scopes: []string{"orders:read"},
			})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Count(tok.AccessToken, ".") != 2 || tok.TokenType != "Bearer" {
				t.Errorf("token %q of type %q, want a JWT of type Bearer", tok.AccessToken, tok.TokenType)
			}
			if tok.ExpiresIn == nil || *tok.ExpiresIn != 300 || tok.Scope == nil || *tok.Scope != "orders:read" {
				t.Errorf("expires_in %v scope %v, want 300 and orders:read", tok.ExpiresIn, tok.Scope)
			}

			reqs := idp.RequestsTo(http.MethodPost, idp.TokenEndpoint())
			if len(reqs) != 1 {
				t.Fatalf("IdP received %d token requests, want 1", len(reqs))
			}
			r := reqs[0]
			form, _ := url.ParseQuery(string(r.Body))
			if form.Get("grant_type") != "client_credentials" || form.Get("scope") != "orders:read" ||
				r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || r.Header.Get("User-Agent") != "idpgate-test" {
				t.Errorf("token request: form %v, headers %v", form, r.Header)
			}
			user, pass, basic := (&http.Request{Header: r.Header}).BasicAuth()
			if method == AuthMethodClientSecretPost {
				if basic || form.Get("client_id") != svc.ClientID || form.Get("client_secret") != svc.ClientSecret {
					t.Errorf("client_secret_post sent Authorization %q and form %v", r.Header.Get("Authorization"), form)
				}
				return
			}
			if !basic || user != svc.ClientID || pass != svc.ClientSecret || form.Has("client_secret") || form.Has("client_id") {
				t.Errorf("client_secret_basic sent Authorization %q and form %v", r.Header.Get("Authorization"), form)
			}
		})
	}
}

// recordingServer answers every request with answer and keeps what it received.
type recordingServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []*http.Request
	forms    []url.Values
}

func newRecordingServer(t *testing.T, answer func(w http.ResponseWriter, n int)) *recordingServer {
	t.Helper()
	rs := &recordingServer{}
	rs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Errorf("token request body: %v", err)
		}
		rs.mu.Lock()
		rs.requests = append(rs.requests, r)
		rs.forms = append(rs.forms, r.PostForm)
		n := len(rs.requests)
		rs.mu.Unlock()
		answer(w, n)
	}))
	t.Cleanup(rs.Close)
	return rs
}

func (rs *recordingServer) received() ([]*http.Request, []url.Values) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return slices.Clone(rs.requests), slices.Clone(rs.forms)
}

func answerJSON(status int, body string) func(http.ResponseWriter, int) {
	return func(w http.ResponseWriter, _ int) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

const textbookToken = `{"access_token":"a.b.c","token_type":"Bearer","expires_in":3600}`

// TestClientCredentials_basicFormEncodesCredentials: RFC 6749 §2.3.1 form-urlencodes the
// client id and secret before they are joined for Basic, so ':' in an id cannot shift the split.
func TestClientCredentials_basicFormEncodesCredentials(t *testing.T) {
	t.Parallel()
	srv := newRecordingServer(t, answerJSON(http.StatusOK, textbookToken))
	id, secret := "svc:one two", "s3cr+t/%=:"
	if _, err := newTestTokenClient(0, nil).ClientCredentials(context.Background(), TokenRequest{
		Endpoint: srv.URL, ClientID: id, ClientSecret: secret}); err != nil {
		t.Fatal(err)
	}
	reqs, _ := srv.received()
	user, pass, ok := reqs[0].BasicAuth()
	if !ok || user != url.QueryEscape(id) || pass != url.QueryEscape(secret) {
		t.Fatalf("Basic credentials %q:%q, want the form-encoded %q:%q", user, pass, url.QueryEscape(id), url.QueryEscape(secret))
	}
	if u, _ := url.QueryUnescape(user); u != id {
		t.Errorf("client id decodes to %q, want %q", u, id)
	}
}

// TestClientCredentials_requestParameters: scopes in the given order, audience, and one
// resource parameter per RFC 8707 indicator; no scope parameter when none is asked for.
func TestClientCredentials_requestParameters(t *testing.T) {
	t.Parallel()
	srv := newRecordingServer(t, answerJSON(http.StatusOK, textbookToken))
	c := newTestTokenClient(0, nil)
	ctx := context.Background()
	if _, err := c.ClientCredentials(ctx, TokenRequest{Endpoint: srv.URL, ClientID: "svc", ClientSecret: "s",
		Scopes: []string{"b", "a"}, Audience: "https://orders.example.com",
		Resources: []string{"https://x.example.com/", "https://y.example.com/"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ClientCredentials(ctx, TokenRequest{Endpoint: srv.URL, ClientID: "svc", ClientSecret: "s"}); err != nil {
		t.Fatal(err)
	}
	_, forms := srv.received()
	if len(forms) != 2 {
		t.Fatalf("server received %d requests, want 2", len(forms))
	}
	if f := forms[0]; f.Get("scope") != "b a" || f.Get("audience") != "https://orders.example.com" ||
		!slices.Equal(f["resource"], []string{"https://x.example.com/", "https://y.example.com/"}) {
		t.Errorf("first request form = %v", f)
	}
	if f := forms[1]; f.Has("scope") || f.Has("audience") || f.Has("resource") || f.Get("grant_type") != "client_credentials" {
		t.Errorf("second request form = %v, want grant_type alone", f)
	}
}

// TestClientCredentials_rejectsBadRequests before anything is sent.
func TestClientCredentials_rejectsBadRequests(t *testing.T) {
	t.Parallel()
	srv := newRecordingServer(t, answerJSON(http.StatusOK, textbookToken))
	for name, tr := range map[string]TokenRequest{
		"no endpoint":          {ClientID: "svc", ClientSecret: "s"},
		"no client":            {Endpoint: srv.URL, ClientSecret: "s"},
		"unknown auth method":  {Endpoint: srv.URL, ClientID: "svc", ClientSecret: "s", AuthMethod: "private_key_jwt"},
		"endpoint not a URL":   {Endpoint: "://nowhere", ClientID: "svc", ClientSecret: "s"},
		"unsupported protocol": {Endpoint: "ftp://idp.example.com/token", ClientID: "svc", ClientSecret: "s"},
	} {
		if _, err := newTestTokenClient(2, nil).ClientCredentials(context.Background(), tr); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if reqs, _ := srv.received(); len(reqs) != 0 {
		t.Errorf("server received %d requests, want none", len(reqs))
	}
}

// TestClientCredentials_retries: 503, 429 and a dropped connection are retried (a token
// request is resendable, even after its answer was lost); a persistent 500 ends in a
// TokenError that counts the attempts; a Retry-After beyond MaxServerWait is not waited for.
func TestClientCredentials_retries(t *testing.T) {
	cases := map[string]struct {
		faults       mockidp.Faults
		maxRetries   int
		wantAttempts int
		wantStatus   int // 0: success
		wantCode     string
		wantWait     time.Duration
	}{
		"one 503":                     {faults: mockidp.Faults{Status: http.StatusServiceUnavailable, Next: 1}, maxRetries: 2, wantAttempts: 2},
		"one 429 with Retry-After 1s": {faults: mockidp.Faults{Status: http.StatusTooManyRequests, Next: 1}, maxRetries: 2, wantAttempts: 2},
		"one dropped connection":      {faults: mockidp.Faults{Drop: true, Next: 1}, maxRetries: 2, wantAttempts: 2},
		"answer lost after serving":   {faults: mockidp.Faults{DropAfterServing: true, Next: 1}, maxRetries: 2, wantAttempts: 2},
		"500 until retries run out": {faults: mockidp.Faults{Status: http.StatusInternalServerError}, maxRetries: 1,
			wantAttempts: 2, wantStatus: 500, wantCode: "server_error"},
		"429 asking for 10 minutes": {faults: mockidp.Faults{Status: http.StatusTooManyRequests, RetryAfter: 10 * time.Minute},
			maxRetries: 3, wantAttempts: 1, wantStatus: 429, wantCode: "temporarily_unavailable", wantWait: 10 * time.Minute},
		"400 is not retried": {faults: mockidp.Faults{Status: http.StatusBadRequest}, maxRetries: 3,
			wantAttempts: 1, wantStatus: 400, wantCode: "invalid_request"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			idp := mockidp.NewTestServer(t, mockidp.Options{})
			svc := idp.RegisterServiceClient(t, "orders:read")
			tc.faults.PathPrefix, tc.faults.Method = "/token", http.MethodPost
			idp.SetFaults(tc.faults)
			tok, err := newTestTokenClient(tc.maxRetries, nil).ClientCredentials(context.Background(), TokenRequest{
				Endpoint: idp.TokenEndpoint(), ClientID: svc.ClientID, ClientSecret: svc.ClientSecret})
			if n := len(idp.RequestsTo(http.MethodPost, idp.TokenEndpoint())); n != tc.wantAttempts {
				t.Errorf("IdP received %d token requests, want %d", n, tc.wantAttempts)
			}
			if tc.wantStatus == 0 {
				if err != nil || tok.AccessToken == "" {
					t.Fatalf("token %v, error %v; want a token", tok, err)
				}
				return
			}
			var e *TokenError
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not a *TokenError", err)
			}
			if e.StatusCode != tc.wantStatus || e.Code != tc.wantCode || e.Description != "injected fault" ||
				e.Attempts != tc.wantAttempts || e.RetryAfter != tc.wantWait {
				t.Errorf("TokenError %+v, want status %d code %s after %d attempts, wait %s",
					*e, tc.wantStatus, tc.wantCode, tc.wantAttempts, tc.wantWait)
			}
		})
	}
}

// TestClientCredentials_honoursXRateLimitReset: Okta says when its rate-limit window resets
// (epoch seconds) instead of sending Retry-After; the retry waits until then, and a reset
// beyond MaxServerWait is not waited for.
func TestClientCredentials_honoursXRateLimitReset(t *testing.T) {
	t.Run("waits for the reset", func(t *testing.T) {
		t.Parallel()
		var reset, retriedAt atomic.Int64 // epoch seconds; Unix nanoseconds
		srv := newRecordingServer(t, func(w http.ResponseWriter, n int) {
			retriedAt.Store(time.Now().UnixNano())
			if n == 1 {
				reset.Store(time.Now().Unix() + 1)
				w.Header().Set("X-Rate-Limit-Remaining", "0")
				w.Header().Set("X-Rate-Limit-Reset", strconv.FormatInt(reset.Load(), 10))
				answerJSON(http.StatusTooManyRequests, `{"errorCode":"E0000047","errorSummary":"API call exceeded rate limit"}`)(w, n)
				return
			}
			answerJSON(http.StatusOK, textbookToken)(w, n)
		})
		if _, err := newTestTokenClient(1, nil).ClientCredentials(context.Background(), TokenRequest{
			Endpoint: srv.URL, ClientID: "svc", ClientSecret: "s"}); err != nil {
			t.Fatal(err)
		}
		reqs, _ := srv.received()
		if len(reqs) != 2 {
			t.Fatalf("server received %d requests, want 2", len(reqs))
		}
		// The fast test backoff (at most 50ms) would have retried well before the reset.
		if at := time.Unix(0, retriedAt.Load()); at.Before(time.Unix(reset.Load(), 0)) {
			t.Errorf("retried at %s, before the window reset at %s", at, time.Unix(reset.Load(), 0))
		}
	})
	t.Run("reset too far away", func(t *testing.T) {
		t.Parallel()
		srv := newRecordingServer(t, func(w http.ResponseWriter, n int) {
			w.Header().Set("X-Rate-Limit-Reset", strconv.FormatInt(time.Now().Add(10*time.Minute).Unix(), 10))
			answerJSON(http.StatusTooManyRequests, `{"errorCode":"E0000047","errorSummary":"API call exceeded rate limit"}`)(w, n)
		})
		_, err := newTestTokenClient(3, nil).ClientCredentials(context.Background(), TokenRequest{
			Endpoint: srv.URL, ClientID: "svc", ClientSecret: "s"})
		var e *TokenError
		if !errors.As(err, &e) || e.Attempts != 1 || e.RetryAfter < 9*time.Minute || e.Code != "E0000047" {
			t.Fatalf("error %#v, want a TokenError after 1 attempt asking for about 10m, with Okta's code", err)
		}
		if reqs, _ := srv.received(); len(reqs) != 1 {
			t.Errorf("server received %d requests, want 1", len(reqs))
		}
	})
}

// TestClientCredentials_answerForms: what real token endpoints send besides the textbook answer.
func TestClientCredentials_answerForms(t *testing.T) {
	i64 := func(n int64) *int64 { return &n }
	str := func(s string) *string { return &s }
	cases := map[string]struct {
		answer    string
		want      *Token
		wantWords string // an ErrInvalidTokenResponse that says these words
	}{
		"textbook":                {textbookToken, &Token{AccessToken: "a.b.c", TokenType: "Bearer", ExpiresIn: i64(3600)}, ""},
		"expires_in as a string":  {`{"access_token":"a.b.c","token_type":"Bearer","expires_in":"3600"}`, &Token{AccessToken: "a.b.c", TokenType: "Bearer", ExpiresIn: i64(3600)}, ""},
		"expires_in null":         {`{"access_token":"a.b.c","expires_in":null}`, &Token{AccessToken: "a.b.c"}, ""},
		"scope empty, not absent": {`{"access_token":"a.b.c","token_type":"Bearer","scope":""}`, &Token{AccessToken: "a.b.c", TokenType: "Bearer", Scope: str("")}, ""},
		"scope narrowed":          {`{"access_token":"a.b.c","scope":"orders:read"}`, &Token{AccessToken: "a.b.c", Scope: str("orders:read")}, ""},
		"negative expires_in":     {`{"access_token":"a.b.c","expires_in":-5}`, nil, "expires_in -5 is not a number of seconds"},
		"expires_in not a number": {`{"access_token":"a.b.c","expires_in":"soon"}`, nil, `expires_in "soon" is not a number`},
		"no access_token":         {`{"token_type":"Bearer"}`, nil, "carries no access_token"},
		"not JSON":                {`<html>login</html>`, nil, "not a token response"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := newRecordingServer(t, answerJSON(http.StatusOK, tc.answer))
			tok, err := newTestTokenClient(0, nil).ClientCredentials(context.Background(), TokenRequest{
				Endpoint: srv.URL, ClientID: "svc", ClientSecret: "s"})
			if tc.want == nil {
				if !errors.Is(err, ErrInvalidTokenResponse) || !strings.Contains(err.Error(), tc.wantWords) {
					t.Fatalf("error %v, want ErrInvalidTokenResponse saying %q", err, tc.wantWords)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, want := fmt.Sprint(describe(tok)), fmt.Sprint(describe(tc.want)); got != want {
				t.Errorf("token %s, want %s", got, want)
			}
		})
	}
}

// describe shows a Token with its pointers followed.
func describe(t *Token) string {
	in, scope := "absent", "absent"
	if t.ExpiresIn != nil {
		in = strconv.FormatInt(*t.ExpiresIn, 10)
	}
	if t.Scope != nil {
		scope = strconv.Quote(*t.Scope)
	}
	return fmt.Sprintf("{%s %s expires_in=%s scope=%s}", t.AccessToken, t.TokenType, in, scope)
}

// TestClientCredentials_errorAnswers keep the RFC 6749 §5.2 fields (or Okta's), bounded, and
// nothing else of the body: an IdP that echoes the request must not put the secret in an error.
func TestClientCredentials_errorAnswers(t *testing.T) {
	const secret = "s3cret-value"
	long := strings.Repeat("é", 600)
	cases := map[string]struct {
		status             int
		body               string
		wantCode, wantDesc string
		wantError          string
	}{
		"RFC 6749": {401, `{"error":"invalid_client","error_description":"Client authentication failed","client_secret":"` + secret + `"}`,
			"invalid_client", "Client authentication failed", "HTTP 401: invalid_client: Client authentication failed"},
		"Okta":        {400, `{"errorCode":"E0000001","errorSummary":"Api validation failed"}`, "E0000001", "Api validation failed", "HTTP 400: E0000001: Api validation failed"},
		"HTML":        {502, `<html>` + secret + `</html>`, "", "", "HTTP 502"},
		"long, UTF-8": {400, `{"error":"invalid_request","error_description":"` + long + `"}`, "invalid_request", strings.Repeat("é", 500) + "…", ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := newRecordingServer(t, answerJSON(tc.status, tc.body))
			_, err := newTestTokenClient(0, nil).ClientCredentials(context.Background(), TokenRequest{
				Endpoint: srv.URL, ClientID: "svc", ClientSecret: secret, AuthMethod: AuthMethodClientSecretPost})
			var e *TokenError
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not a *TokenError", err)
			}
			if e.StatusCode != tc.status || e.Code != tc.wantCode || e.Description != tc.wantDesc {
				t.Errorf("TokenError status %d code %q description %q, want %d %q %q", e.StatusCode, e.Code,
					e.Description, tc.status, tc.wantCode, tc.wantDesc)
			}
			if tc.wantError != "" && err.Error() != tc.wantError {
				t.Errorf("error %q, want %q", err, tc.wantError)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error quotes the client secret: %v", err)
			}
		})
	}
}

// TestClientCredentials_unreachable: a connection refused on every attempt is an error that
// says how often it was tried, and is no TokenError.
func TestClientCredentials_unreachable(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	endpoint := srv.URL + "/token"
	srv.Close()
	_, err := newTestTokenClient(2, nil).ClientCredentials(context.Background(), TokenRequest{
		Endpoint: endpoint, ClientID: "svc", ClientSecret: "s"})
	var e *TokenError
	if err == nil || errors.As(err, &e) || errors.Is(err, ErrInvalidTokenResponse) ||
		!strings.Contains(err.Error(), "could not be reached (3 attempts)") {
		t.Fatalf("error %v, want the token endpoint unreachable after 3 attempts", err)
	}
}

// TestClientCredentials_logNeverSeesCredentials: the logger hears of each attempt, and of
// neither the client secret nor the access token.
func TestClientCredentials_logNeverSeesCredentials(t *testing.T) {
	t.Parallel()
	const secret, token = "s3cret-value", "eyJ.secret-token.sig"
	srv := newRecordingServer(t, func(w http.ResponseWriter, n int) {
		if n == 1 {
			answerJSON(http.StatusServiceUnavailable, `{"error":"temporarily_unavailable"}`)(w, n)
			return
		}
		answerJSON(http.StatusOK, `{"access_token":"`+token+`","token_type":"Bearer"}`)(w, n)
	})
	var mu sync.Mutex
	var entries []string
	log := func(_ context.Context, _ Level, msg string, fields map[string]any) {
		mu.Lock()
		defer mu.Unlock()
		entries = append(entries, fmt.Sprintf("%s %v", msg, fields))
	}
	for _, method := range []string{AuthMethodClientSecretBasic, AuthMethodClientSecretPost} {
		if _, err := newTestTokenClient(1, log).ClientCredentials(context.Background(), TokenRequest{
			Endpoint: srv.URL, ClientID: "svc", ClientSecret: secret, AuthMethod: method}); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	text := strings.Join(entries, "\n")
	if !strings.Contains(text, "token request") || !strings.Contains(text, "attempt:2") {
		t.Errorf("the log lacks the attempts:\n%s", text)
	}
	if strings.Contains(text, secret) || strings.Contains(text, token) {
		t.Errorf("the log shows a credential:\n%s", text)
	}
}
