package mockidp_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/mockidp"
)

func TestRateLimitRefusesRequestsBeyondTheLimit(t *testing.T) {
	idp := mockidp.NewTestServer(t, mockidp.Options{})
	// A window of an hour: every request of the test falls in it.
	idp.SetRateLimit(3, time.Hour)

	var statuses []int
	var refused *http.Response
	for range 5 {
		resp, err := http.Get(idp.JWKSURI())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		statuses = append(statuses, resp.StatusCode)
		if resp.StatusCode == http.StatusTooManyRequests {
			refused = resp
		}
	}
	if want := []int{200, 200, 200, 429, 429}; !equalInts(statuses, want) {
		t.Fatalf("statuses = %v, want %v", statuses, want)
	}
	if s, err := strconv.Atoi(refused.Header.Get("Retry-After")); err != nil || s < 1 || s > 3600 {
		t.Errorf("Retry-After = %q, want the seconds until the oldest request leaves the window", refused.Header.Get("Retry-After"))
	}
	if n := idp.RateLimited(); n != 2 {
		t.Errorf("RateLimited = %d, want 2", n)
	}
	if logged := answered(idp, http.StatusTooManyRequests); logged != 2 {
		t.Errorf("the request log shows %d answers 429, want 2", logged)
	}

	idp.SetRateLimit(0, 0)
	resp, err := http.Get(idp.JWKSURI())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("with the limit off: status %d, want 200", resp.StatusCode)
	}
}

func TestRateLimitOktaHeaders(t *testing.T) {
	idp := mockidp.NewTestServer(t, mockidp.Options{Flavor: mockidp.FlavorOkta, InitialAccessToken: "ssws"})
	idp.SetRateLimit(1, time.Hour)
	for i := range 2 {
		resp, err := http.Get(idp.JWKSURI())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if i == 1 && (resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("X-Rate-Limit-Remaining") != "0" ||
			resp.Header.Get("X-Rate-Limit-Reset") == "") {
			t.Errorf("second request: status %d, X-Rate-Limit-Remaining %q, X-Rate-Limit-Reset %q; want 429, 0 and the reset",
				resp.StatusCode, resp.Header.Get("X-Rate-Limit-Remaining"), resp.Header.Get("X-Rate-Limit-Reset"))
		}
	}
}
