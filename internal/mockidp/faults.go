package mockidp

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Faults make the IdP misbehave in ways a client must survive. They are deterministic
// (counters, never randomness) so a test can count retries. SetFaults replaces the current
// faults and restarts their counters; SetFaults(Faults{}) turns them off.
//
// A request "matches" when its path starts with PathPrefix (empty: every path; the prefix is
// compared with the path as received and with the path relative to the issuer) and its
// method is Method (empty: every method). Among matching requests, the ones "hit" are:
// every Every-th one (Every > 0: the Every-th, 2×Every-th, ...), plus the Next next ones
// (Next > 0); when both Every and Next are 0, every matching request is hit.
//
// A hit request is first delayed by Delay, then its connection is dropped (Drop: hijacked
// and closed without an answer, or the HTTP/2 stream reset), or else answered with Status
// (when non-zero) instead of being served. A hit with Status 0 and no Drop is only delayed,
// then served normally. DropAfterServing serves the request (a POST does create its client)
// and then drops the connection instead of answering: the ambiguous failure after which a
// client must not blindly re-send a POST. Its log entry carries the status the client never
// received.
//
// NotFoundAfterCreate is independent of the rest: each client registered while it is set
// answers its next NotFoundAfterCreate GETs (on its registration client URI) with 404, while
// it exists — the eventual consistency of some IdPs right after a create.
type Faults struct {
	PathPrefix string
	Method     string

	Every int
	Next  int

	// Status answers a hit request, e.g. 429, 500, 503. A 429 always carries Retry-After
	// (RetryAfter, default 1s) and, for okta, X-Rate-Limit-Reset (now + RetryAfter, epoch
	// seconds) with X-Rate-Limit-Remaining 0; another status carries Retry-After only when
	// RetryAfter is set. Retry-After is in whole seconds, rounded up.
	Status     int
	RetryAfter time.Duration

	Delay            time.Duration
	Drop             bool
	DropAfterServing bool

	NotFoundAfterCreate int
}

func (f Faults) injects() bool {
	return f.Status != 0 || f.Delay > 0 || f.Drop || f.DropAfterServing
}

// faultState is the current faults and their counters.
type faultState struct {
	cfg      Faults
	matched  int // matching requests since SetFaults
	nextLeft int // hits left of Next
	injected int // hit requests since SetFaults
}

// SetFaults replaces the current faults and restarts their counters.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = faultState{cfg: f, nextLeft: f.Next}
}

// FaultsInjected is how many requests the current faults have hit (NotFoundAfterCreate
// answers not included).
func (s *Server) FaultsInjected() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults.injected
}

// hitFault counts r against the current faults and reports whether it is hit.
func (s *Server) hitFault(r *http.Request) (Faults, bool) {
	base := s.issuerPath()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &s.faults
	f := st.cfg
	if !f.injects() {
		return f, false
	}
	p := r.URL.Path
	// The prefix matches the path as requested, or below the issuer's base path.
	if f.PathPrefix != "" && !strings.HasPrefix(p, f.PathPrefix) &&
		(base == "" || !strings.HasPrefix(strings.TrimPrefix(p, base), f.PathPrefix)) {
		return f, false
	}
	if f.Method != "" && !strings.EqualFold(f.Method, r.Method) {
		return f, false
	}
	st.matched++
	hit := false
	switch {
	case f.Every > 0 && st.matched%f.Every == 0:
		hit = true
	case st.nextLeft > 0:
		st.nextLeft--
		hit = true
	case f.Every <= 0 && f.Next <= 0:
		hit = true
	}
	if hit {
		st.injected++
	}
	return f, hit
}

// injectFault applies the current faults to r and reports whether r has been dealt with.
func (s *Server) injectFault(w *statusRecorder, r *http.Request) bool {
	f, hit := s.hitFault(r)
	if !hit {
		return false
	}
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return true
		case <-s.closed:
			dropConnection(w)
		}
	}
	if f.DropAfterServing {
		s.dispatch(&statusRecorder{ResponseWriter: discardWriter{http.Header{}}, server: s, entry: w.entry}, r)
		dropConnection(w)
	}
	if f.Drop {
		dropConnection(w)
	}
	if f.Status == 0 {
		return false
	}
	s.writeFault(w, f)
	return true
}

func (s *Server) writeFault(w http.ResponseWriter, f Faults) {
	retry := f.RetryAfter
	if retry <= 0 && f.Status == http.StatusTooManyRequests {
		retry = time.Second
	}
	if retry > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(ceilSeconds(retry), 10))
	}
	rateLimited := f.Status == http.StatusTooManyRequests
	if rateLimited && s.flavor.rateLimitHeaders {
		w.Header().Set("X-Rate-Limit-Remaining", "0")
		w.Header().Set("X-Rate-Limit-Reset", strconv.FormatInt(time.Now().Unix()+ceilSeconds(retry), 10))
	}
	switch {
	case s.opts.Flavor == FlavorOkta && rateLimited:
		oktaError(f.Status, "E0000047", "API call exceeded rate limit due to too many requests.").write(w)
	case s.opts.Flavor == FlavorOkta && f.Status >= 500:
		oktaError(f.Status, "E0000009", "Internal Server Error").write(w)
	case rateLimited || f.Status == http.StatusServiceUnavailable:
		writeOAuthError(w, f.Status, "temporarily_unavailable", "injected fault")
	case f.Status >= 500:
		writeOAuthError(w, f.Status, "server_error", "injected fault")
	default:
		writeOAuthError(w, f.Status, "invalid_request", "injected fault")
	}
}

// dropConnection closes the connection without an answer. It does not return.
func dropConnection(w http.ResponseWriter) {
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		_ = conn.Close()
	}
	// Ends the handler; on HTTP/2, which cannot hijack, this resets the stream.
	panic(http.ErrAbortHandler)
}

// discardWriter swallows an answer that a fault will not deliver.
type discardWriter struct{ header http.Header }

func (d discardWriter) Header() http.Header         { return d.header }
func (d discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d discardWriter) WriteHeader(int)             {}

func ceilSeconds(d time.Duration) int64 {
	return int64((d + time.Second - 1) / time.Second)
}
