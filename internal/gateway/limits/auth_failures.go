package limits

import (
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// FailedAuthLimit bounds the refused tokens one client address may present: a token bucket
// of Burst failures, refilled at Burst per Per. Past it, the address's requests are refused
// with 429 before any token is checked, so garbage cannot make the gateway call the IdP's
// introspection endpoint (or verify signatures) as fast as it is sent. The zero value means
// DefaultFailedAuthLimit; a negative Burst turns the limit off.
type FailedAuthLimit struct {
	Burst int
	Per   time.Duration
}

// DefaultFailedAuthLimit: 50 refused tokens, then one every 1.2 s on average.
var DefaultFailedAuthLimit = FailedAuthLimit{Burst: 50, Per: time.Minute}

// maxTrackedAddresses bounds the limiter's memory. When it is full and no address can be
// forgotten (an address whose bucket is full is the same as no entry), new addresses are
// not tracked: the limit then fails open rather than growing without bound.
const maxTrackedAddresses = 100_000

// FailedAuth counts refused tokens per client address.
type FailedAuth struct {
	every rate.Limit
	burst int

	mu      sync.RWMutex
	entries map[netip.Addr]*rate.Limiter
}

func NewFailedAuth(cfg FailedAuthLimit) *FailedAuth {
	if cfg == (FailedAuthLimit{}) {
		cfg = DefaultFailedAuthLimit
	}
	if cfg.Burst < 0 || cfg.Per <= 0 {
		return nil
	}
	return &FailedAuth{
		every:   rate.Limit(float64(cfg.Burst) / cfg.Per.Seconds()),
		burst:   cfg.Burst,
		entries: map[netip.Addr]*rate.Limiter{},
	}
}

// Attempt is one token check counted against an address: begun before the check (which
// reserves one failure from a known address's bucket, so concurrent checks cannot overdraw
// it) and ended after it (a token that passed gives the reservation back).
type Attempt struct {
	l    *FailedAuth
	addr netip.Addr
	res  *rate.Reservation
}

// begin starts a check for addr, or says how long addr must wait when it has no failure left.
func (l *FailedAuth) Begin(addr netip.Addr, now time.Time) (Attempt, time.Duration, bool) {
	if l == nil {
		return Attempt{}, 0, true
	}
	l.mu.RLock()
	lim := l.entries[addr]
	l.mu.RUnlock()
	if lim == nil {
		return Attempt{l: l, addr: addr}, 0, true
	}
	if tokens := lim.TokensAt(now); tokens < 1 { // the common case under attack: no reservation
		return Attempt{}, time.Duration((1 - tokens) / float64(l.every) * float64(time.Second)), false
	}
	res := lim.ReserveN(now, 1)
	if wait := res.DelayFrom(now); !res.OK() || wait > 0 {
		res.CancelAt(now)
		return Attempt{}, wait, false
	}
	return Attempt{l: l, addr: addr, res: res}, 0, true
}

// end finishes the check: failed says whether the token was refused.
func (a Attempt) End(failed bool, now time.Time) {
	switch {
	case a.l == nil:
	case a.res != nil && !failed:
		a.res.CancelAt(now)
	case a.res == nil && failed:
		a.l.failed(a.addr, now)
	}
}

// failed counts one refused token of an address not tracked yet.
func (l *FailedAuth) failed(addr netip.Addr, now time.Time) {
	if l == nil {
		return
	}
	l.mu.RLock()
	lim := l.entries[addr]
	l.mu.RUnlock()
	if lim == nil {
		l.mu.Lock()
		if lim = l.entries[addr]; lim == nil {
			if len(l.entries) >= maxTrackedAddresses && !l.forgetFullLocked(now) {
				l.mu.Unlock()
				return
			}
			lim = rate.NewLimiter(l.every, l.burst)
			l.entries[addr] = lim
		}
		l.mu.Unlock()
	}
	lim.AllowN(now, 1)
}

// forgetFullLocked drops the addresses whose bucket has refilled; it reports whether any went.
func (l *FailedAuth) forgetFullLocked(now time.Time) bool {
	n := len(l.entries)
	for a, lim := range l.entries {
		if lim.TokensAt(now) >= float64(l.burst) {
			delete(l.entries, a)
		}
	}
	return len(l.entries) < n
}
