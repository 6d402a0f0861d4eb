package workertest

import (
	"sync/atomic"
	"testing"
	"time"
)

// n goroutines call work at once and again and again; stop waits for the calls in flight, and
// no call starts after it.
func TestStartRunsNWorkersUntilStop(t *testing.T) {
	const n = 3
	var calls, inFlight atomic.Int64
	all := make(chan struct{})
	stop := Start(n, func() {
		inFlight.Add(1)
		defer inFlight.Add(-1)
		// the first n calls wait for each other: only n goroutines get them all in at once
		if calls.Add(1) == n {
			close(all)
		}
		<-all
		time.Sleep(time.Millisecond)
	})
	select {
	case <-all:
	case <-time.After(10 * time.Second):
		t.Fatalf("%d calls at once, want %d", calls.Load(), n)
	}
	for calls.Load() < 10*n {
		time.Sleep(time.Millisecond)
	}
	stop()
	if got := inFlight.Load(); got != 0 {
		t.Errorf("stop returned with %d calls in flight", got)
	}
	after := calls.Load()
	time.Sleep(10 * time.Millisecond)
	if got := calls.Load(); got != after {
		t.Errorf("%d calls after stop returned", got-after)
	}
}
