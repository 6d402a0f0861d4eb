package dcr

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// callState follows one logical call across its attempts, so the retry policy can tell a
// request that never left (safe to send again) from one whose answer was lost.
type callState struct {
	// resendable: the request may be sent again after its answer was lost (not a POST: a
	// second registration would leave an orphaned client at the IdP).
	resendable bool
	// writes counts how often the current attempt's request was written in full: more than
	// once means net/http replayed it (it does so for GET on a dropped keep-alive connection).
	writes atomic.Int32
	// lostAnswer is set when some attempt was written but got no answer.
	lostAnswer atomic.Bool
	// attempts counts the attempts, for error messages.
	attempts atomic.Int32
}

type callStateKey struct{}

func withCallState(ctx context.Context, cs *callState) context.Context {
	ctx = context.WithValue(ctx, callStateKey{}, cs)
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err == nil {
				cs.writes.Add(1)
			}
		},
	})
}

func callStateFrom(ctx context.Context) *callState {
	if cs, ok := ctx.Value(callStateKey{}).(*callState); ok {
		return cs
	}
	return &callState{}
}

// retryPolicy decides, after each attempt, whether to try again. It is the CheckRetry of
// go-retryablehttp with two additions: a request whose answer was lost is never re-sent
// unless resendable, and a server that asks to wait longer than maxWait is not waited for.
type retryPolicy struct {
	maxWait time.Duration
	log     Logger
}

func (p retryPolicy) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	cs := callStateFrom(ctx)
	cs.attempts.Add(1)
	if cs.writes.Load() > 1 {
		cs.lostAnswer.Store(true)
	}
	if err != nil {
		if cs.writes.Load() > 0 {
			cs.lostAnswer.Store(true)
			if !cs.resendable {
				p.log.debug(ctx, "answer lost after the request was sent; not re-sending", map[string]any{"error": err.Error()})
				return false, fmt.Errorf("%w: %w", ErrOutcomeUnknown, err)
			}
		}
		// The operation's time is up (its timeouts block, or Terraform was interrupted); a
		// request already written was classified above.
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		// The library's policy knows which transport errors are permanent (TLS, scheme...).
		retry, _ := retryablehttp.DefaultRetryPolicy(ctx, nil, err)
		if retry {
			p.log.debug(ctx, "connection error, will retry", map[string]any{"error": err.Error()})
		}
		return retry, nil
	}

	var retry bool
	switch code := resp.StatusCode; {
	case code == http.StatusTooManyRequests, code == http.StatusServiceUnavailable:
		// The server refused the request without acting on it: safe for every method.
		retry = true
	case code >= 500 && code != http.StatusNotImplemented:
		// Other 5xx may come after the server acted (a gateway timing out a slow backend).
		retry = cs.resendable
	}
	if !retry {
		return false, nil
	}
	if wait, ok := serverWait(resp); ok && wait > p.maxWait {
		p.log.warn(ctx, "identity provider asks to wait longer than allowed; giving up", map[string]any{
			"status": resp.StatusCode, "wait": wait.String(), "max_wait": p.maxWait.String()})
		return false, nil
	}
	p.log.debug(ctx, "identity provider temporarily unavailable, will retry", map[string]any{
		"status": resp.StatusCode, "method": resp.Request.Method, "url": resp.Request.URL.String()})
	return true, nil
}

// prepareRetry starts a new attempt's bookkeeping.
func (p retryPolicy) prepareRetry(req *http.Request) error {
	callStateFrom(req.Context()).writes.Store(0)
	return nil
}

// backoff is exponential with equal jitter, bounded by max, unless the server said how long
// to wait (Retry-After, or Okta's X-Rate-Limit-Reset on a 429): then that, plus a little
// jitter so that parallel callers do not return in lockstep.
func backoff(lo, hi time.Duration, attempt int, resp *http.Response) time.Duration {
	if wait, ok := serverWait(resp); ok {
		return wait + jitter(lo/2)
	}
	d := lo << min(attempt, 30)
	if d <= 0 || d > hi {
		d = hi
	}
	return d/2 + jitter(d/2)
}

func jitter(upTo time.Duration) time.Duration {
	if upTo <= 0 {
		return 0
	}
	return rand.N(upTo)
}

// serverWait is how long the server asked the client to wait before trying again.
func serverWait(resp *http.Response) (time.Duration, bool) {
	if resp == nil {
		return 0, false
	}
	if v := resp.Header.Get("Retry-After"); v != "" {
		if secs, err := strconv.ParseInt(v, 10, 64); err == nil && secs >= 0 {
			return time.Duration(secs) * time.Second, true
		}
		if at, err := http.ParseTime(v); err == nil {
			return max(time.Until(at), 0), true
		}
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		// Okta: the epoch second at which the rate-limit window resets.
		if v := resp.Header.Get("X-Rate-Limit-Reset"); v != "" {
			if epoch, err := strconv.ParseInt(v, 10, 64); err == nil {
				return max(time.Until(time.Unix(epoch, 0)), 0), true
			}
		}
	}
	return 0, false
}

// isOutcomeUnknown reports whether err (from go-retryablehttp) means the answer was lost.
func isOutcomeUnknown(err error) bool { return errors.Is(err, ErrOutcomeUnknown) }
