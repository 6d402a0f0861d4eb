// Package dcr registers and manages OAuth 2.0 / OpenID Connect clients at an identity
// provider through Dynamic Client Registration (RFC 7591) and its management protocol
// (RFC 7592), with one driver per IdP family for what they do differently. It knows nothing
// of Terraform.
package dcr

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// maxAnswerBytes bounds what is read of any answer of the IdP.
const maxAnswerBytes = 1 << 20

// Config configures a Client.
type Config struct {
	// Driver is one of Drivers; "" means generic.
	Driver string
	// Issuer is the IdP's issuer URL, used to discover the registration endpoint.
	Issuer string
	// RegistrationEndpoint overrides discovery.
	RegistrationEndpoint string
	// InitialAccessToken authorizes registrations (okta: the API token, for every call).
	InitialAccessToken string
	// HTTPClient sends the requests; its Timeout bounds each attempt. Default: 30s timeout.
	HTTPClient *http.Client
	// MaxRetries bounds the retries of one call after 429, 5xx or connection errors.
	MaxRetries int
	// RetryWaitMin and RetryWaitMax bound the exponential backoff (defaults 500ms and 30s).
	RetryWaitMin, RetryWaitMax time.Duration
	// MaxServerWait is the longest Retry-After / X-Rate-Limit-Reset honoured (default 2m);
	// a server asking for more gets its error returned instead.
	MaxServerWait time.Duration
	// NewClientGrace is how long after client_id_issued_at a "not found" is taken for the
	// IdP's eventual consistency rather than a deletion (default 60s; negative: never).
	NewClientGrace time.Duration
	// Logger receives debug and warning entries; nil discards them.
	Logger Logger
	// UserAgent is sent with every request.
	UserAgent string
}

// Client talks to one IdP's registration endpoint. It is safe for concurrent use.
type Client struct {
	cfg  Config
	drv  driver
	http *retryablehttp.Client

	mu       sync.Mutex
	endpoint string
}

// New checks cfg and returns a Client. It does not touch the network: discovery happens on
// first use.
func New(cfg Config) (*Client, error) {
	drv, err := driverFor(cfg.Driver)
	if err != nil {
		return nil, err
	}
	if cfg.Issuer == "" && cfg.RegistrationEndpoint == "" {
		return nil, errors.New("an issuer or a registration endpoint is required")
	}
	if cfg.Issuer != "" {
		if err := checkIssuer(cfg.Issuer); err != nil {
			return nil, err
		}
	}
	cfg = cfg.withHTTPDefaults()
	if cfg.NewClientGrace == 0 {
		cfg.NewClientGrace = time.Minute
	}
	rc := newRetryingClient(cfg, "identity provider request", "identity provider answer")
	return &Client{cfg: cfg, drv: drv, http: rc, endpoint: cfg.RegistrationEndpoint}, nil
}

// withHTTPDefaults fills in the transport settings that cfg leaves at zero.
func (cfg Config) withHTTPDefaults() Config {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.RetryWaitMin <= 0 {
		cfg.RetryWaitMin = 500 * time.Millisecond
	}
	if cfg.RetryWaitMax <= 0 {
		cfg.RetryWaitMax = 30 * time.Second
	}
	if cfg.MaxServerWait <= 0 {
		cfg.MaxServerWait = 2 * time.Minute
	}
	return cfg
}

// newRetryingClient sends requests with cfg's HTTP client under the retry policy of
// retry.go; requestMsg and answerMsg name the debug entries of each attempt.
func newRetryingClient(cfg Config, requestMsg, answerMsg string) *retryablehttp.Client {
	policy := retryPolicy{maxWait: cfg.MaxServerWait, log: cfg.Logger}
	return &retryablehttp.Client{
		HTTPClient:   cfg.HTTPClient,
		Logger:       nil, // its own logging would bypass the caller's; see the hooks below
		RetryWaitMin: cfg.RetryWaitMin,
		RetryWaitMax: cfg.RetryWaitMax,
		RetryMax:     max(cfg.MaxRetries, 0),
		CheckRetry:   policy.checkRetry,
		Backoff:      backoff,
		PrepareRetry: policy.prepareRetry,
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
		RequestLogHook: func(_ retryablehttp.Logger, req *http.Request, attempt int) {
			cfg.Logger.debug(req.Context(), requestMsg, map[string]any{
				"method": req.Method, "url": req.URL.String(), "attempt": attempt + 1})
		},
		ResponseLogHook: func(_ retryablehttp.Logger, resp *http.Response) {
			cfg.Logger.debug(resp.Request.Context(), answerMsg, map[string]any{
				"method": resp.Request.Method, "url": resp.Request.URL.String(), "status": resp.StatusCode})
		},
	}
}

