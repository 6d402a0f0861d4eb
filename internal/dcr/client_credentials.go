package dcr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// Client authentication methods at the token endpoint (RFC 6749 §2.3.1).
const (
	AuthMethodClientSecretBasic = "client_secret_basic"
	AuthMethodClientSecretPost  = "client_secret_post"
)

// TokenRequest is one client_credentials grant (RFC 6749 §4.4).
type TokenRequest struct {
	Endpoint     string
	ClientID     string
	ClientSecret string
	// AuthMethod is AuthMethodClientSecretBasic (also when empty) or AuthMethodClientSecretPost.
	AuthMethod string
	// Scopes are sent space-separated as scope, in this order; none leaves the IdP's default.
	Scopes []string
	// Audience is sent as audience, by which some IdPs (Auth0) choose the API.
	Audience string
	// Resources are RFC 8707 resource indicators, each sent as a resource parameter.
	Resources []string
}

// Token is the RFC 6749 §5.1 success answer. Pointers tell absent from empty: an absent
// scope means the requested one was granted, an empty one that none was.
type Token struct {
	AccessToken string
	TokenType   string
	ExpiresIn   *int64
	Scope       *string
}

// TokenError is an answer of the token endpoint that is not a success: RFC 6749 §5.2 error
// fields when the IdP sent them (Okta's errorCode/errorSummary otherwise). Nothing else of
// the body is kept, so no credential it might echo reaches a message.
type TokenError struct {
	StatusCode  int
	Code        string // e.g. invalid_client, invalid_scope, unauthorized_client
	Description string
	// RetryAfter is the wait the last answer asked for (Retry-After, or Okta's
	// X-Rate-Limit-Reset on a 429); zero when it did not ask.
	RetryAfter time.Duration
	// Attempts is how often the request was sent.
	Attempts int
}

func (e *TokenError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %d", e.StatusCode)
	if e.Code != "" {
		fmt.Fprintf(&b, ": %s", e.Code)
	}
	if e.Description != "" {
		fmt.Fprintf(&b, ": %s", e.Description)
	}
	return b.String()
}

// Retryable reports whether the IdP was only temporarily unable to answer (429, 5xx).
func (e *TokenError) Retryable() bool {
	return e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500
}

// ErrInvalidTokenResponse marks a 2xx answer that is not a usable token response.
var ErrInvalidTokenResponse = errors.New("the token endpoint's answer is not a token response")

// TokenClient obtains access tokens with the client_credentials grant. It retries as Client
// does (429, 5xx and connection errors, with backoff and jitter, honouring Retry-After and
// X-Rate-Limit-Reset), and a token request is re-sent even after its answer was lost: a
// second token costs nothing. It is safe for concurrent use.
type TokenClient struct {
	http      *retryablehttp.Client
	userAgent string
}

// NewTokenClient uses cfg's transport settings (HTTPClient, MaxRetries, RetryWaitMin,
// RetryWaitMax, MaxServerWait, Logger, UserAgent, with New's defaults); the registration
// settings are ignored, as a token endpoint can be used without them.
func NewTokenClient(cfg Config) *TokenClient {
	cfg = cfg.withHTTPDefaults()
	return &TokenClient{http: newRetryingClient(cfg, "token request", "token endpoint answer"), userAgent: cfg.UserAgent}
}

// ClientCredentials sends the client_credentials grant to tr.Endpoint and decodes the answer.
// A refusal is a *TokenError; a 2xx that is no token response wraps ErrInvalidTokenResponse.
func (c *TokenClient) ClientCredentials(ctx context.Context, tr TokenRequest) (*Token, error) {
	form, err := tr.form()
	if err != nil {
		return nil, err
	}
	cs := &callState{resendable: true}
	req, err := retryablehttp.NewRequestWithContext(withCallState(ctx, cs), http.MethodPost, tr.Endpoint, []byte(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	if tr.AuthMethod != AuthMethodClientSecretPost {
		// RFC 6749 §2.3.1: both are form-urlencoded before they are joined for Basic.
		req.SetBasicAuth(url.QueryEscape(tr.ClientID), url.QueryEscape(tr.ClientSecret))
	}

	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("the token endpoint could not be reached (%d attempts): %w", cs.attempts.Load(), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return nil, fmt.Errorf("reading the token endpoint's answer: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := &TokenError{StatusCode: resp.StatusCode, Attempts: int(cs.attempts.Load())}
		e.RetryAfter, _ = serverWait(resp)
		var eb errorBody
		if json.Unmarshal(body, &eb) == nil {
			e.Code, e.Description = eb.Error, eb.ErrorDescription
			if e.Code == "" && eb.OktaCode != "" {
				e.Code, e.Description = eb.OktaCode, eb.OktaSummary
			}
		}
		e.Code, e.Description = truncate(e.Code, 100), truncate(e.Description, 500)
		return nil, e
	}
	return decodeToken(body)
}

// form is the request body, with the client's credentials only for client_secret_post.
func (tr TokenRequest) form() (url.Values, error) {
	switch {
	case tr.Endpoint == "":
		return nil, errors.New("token request: no token endpoint")
	case tr.ClientID == "":
		return nil, errors.New("token request: no client_id")
	case tr.AuthMethod != "" && tr.AuthMethod != AuthMethodClientSecretBasic && tr.AuthMethod != AuthMethodClientSecretPost:
		return nil, fmt.Errorf("token request: unsupported client authentication method %q", tr.AuthMethod)
	}
	form := url.Values{"grant_type": {"client_credentials"}}
	if len(tr.Scopes) > 0 {
		form.Set("scope", strings.Join(tr.Scopes, " "))
	}
	if tr.Audience != "" {
		form.Set("audience", tr.Audience)
	}
	for _, res := range tr.Resources {
		form.Add("resource", res)
	}
	if tr.AuthMethod == AuthMethodClientSecretPost {
		form.Set("client_id", tr.ClientID)
		form.Set("client_secret", tr.ClientSecret)
	}
	return form, nil
}

// decodeToken reads an RFC 6749 §5.1 answer. expires_in may be a JSON number or a numeric
// string: some IdPs (older Azure AD endpoints among them) send a string.
func decodeToken(body []byte) (*Token, error) {
	var raw struct {
		AccessToken string          `json:"access_token"`
		TokenType   string          `json:"token_type"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
		Scope       *string         `json:"scope"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidTokenResponse, err)
	}
	if raw.AccessToken == "" {
		return nil, fmt.Errorf("%w: it carries no access_token", ErrInvalidTokenResponse)
	}
	tok := &Token{AccessToken: raw.AccessToken, TokenType: raw.TokenType, Scope: raw.Scope}
	if len(raw.ExpiresIn) == 0 || string(raw.ExpiresIn) == "null" {
		return tok, nil
	}
	n, err := strconv.ParseInt(strings.Trim(string(raw.ExpiresIn), `"`), 10, 64)
	if err != nil || n < 0 {
		return nil, fmt.Errorf("%w: expires_in %s is not a number of seconds", ErrInvalidTokenResponse, raw.ExpiresIn)
	}
	tok.ExpiresIn = &n
	return tok, nil
}
