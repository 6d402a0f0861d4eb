package dcr

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// inFlightServer answers after a short pause and remembers the most requests it held at once.
type inFlightServer struct {
	*httptest.Server
	mu       sync.Mutex
	now, max int
}

func newInFlightServer(t *testing.T, pause time.Duration) *inFlightServer {
	s := &inFlightServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.mu.Lock()
		s.now++
		s.max = max(s.max, s.now)
		s.mu.Unlock()
		time.Sleep(pause) // holds the request, so that uncapped callers pile up
		s.mu.Lock()
		s.now--
		s.mu.Unlock()
		_, _ = io.WriteString(w, "{}")
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *inFlightServer) most() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.max
}

// getAll sends n GETs at once through client and fails the test on any error.
func getAll(t *testing.T, client *http.Client, url string, n int) {
	t.Helper()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			resp, err := client.Get(url)
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		})
	}
	wg.Wait()
}

func TestRequestCapBoundsConcurrentRequests(t *testing.T) {
	srv := newInFlightServer(t, 20*time.Millisecond)
	c, err := NewRequestCap(0, 3)
	if err != nil {
		t.Fatal(err)
	}
	getAll(t, c.Client(http.DefaultTransport, 10*time.Second), srv.URL, 24)
	if got := srv.most(); got > 3 {
		t.Errorf("the server held %d requests at once, want at most 3", got)
	}
	// Every slot was given back: as many requests again go through.
	getAll(t, c.Client(http.DefaultTransport, 10*time.Second), srv.URL, 6)
}

// The attempt timeout starts when the request's turn comes: at 1 request a second, the third
// of three waits about 2 s in line, longer than its 1.5 s timeout, and still succeeds.
func TestRequestCapTimeoutStartsAtTheRequestsTurn(t *testing.T) {
	srv := newInFlightServer(t, 0)
	c, err := NewRequestCap(1, 0)
	if err != nil {
		t.Fatal(err)
	}
	getAll(t, c.Client(http.DefaultTransport, 1500*time.Millisecond), srv.URL, 3)
}

func TestRequestCapWaitEndsWithTheContext(t *testing.T) {
	srv := newInFlightServer(t, 0)
	c, err := NewRequestCap(1.0/60, 0) // one a minute: the second request waits
	if err != nil {
		t.Fatal(err)
	}
	client := c.Client(http.DefaultTransport, time.Second)
	getAll(t, client, srv.URL, 1)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	_, err = client.Do(req)
	if err == nil || !strings.Contains(err.Error(), "max_requests_per_second") {
		t.Fatalf("err = %v, want one that names max_requests_per_second", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) && !strings.Contains(err.Error(), "would exceed context deadline") {
		t.Errorf("err = %v, want the context's deadline as its cause", err)
	}
}

func TestNewRequestCapRefusesNegativeValues(t *testing.T) {
	if _, err := NewRequestCap(-1, 0); err == nil {
		t.Error("NewRequestCap(-1, 0): want an error")
	}
	if _, err := NewRequestCap(0, -1); err == nil {
		t.Error("NewRequestCap(0, -1): want an error")
	}
}