// Driver is the name of the driver in use.
func (c *Client) Driver() string {
	if c.cfg.Driver == "" {
		return DriverGeneric
	}
	return c.cfg.Driver
}

// RegistrationEndpoint is the configured endpoint, or the one the issuer's discovery document
// advertises, or the driver's documented one when the document advertises none (Hydra
// advertises its endpoint only when the operator configures it). A failed discovery is tried
// again on the next call.
func (c *Client) RegistrationEndpoint(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.endpoint != "" {
		return c.endpoint, nil
	}
	doc, err := c.Discover(ctx)
	if err != nil {
		return "", err
	}
	endpoint := doc.RegistrationEndpoint
	if endpoint == "" {
		endpoint = c.drv.defaultRegistrationEndpoint(doc.Issuer)
	}
	if endpoint != "" && doc.RegistrationEndpoint == "" {
		c.cfg.Logger.debug(ctx, "discovery advertises no registration_endpoint; using the driver's documented one",
			map[string]any{"document": doc.DocumentURL, "registration_endpoint": endpoint})
	}
	if endpoint == "" {
		return "", fmt.Errorf("%w: the discovery document at %s has none, so the identity provider may not offer "+
			"dynamic client registration, or offers it without advertising it", ErrNoRegistrationEndpoint, doc.DocumentURL)
	}
	c.endpoint = endpoint
	return c.endpoint, nil
}

// Register creates a client (RFC 7591 §3.1). An error wrapping ErrOutcomeUnknown means the
// client may have been created all the same; the request is never sent twice.
func (c *Client) Register(ctx context.Context, m Metadata) (Registration, error) {
	if err := m.Validate(); err != nil {
		return Registration{}, err
	}
	endpoint, err := c.RegistrationEndpoint(ctx)
	if err != nil {
		return Registration{}, err
	}
	body := c.body(m)
	c.drv.registerBody(body, m)
	answer, err := c.do(ctx, "register", http.MethodPost, endpoint, c.drv.registerAuth(c.cfg.InitialAccessToken), body, false)
	if err != nil {
		return Registration{}, err
	}
	reg, err := decodeRegistration(answer)
	if err != nil {
		return Registration{}, fmt.Errorf("register: %w: %w", ErrOutcomeUnknown, err)
	}
	if reg.ClientID == "" {
		return Registration{}, fmt.Errorf("register: %w: the answer carries no client_id", ErrOutcomeUnknown)
	}
	return reg, nil
}

// Read fetches a client's current registration (RFC 7592 §2.1). prev is what the caller
// knows (at least registration_client_uri + registration_access_token, or client_id for
// okta); the result keeps prev's secret and token when the IdP does not repeat them, and
// takes new ones when it sends them (Keycloak, Hydra and Curity rotate).
func (c *Client) Read(ctx context.Context, prev Registration) (Registration, error) {
	target, err := c.manageURL(ctx, prev)
	if err != nil {
		return Registration{}, err
	}
	answer, err := c.do(ctx, "read", http.MethodGet, target, c.drv.manageAuth(c.cfg.InitialAccessToken, prev), nil, true)
	// Some IdPs (Okta among them) answer 404 for a moment after a registration: a client
	// created within the grace period is asked again a few times before it counts as gone.
	for wait := c.cfg.RetryWaitMin; errors.Is(err, ErrNotFound) && c.isNew(prev) && wait <= 4*c.cfg.RetryWaitMin; wait *= 2 {
		c.cfg.Logger.debug(ctx, "client not found right after its registration; asking again", map[string]any{"url": target})
		select {
		case <-ctx.Done():
			return Registration{}, ctx.Err()
		case <-time.After(wait):
		}
		answer, err = c.do(ctx, "read", http.MethodGet, target, c.drv.manageAuth(c.cfg.InitialAccessToken, prev), nil, true)
	}
	return answerAbout(prev, "read", answer, err)
}

// answerAbout is the registration an IdP's answer to op on prev's client describes, completed
// with what it did not repeat (carriedFrom), or err when the call failed.
func answerAbout(prev Registration, op string, answer []byte, err error) (Registration, error) {
	if err != nil {
		return Registration{}, err
	}
	reg, err := decodeRegistration(answer)
	if err != nil {
		return Registration{}, fmt.Errorf("%s: %w", op, err)
	}
	return reg.carriedFrom(prev), nil
}

// isNew reports whether r was issued within the grace period of eventual consistency.
func (c *Client) isNew(r Registration) bool {
	if c.cfg.NewClientGrace < 0 || r.ClientIDIssuedAt == 0 {
		return false
	}
	return time.Since(time.Unix(r.ClientIDIssuedAt, 0)) < c.cfg.NewClientGrace
}

