package gateway

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/workertest"
)

// clientFrom is an HTTP client whose connections leave from the loopback address ip.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 16}}
}

// TestAbuseWithRandomOpaqueTokens: 10,000 requests with random opaque tokens from one address
// cause a bounded number of introspection calls (the failed-auth bucket: 50, refilled at
// 50/min, plus what is in flight when it empties), while a good token from another address
// gets 200 throughout.
func TestAbuseWithRandomOpaqueTokens(t *testing.T) {
	var calls atomic.Int64
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		_ = r.ParseForm()
		answer := map[string]any{"active": false}
		if r.PostForm.Get("token") == "good-opaque-token" {
			answer = map[string]any{"active": true, "sub": "alice", "client_id": "app", "exp": time.Now().Add(time.Hour).Unix()}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(answer)
	}))
	defer idp.Close()
	// Loopback is a client here, not a trusted proxy.
	h := newRealHarness(t, func(o *Options) { o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.9.9.9/32")} })
	up := newEchoUpstream(t)
	api := h.createAPI(adminapi.API{Name: "a", ListenPath: "/a", UpstreamURL: up.URL,
		Introspection: &adminapi.Introspection{Endpoint: idp.URL, ClientID: "gw", ClientSecret: "s"}})
	h.createPolicy(adminapi.Policy{Name: "p", ClientIDs: []string{"app"}, AccessRights: grantAll(api)})

	good, bad := clientFrom("127.0.0.1"), clientFrom("127.0.0.2")
	get := func(c *http.Client, tok string) (int, error) {
		req, _ := http.NewRequest("GET", h.proxy.URL+"/a/x", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}

	var goodOK, goodFailed atomic.Int64
	stopGood := workertest.Start(1, func() {
		time.Sleep(2 * time.Millisecond)
		if status, err := get(good, "good-opaque-token"); err == nil && status == http.StatusOK {
			goodOK.Add(1)
		} else {
			goodFailed.Add(1)
		}
	})

	const total, workers = 10_000, 8
	var sent atomic.Int64
	statuses := make([]map[int]int, workers)
	start := time.Now()
	var attackers sync.WaitGroup
	for w := range workers {
		statuses[w] = map[int]int{}
		attackers.Add(1)
		go func() {
			defer attackers.Done()
			buf := make([]byte, 16)
			for sent.Add(1) <= total {
				_, _ = rand.Read(buf)
				status, err := get(bad, hex.EncodeToString(buf))
				if err != nil {
					t.Error(err)
					return
				}
				statuses[w][status]++
			}
		}()
	}
	attackers.Wait()
	elapsed := time.Since(start)
	stopGood()

	byStatus := map[int]int{}
	for _, m := range statuses {
		for k, v := range m {
			byStatus[k] += v
		}
	}
	// the bucket, its refill over the run, the requests already past the check when it
	// emptied, and the good token's one call
	bound := int64(50 + int(elapsed.Minutes()*50) + workers + 1 + 1)
	t.Logf("%d random tokens in %s: statuses %v, %d introspection calls (bound %d); good token: %d ok, %d failed",
		total, elapsed.Round(time.Millisecond), byStatus, calls.Load(), bound, goodOK.Load(), goodFailed.Load())
	if n := calls.Load(); n > bound {
		t.Errorf("%d introspection calls for %d random tokens; want at most %d", n, total, bound)
	}
	if byStatus[http.StatusTooManyRequests] < total-int(bound) {
		t.Errorf("only %d of %d refused with 429", byStatus[http.StatusTooManyRequests], total)
	}
	if goodFailed.Load() != 0 || goodOK.Load() == 0 {
		t.Errorf("the good token from another address: %d ok, %d failed; want every one ok", goodOK.Load(), goodFailed.Load())
	}
}
