package token

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// Both JWKS fetches and introspection calls go to a URL an API names. What they share:
// only a 200 is an answer, a body is read up to a cap (an IdP cannot make the gateway buffer
// an unbounded document), and a URL appears in logs only with its password redacted.

// errorBodyDrain is how much of a non-200 body is read so the connection can be reused.
const errorBodyDrain = 4096

// do sends req with client and returns the body of a 200 answer, at most maxBytes long, and
// the answer's header. Any other status, a longer body or a read error is an error that
// contains neither the request's body nor its credentials.
func do(client *http.Client, req *http.Request, maxBytes int) ([]byte, http.Header, error) {
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, errorBodyDrain))
		return nil, nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(maxBytes)+1))
	if err != nil {
		return nil, nil, fmt.Errorf("read body: %w", err)
	}
	if len(body) > maxBytes {
		return nil, nil, fmt.Errorf("body larger than %d bytes", maxBytes)
	}
	return body, resp.Header, nil
}

// redacted is raw for logs: a password in its user info is replaced by "xxxxx".
func redacted(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	return "(unparsable URL)"
}
