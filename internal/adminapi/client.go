package adminapi

import (
	"bytes"
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
	"unicode/utf8"
)

// maxResponseBytes bounds what the client reads from the gateway.
const (
	maxResponseBytes = 4 << 20
	defaultTimeout   = 30 * time.Second
)

// Client talks to the gateway's admin API.
type Client struct {
	baseURL *url.URL
	token   string
	http    *http.Client
}

// NewClient returns a client for the admin API at baseURL (e.g. "http://127.0.0.1:8081").
// httpClient may be nil, in which case a client with a 30s timeout is used.
func NewClient(baseURL, token string, httpClient *http.Client) (*Client, error) {
	if err := CheckHTTPURL(baseURL); err != nil {
		return nil, fmt.Errorf("gateway URL: %w", err)
	}
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("gateway URL: %w", err)
	}
	if token == "" {
		return nil, errors.New("gateway admin token is empty")
	}
	if httpClient == nil {
		httpClient = &http.Client{Timeout: defaultTimeout}
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return &Client{baseURL: u, token: token, http: httpClient}, nil
}

// The two collections, /v1/apis and /v1/policies, answer the same way: POST creates, GET,
// PUT and DELETE address one member by id, GET pages through them. The generic functions
// below are that one way; each method names its collection and its type.
const (
	apisPath     = "/v1/apis"
	policiesPath = "/v1/policies"
)

// CreateAPI registers a protected API; the answer carries its ID.
func (c *Client) CreateAPI(ctx context.Context, api API) (*API, error) {
	return create(ctx, c, apisPath, api)
}

// GetAPI reads one API.
func (c *Client) GetAPI(ctx context.Context, id string) (*API, error) {
	return get[API](ctx, c, apisPath, id)
}

// UpdateAPI replaces an API's configuration.
func (c *Client) UpdateAPI(ctx context.Context, id string, api API) (*API, error) {
	return replace(ctx, c, apisPath, id, api)
}

// DeleteAPI removes an API.
func (c *Client) DeleteAPI(ctx context.Context, id string) error {
	return c.delete(ctx, apisPath, id)
}

// ListAPIs lists every API, page by page.
func (c *Client) ListAPIs(ctx context.Context) ([]API, error) {
	return listAll[API, APIList](ctx, c, apisPath)
}

// ListAPIsPage reads one page of up to limit APIs whose ids sort after `after` ("" for the
// first page; 0 for the gateway's default limit).
func (c *Client) ListAPIsPage(ctx context.Context, after string, limit int) (*APIList, error) {
	return listPage[APIList](ctx, c, apisPath, after, limit)
}

// CreatePolicy creates an access policy; the answer carries its ID.
func (c *Client) CreatePolicy(ctx context.Context, p Policy) (*Policy, error) {
	return create(ctx, c, policiesPath, p)
}

// GetPolicy reads one policy.
func (c *Client) GetPolicy(ctx context.Context, id string) (*Policy, error) {
	return get[Policy](ctx, c, policiesPath, id)
}

// UpdatePolicy replaces a policy.
func (c *Client) UpdatePolicy(ctx context.Context, id string, p Policy) (*Policy, error) {
	return replace(ctx, c, policiesPath, id, p)
}

// DeletePolicy removes a policy.
func (c *Client) DeletePolicy(ctx context.Context, id string) error {
	return c.delete(ctx, policiesPath, id)
}

// ListPolicies lists every policy, page by page.
func (c *Client) ListPolicies(ctx context.Context) ([]Policy, error) {
	return listAll[Policy, PolicyList](ctx, c, policiesPath)
}

// ListPoliciesPage reads one page of up to limit policies whose ids sort after `after`.
func (c *Client) ListPoliciesPage(ctx context.Context, after string, limit int) (*PolicyList, error) {
	return listPage[PolicyList](ctx, c, policiesPath, after, limit)
}

func create[T any](ctx context.Context, c *Client, collection string, in T) (*T, error) {
	var out T
	return &out, c.do(ctx, http.MethodPost, collection, in, &out)
}

func get[T any](ctx context.Context, c *Client, collection, id string) (*T, error) {
	var out T
	return &out, c.do(ctx, http.MethodGet, collection+"/"+url.PathEscape(id), nil, &out)
}

func replace[T any](ctx context.Context, c *Client, collection, id string, in T) (*T, error) {
	var out T
	return &out, c.do(ctx, http.MethodPut, collection+"/"+url.PathEscape(id), in, &out)
}

func (c *Client) delete(ctx context.Context, collection, id string) error {
	return c.do(ctx, http.MethodDelete, collection+"/"+url.PathEscape(id), nil, nil)
}

func listPage[L any](ctx context.Context, c *Client, collection, after string, limit int) (*L, error) {
	var out L
	return &out, c.do(ctx, http.MethodGet, collection+pageQuery(after, limit), nil, &out)
}

// page is a list answer's members and the ?after= of the next page.
type page[T any] interface{ page() ([]T, string) }

func (l *APIList) page() ([]API, string)       { return l.APIs, l.NextAfter }
func (l *PolicyList) page() ([]Policy, string) { return l.Policies, l.NextAfter }

// listAll reads every page of a collection, MaxPageSize at a time.
func listAll[T, L any, PL interface {
	*L
	page[T]
}](ctx context.Context, c *Client, collection string) ([]T, error) {
	var all []T
	for after := ""; ; {
		out, err := listPage[L](ctx, c, collection, after, MaxPageSize)
		if err != nil {
			return nil, err
		}
		items, next := PL(out).page()
		all = append(all, items...)
		if after = next; after == "" {
			return all, nil
		}
	}
}

func pageQuery(after string, limit int) string {
	q := url.Values{}
	if after != "" {
		q.Set("after", after)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encoding request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	// path comes escaped (an id by url.PathEscape, a query by url.Values) and goes on the wire
	// as it is, after the base URL's own path: u.Path alone would be escaped a second time.
	ref, err := url.Parse(path)
	if err != nil {
		return err
	}
	u := *c.baseURL
	u.Path += ref.Path
	u.RawPath = c.baseURL.EscapedPath() + ref.EscapedPath()
	u.RawQuery = ref.RawQuery
	path = ref.EscapedPath()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("gateway admin API at %s unreachable: %w", c.baseURL.Redacted(), err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return fmt.Errorf("reading gateway admin API answer: %w", err)
	}
	if resp.StatusCode >= 300 {
		apiErr := &Error{}
		if json.Unmarshal(raw, apiErr) != nil || apiErr.Message == "" {
			apiErr = &Error{Code: CodeInternal, Message: plainMessage(resp.StatusCode, raw)}
		}
		apiErr.Status = resp.StatusCode
		return apiErr
	}
	if out == nil || len(raw) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decoding gateway admin API answer to %s %s: %w", method, path, err)
	}
	return nil
}

// plainMessage is the message of an answer that is not the admin API's JSON: net/http's own
// answer (e.g. "Client sent an HTTP request to an HTTPS server." when gateway_url says http://
// to a TLS listener) or a proxy's. A short one-line text body is kept, so the user reads what
// went wrong; anything else becomes the status text.
func plainMessage(status int, body []byte) string {
	text := strings.TrimSpace(string(body))
	if text == "" || len(text) > 200 || strings.ContainsAny(text, "\n<{") || !utf8.ValidString(text) {
		return http.StatusText(status)
	}
	return text
}