// Update replaces a client's metadata with desired (RFC 7592 §2.2: full replacement, so
// fields left out are reset by the IdP). The body carries client_id and never the fields
// the IdP issues: Metadata has no field for them, Validate keeps them out of Extra, and
// decodeRegistration takes them out of an answer before the rest becomes Extra. The result
// keeps what the IdP did not repeat, as Read does.
func (c *Client) Update(ctx context.Context, prev Registration, desired Metadata) (Registration, error) {
	if err := desired.Validate(); err != nil {
		return Registration{}, err
	}
	target, err := c.manageURL(ctx, prev)
	if err != nil {
		return Registration{}, err
	}
	body := c.body(desired)
	body[fieldClientID] = prev.ClientID
	c.drv.updateBody(body, desired, prev)
	answer, err := c.do(ctx, "update", http.MethodPut, target, c.drv.manageAuth(c.cfg.InitialAccessToken, prev), body, true)
	return answerAbout(prev, "update", answer, err)
}

// Delete removes a client (RFC 7592 §2.3). A client that is already gone is not an error.
func (c *Client) Delete(ctx context.Context, prev Registration) error {
	target, err := c.manageURL(ctx, prev)
	if err != nil {
		return err
	}
	_, err = c.do(ctx, "delete", http.MethodDelete, target, c.drv.manageAuth(c.cfg.InitialAccessToken, prev), nil, true)
	if errors.Is(err, ErrNotFound) {
		c.cfg.Logger.debug(ctx, "client already gone at the identity provider", map[string]any{"url": target})
		return nil
	}
	return err
}

// manageURL asks the driver where the client lives, discovering the registration endpoint
// only when the driver needs it.
func (c *Client) manageURL(ctx context.Context, r Registration) (string, error) {
	if u, err := c.drv.manageURL("", r); err == nil {
		return u, nil
	}
	endpoint, err := c.RegistrationEndpoint(ctx)
	if err != nil {
		return "", err
	}
	return c.drv.manageURL(endpoint, r)
}

// body is the wire form of m. A client_credentials-only client says response_types: [],
// since the RFC 7591 default ("code") would demand redirect URIs.
func (c *Client) body(m Metadata) map[string]any {
	if m.ClientCredentialsOnly() && m.ResponseTypes == nil {
		m.ResponseTypes = []string{}
	}
	return m.wire()
}

// do sends one logical call (with retries) and returns the answer body of a 2xx.
func (c *Client) do(ctx context.Context, op, method, target, auth string, body map[string]any, resendable bool) ([]byte, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return nil, fmt.Errorf("%s: encoding the request: %w", op, err)
		}
	}
	cs := &callState{resendable: resendable}
	req, err := retryablehttp.NewRequestWithContext(withCallState(ctx, cs), method, target, bytesOrNil(payload))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if c.cfg.UserAgent != "" {
		req.Header.Set("User-Agent", c.cfg.UserAgent)
	}

	resp, err := c.http.Do(req)
	if err != nil {
		if isOutcomeUnknown(err) {
			return nil, fmt.Errorf("%s: %s %s: %w", op, method, target, err)
		}
		return nil, fmt.Errorf("%s: %s %s: %w (%d attempts): %w",
			op, method, target, ErrUnreachable, cs.attempts.Load(), err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		if !resendable {
			return nil, fmt.Errorf("%s: %s %s: %w: reading the answer: %w", op, method, target, ErrOutcomeUnknown, err)
		}
		return nil, fmt.Errorf("%s: %s %s: reading the answer: %w", op, method, target, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return answer, nil
	}

	e := newError(op, method, target, resp.StatusCode, answer)
	switch {
	case !resendable && resp.StatusCode >= 500 && resp.StatusCode != http.StatusServiceUnavailable && resp.StatusCode != http.StatusNotImplemented:
		e.outcomeUnknown = true
	case c.drv.gone(e) && cs.lostAnswer.Load() && method != http.MethodDelete:
		// An earlier attempt was processed but its answer lost: if that rotated the
		// registration access token, this 401 is about a stale token, not a deleted client.
		return nil, fmt.Errorf("%w: an earlier attempt's answer was lost and the identity provider may have rotated "+
			"the registration access token; import the client again with a fresh token: %w", ErrOutcomeUnknown, e)
	case c.drv.gone(e):
		e.notFound = true
	}
	return nil, e
}

// bytesOrNil keeps a nil payload nil, so that bodiless requests send no body.
func bytesOrNil(b []byte) any {
	if b == nil {
		return nil
	}
	return bytes.NewReader(b)
}
