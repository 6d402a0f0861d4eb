package limits

import (
	"net/netip"
	"testing"
	"time"
)

var t0 = time.Unix(1_000_000, 0)

// fail runs one refused token check for addr at now and reports whether it was let in.
func fail(l *FailedAuth, addr netip.Addr, now time.Time) (wait time.Duration, ok bool) {
	a, wait, ok := l.Begin(addr, now)
	if ok {
		a.End(true, now)
	}
	return wait, ok
}

func TestFailedAuthSettings(t *testing.T) {
	if l := NewFailedAuth(FailedAuthLimit{}); l == nil || l.burst != DefaultFailedAuthLimit.Burst {
		t.Fatalf("the zero value must mean DefaultFailedAuthLimit, got %+v", l)
	}
	for _, off := range []FailedAuthLimit{{Burst: -1, Per: time.Minute}, {Burst: 5}, {Burst: 5, Per: -time.Second}} {
		if l := NewFailedAuth(off); l != nil {
			t.Errorf("%+v must turn the limit off (nil), got %+v", off, l)
		}
	}
	var off *FailedAuth
	a, wait, ok := off.Begin(netip.MustParseAddr("192.0.2.1"), t0)
	if !ok || wait != 0 {
		t.Fatalf("an off limiter refused: wait %v", wait)
	}
	a.End(true, t0) // a zero Attempt ends quietly
	off.failed(netip.MustParseAddr("192.0.2.1"), t0)
}

// TestFailedAuthBurstThenRefill: Burst refused tokens pass, the next waits exactly until one
// failure has refilled (Per/Burst), and the wait shrinks as the bucket refills.
func TestFailedAuthBurstThenRefill(t *testing.T) {
	l := NewFailedAuth(FailedAuthLimit{Burst: 3, Per: time.Minute})
	addr := netip.MustParseAddr("192.0.2.7")
	for i := range 3 {
		if _, ok := fail(l, addr, t0); !ok {
			t.Fatalf("refused token %d of a burst of 3 was not let in", i+1)
		}
	}
	wait, ok := fail(l, addr, t0)
	if ok || wait != 20*time.Second {
		t.Fatalf("4th refused token: ok %v, wait %v; want refused, 20s (one failure refills in 60s/3)", ok, wait)
	}
	if wait, ok := fail(l, addr, t0.Add(15*time.Second)); ok || wait != 5*time.Second {
		t.Fatalf("15s later: ok %v, wait %v; want refused, 5s", ok, wait)
	}
	if _, ok := fail(l, addr, t0.Add(20*time.Second)); !ok {
		t.Fatal("20s later one failure has refilled; the check must be let in")
	}
	if _, ok := fail(l, addr, t0.Add(20*time.Second)); ok {
		t.Fatal("the refilled failure was used; the next must wait again")
	}
	if _, ok := fail(l, netip.MustParseAddr("192.0.2.8"), t0); !ok {
		t.Fatal("another address has its own budget")
	}
}

// TestFailedAuthGoodTokensCostNothing: a check whose token passes gives its reservation back,
// also from an address that has failed before.
func TestFailedAuthGoodTokensCostNothing(t *testing.T) {
	l := NewFailedAuth(FailedAuthLimit{Burst: 2, Per: time.Minute})
	addr := netip.MustParseAddr("2001:db8::1")
	if _, ok := fail(l, addr, t0); !ok { // tracked from now on, one failure left
		t.Fatal("first refused token not let in")
	}
	for range 10 {
		a, _, ok := l.Begin(addr, t0)
		if !ok {
			t.Fatal("a good token was refused while a failure was left")
		}
		a.End(false, t0)
	}
	if _, ok := fail(l, addr, t0); !ok {
		t.Fatal("good tokens used up the address's failures")
	}
	if _, ok := fail(l, addr, t0); ok {
		t.Fatal("past Burst failures the address must be refused")
	}
}

// TestFailedAuthConcurrentChecksCannotOverdraw: two checks begun on the last failure: the
// second is refused until the first ends.
func TestFailedAuthConcurrentChecksCannotOverdraw(t *testing.T) {
	l := NewFailedAuth(FailedAuthLimit{Burst: 2, Per: time.Minute})
	addr := netip.MustParseAddr("192.0.2.9")
	if _, ok := fail(l, addr, t0); !ok {
		t.Fatal("first refused token not let in")
	}
	first, _, ok := l.Begin(addr, t0)
	if !ok {
		t.Fatal("the last failure was not reserved")
	}
	if _, wait, ok := l.Begin(addr, t0); ok || wait <= 0 {
		t.Fatalf("a second check on a reserved last failure: ok %v, wait %v; want refused", ok, wait)
	}
	first.End(false, t0) // its token passed: the failure is given back
	if _, _, ok := l.Begin(addr, t0); !ok {
		t.Fatal("the failure given back must be available again")
	}
}

// TestFailedAuthMemoryIsBounded: at maxTrackedAddresses, a new address is tracked only when
// one whose bucket has refilled can be forgotten; otherwise the limit fails open for it.
func TestFailedAuthMemoryIsBounded(t *testing.T) {
	l := NewFailedAuth(FailedAuthLimit{Burst: 1, Per: time.Minute})
	base := netip.MustParseAddr("10.0.0.0").As4()
	for i := range maxTrackedAddresses {
		b := base
		b[1], b[2], b[3] = byte(i>>16), byte(i>>8), byte(i)
		l.failed(netip.AddrFrom4(b), t0)
	}
	if len(l.entries) != maxTrackedAddresses {
		t.Fatalf("%d entries, want %d", len(l.entries), maxTrackedAddresses)
	}
	newcomer := netip.MustParseAddr("192.0.2.50")
	for range 3 {
		if _, ok := fail(l, newcomer, t0.Add(time.Second)); !ok {
			t.Fatal("with the table full of empty buckets a new address must not be tracked (fail open)")
		}
	}
	if len(l.entries) != maxTrackedAddresses {
		t.Fatalf("the table grew past its bound: %d entries", len(l.entries))
	}

	// A minute on every bucket is full again: they are forgotten and the newcomer tracked.
	if _, ok := fail(l, newcomer, t0.Add(time.Minute)); !ok {
		t.Fatal("the newcomer's first refused token must be let in")
	}
	if len(l.entries) != 1 {
		t.Fatalf("%d entries after forgetting full buckets, want only the newcomer's", len(l.entries))
	}
	if _, ok := fail(l, newcomer, t0.Add(time.Minute)); ok {
		t.Fatal("the newcomer is tracked now: past its burst of 1 it must be refused")
	}
}
