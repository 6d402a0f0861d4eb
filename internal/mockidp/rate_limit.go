package mockidp

import (
	"net/http"
	"time"
)

// rateLimit is the limit SetRateLimit enforces: a sliding window over the requests served.
type rateLimit struct {
	limit   int
	per     time.Duration
	served  []time.Time // arrival of the requests served within the last per, oldest first
	refused int
}

// SetRateLimit makes the IdP answer 429 (with Retry-After, and Okta's X-Rate-Limit-*
// headers for okta) to every request that arrives when limit requests have been served in
// the last per, whatever its path: a sliding window, stricter than the fixed windows and
// token buckets of real IdPs, which allow a burst at a window's edge. A refused request does
// not count against the limit. SetRateLimit(0, 0) turns it off; either call restarts the
// count of RateLimited.
func (s *Server) SetRateLimit(limit int, per time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rateLimit = rateLimit{limit: limit, per: per}
}

// RateLimited is how many requests the limit of SetRateLimit has refused.
func (s *Server) RateLimited() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rateLimit.refused
}

// overRateLimit counts a request against the limit; when it is over, it returns how long
// until the oldest request served leaves the window.
func (s *Server) overRateLimit(now time.Time) (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rl := &s.rateLimit
	if rl.limit <= 0 {
		return 0, false
	}
	i := 0
	for i < len(rl.served) && now.Sub(rl.served[i]) >= rl.per {
		i++
	}
	rl.served = rl.served[i:]
	if len(rl.served) >= rl.limit {
		rl.refused++
		return rl.per - now.Sub(rl.served[0]), true
	}
	rl.served = append(rl.served, now)
	return 0, false
}

// refuseOverRateLimit answers r with 429 when it is over the limit, and reports whether it
// did.
func (s *Server) refuseOverRateLimit(w http.ResponseWriter) bool {
	wait, over := s.overRateLimit(time.Now())
	if !over {
		return false
	}
	s.writeFault(w, Faults{Status: http.StatusTooManyRequests, RetryAfter: wait})
	return true
}
