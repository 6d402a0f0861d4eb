package mockidp

import (
	"net/http"
	"strconv"
	"time"
)

// oktaRateLimit is the per-minute limit the okta flavour advertises. It is only advertised,
// never enforced: rate limiting is injected with Faults so tests stay deterministic.
const oktaRateLimit = 600

// rateWindow counts requests in the current clock minute, as Okta's headers do.
type rateWindow struct {
	start time.Time
	count int
}

// setRateLimitHeaders sets Okta's X-Rate-Limit-Limit, -Remaining and -Reset (epoch seconds
// at which the window resets) on an answer.
func (s *Server) setRateLimitHeaders(w http.ResponseWriter) {
	now := time.Now()
	s.mu.Lock()
	if now.Sub(s.rateWindow.start) >= time.Minute {
		s.rateWindow = rateWindow{start: now.Truncate(time.Minute)}
	}
	s.rateWindow.count++
	remaining := max(oktaRateLimit-s.rateWindow.count, 0)
	reset := s.rateWindow.start.Add(time.Minute).Unix()
	s.mu.Unlock()

	h := w.Header()
	h.Set("X-Rate-Limit-Limit", strconv.Itoa(oktaRateLimit))
	h.Set("X-Rate-Limit-Remaining", strconv.Itoa(remaining))
	h.Set("X-Rate-Limit-Reset", strconv.FormatInt(reset, 10))
}
