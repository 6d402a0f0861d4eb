package dcr

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RequestCap bounds the requests sent to one identity provider by everything that shares
// it (in the provider: every resource, data source and ephemeral resource of one provider
// instance): at most PerSecond requests a second, spaced evenly (no bursts), and at most
// Concurrent requests in flight. Every attempt counts, retries and discovery included, so
// an apply of hundreds of clients stays under an IdP's documented limit instead of leaning
// on its 429s; the retries on 429 stay as the safety net.
type RequestCap struct {
	limiter *rate.Limiter // nil: no rate cap
	slots   chan struct{} // nil: no concurrency cap
}

// NewRequestCap returns a cap of perSecond requests a second and concurrent requests at
// once; 0 leaves that dimension unbounded.
func NewRequestCap(perSecond float64, concurrent int) (*RequestCap, error) {
	if perSecond < 0 || concurrent < 0 {
		return nil, fmt.Errorf("request cap: %g requests a second and %d at once: neither may be negative", perSecond, concurrent)
	}
	c := &RequestCap{}
	if perSecond > 0 {
		// A burst of 1: an IdP counting in any one-second window sees at most
		// floor(perSecond)+1 requests.
		c.limiter = rate.NewLimiter(rate.Limit(perSecond), 1)
	}
	if concurrent > 0 {
		c.slots = make(chan struct{}, concurrent)
	}
	return c, nil
}

// acquire waits for a slot, then for the request's turn; a slot is taken first so that a
// request is sent as soon as its turn comes, never bunched up with others behind a slot.
func (c *RequestCap) acquire(ctx context.Context) error {
	if c.slots != nil {
		select {
		case c.slots <- struct{}{}:
		case <-ctx.Done():
			return fmt.Errorf("waiting for a free slot of max_concurrent_requests: %w", ctx.Err())
		}
	}
	if c.limiter != nil {
		if err := c.limiter.Wait(ctx); err != nil {
			c.release()
			return fmt.Errorf("waiting for a turn under max_requests_per_second: %w", err)
		}
	}
	return nil
}

func (c *RequestCap) release() {
	if c.slots != nil {
		<-c.slots
	}
}

// Client returns an HTTP client that sends each request through base under the cap. The
// attempt timeout starts once the request's turn has come: waiting in line is not the IdP
// being slow, and a long apply at a low rate must not time out in the queue. A request
// keeps its slot until its answer's body is closed.
func (c *RequestCap) Client(base http.RoundTripper, attemptTimeout time.Duration) *http.Client {
	return &http.Client{Transport: &cappedTransport{cap: c, base: base, timeout: attemptTimeout}}
}

type cappedTransport struct {
	cap     *RequestCap
	base    http.RoundTripper
	timeout time.Duration
}

func (t *cappedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.cap.acquire(req.Context()); err != nil {
		if req.Body != nil {
			_ = req.Body.Close() // a RoundTripper closes the body, even on error
		}
		return nil, err
	}
	ctx, cancel := req.Context(), context.CancelFunc(func() {})
	if t.timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, t.timeout)
	}
	resp, err := t.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		t.cap.release()
		return nil, err
	}
	resp.Body = &releasingBody{ReadCloser: resp.Body, done: func() { cancel(); t.cap.release() }}
	return resp, nil
}

// releasingBody gives the request's slot back, and ends its timeout, when the body is
// closed; once, however often Close is called.
type releasingBody struct {
	io.ReadCloser
	once sync.Once
	done func()
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.done)
	return err
}
