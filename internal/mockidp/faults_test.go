package mockidp_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/mockidp"
)

// statuses sends n token requests and returns their statuses.
func tokenStatuses(t *testing.T, idp *mockidp.Server, id, secret string, n int) []int {
	t.Helper()
	var out []int
	for range n {
		out = append(out, requestToken(t, idp, id, secret, "").status)
	}
	return out
}

// answered counts the requests idp's log shows answered with status.
func answered(idp *mockidp.Server, status int) int {
	n := 0
	for _, r := range idp.Requests() {
		if r.Status == status {
			n++
		}
	}
	return n
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestFaultEveryNth(t *testing.T) {
	idp := mockidp.NewTestServer(t, mockidp.Options{})
	id, secret := registerCC(t, idp, "")
	idp.SetFaults(mockidp.Faults{PathPrefix: "/token", Every: 3, Status: http.StatusServiceUnavailable})

	got := tokenStatuses(t, idp, id, secret, 6)
	want := []int{200, 200, 503, 200, 200, 503}
	if !equalInts(got, want) {
		t.Fatalf("statuses = %v, want %v", got, want)
	}
	if n := idp.FaultsInjected(); n != 2 {
		t.Fatalf("FaultsInjected = %d, want 2", n)
	}
	// Paths outside the prefix are not counted nor hit.
	for range 3 {
		call(t, http.MethodGet, idp.JWKSURI(), "", nil).expect(t, http.StatusOK, "")
	}
	// The recorded log shows the injected answers.
	if faulted := answered(idp, http.StatusServiceUnavailable); faulted != 2 {
		t.Fatalf("log shows %d answers 503, want 2", faulted)
	}
}

func TestFaultNextN(t *testing.T) {
	idp := mockidp.NewTestServer(t, mockidp.Options{})
	id, secret := registerCC(t, idp, "")
	idp.SetFaults(mockidp.Faults{Next: 2, Status: http.StatusTooManyRequests})

	first := requestToken(t, idp, id, secret, "")
	first.expect(t, http.StatusTooManyRequests, "")
	if first.header.Get("Retry-After") != "1" {
		t.Fatalf("Retry-After = %q, want the default 1", first.header.Get("Retry-After"))
	}
	if got := tokenStatuses(t, idp, id, secret, 3); !equalInts(got, []int{429, 200, 200}) {
		t.Fatalf("statuses after the first = %v", got)
	}

	idp.SetFaults(mockidp.Faults{Next: 1, Status: http.StatusInternalServerError})
	r := requestToken(t, idp, id, secret, "")
	r.expect(t, http.StatusInternalServerError, "server_error")
	if r.header.Get("Retry-After") != "" {
		t.Fatalf("500 without RetryAfter carries Retry-After %q", r.header.Get("Retry-After"))
	}
	idp.SetFaults(mockidp.Faults{Next: 1, Status: http.StatusServiceUnavailable, RetryAfter: 1500 * time.Millisecond})
	if r := requestToken(t, idp, id, secret, ""); r.status != 503 || r.header.Get("Retry-After") != "2" {
		t.Fatalf("503 answer: %d Retry-After %q, want 503 and 2 (rounded up)", r.status, r.header.Get("Retry-After"))
	}

	idp.SetFaults(mockidp.Faults{Status: http.StatusServiceUnavailable}) // no Every/Next: every request
	if got := tokenStatuses(t, idp, id, secret, 2); !equalInts(got, []int{503, 503}) {
		t.Fatalf("statuses = %v, want all 503", got)
	}
	idp.SetFaults(mockidp.Faults{})
	requestToken(t, idp, id, secret, "").expect(t, http.StatusOK, "")
}

func TestFaultMethodFilter(t *testing.T) {
	idp := mockidp.NewTestServer(t, mockidp.Options{})
	idp.SetFaults(mockidp.Faults{PathPrefix: "/register", Method: http.MethodGet, Status: http.StatusBadGateway})
	created := call(t, http.MethodPost, idp.RegistrationEndpoint(), "", ccClient("svc", ""))
	created.expect(t, http.StatusCreated, "")
	call(t, http.MethodGet, created.str("registration_client_uri"), bearer(created.str("registration_access_token")), nil).
		expect(t, http.StatusBadGateway, "server_error")
}

func TestFaultDelay(t *testing.T) {
	idp := mockidp.NewTestServer(t, mockidp.Options{})
	idp.SetFaults(mockidp.Faults{PathPrefix: "/jwks", Next: 1, Delay: 200 * time.Millisecond})

	start := time.Now()
	call(t, http.MethodGet, idp.JWKSURI(), "", nil).expect(t, http.StatusOK, "")
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("delayed request took %v, want at least 200ms", d)
	}
	start = time.Now()
	call(t, http.MethodGet, idp.JWKSURI(), "", nil).expect(t, http.StatusOK, "")
	if d := time.Since(start); d >= 200*time.Millisecond {
		t.Fatalf("request after the delayed one took %v", d)
	}
}

func TestCloseEndsDelays(t *testing.T) {
	idp := mockidp.NewTestServer(t, mockidp.Options{})
	idp.SetFaults(mockidp.Faults{Delay: time.Minute})
	done := make(chan error, 1)
	go func() {
		resp, err := httpClient.Get(idp.JWKSURI())
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for len(idp.Requests()) == 0 { // wait until the request is being delayed
		if time.Now().After(deadline) {
			t.Fatal("the request never reached the server")
		}
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	idp.Close()
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Close took %v with a delayed request in flight", d)
	}
	if err := <-done; err == nil {
		t.Fatal("the delayed request was answered although the server closed")
	}
}

func TestFaultDrop(t *testing.T) {
	idp := mockidp.NewTestServer(t, mockidp.Options{})
	idp.SetFaults(mockidp.Faults{PathPrefix: "/register", Next: 1, Drop: true})

	// A fresh connection, so the transport cannot silently retry on another one.
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Post(idp.RegistrationEndpoint(), "application/json", strings.NewReader(`{"client_name":"x"}`))
	if err == nil {
		resp.Body.Close()
		t.Fatalf("dropped request answered %d", resp.StatusCode)
	}
	if n := len(idp.Clients()); n != 0 {
		t.Fatalf("a dropped request registered %d clients", n)
	}
	reqs := idp.Requests()
	if len(reqs) != 1 || reqs[0].Status != 0 {
		t.Fatalf("log after a drop = %+v, want one request with status 0", reqs)
	}
	call(t, http.MethodPost, idp.RegistrationEndpoint(), "", ccClient("svc", "")).expect(t, http.StatusCreated, "")
}

func TestFaultDropAfterServing(t *testing.T) {
	idp := mockidp.NewTestServer(t, mockidp.Options{})
	idp.SetFaults(mockidp.Faults{PathPrefix: "/register", Method: http.MethodPost, Next: 1, DropAfterServing: true})

	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Post(idp.RegistrationEndpoint(), "application/json",
		strings.NewReader(`{"grant_types":["client_credentials"],"response_types":[]}`))
	if err == nil {
		resp.Body.Close()
		t.Fatalf("request answered %d; want the connection dropped", resp.StatusCode)
	}
	// The client was created although its creator never heard of it.
	if n := len(idp.Clients()); n != 1 {
		t.Fatalf("%d clients after a POST whose answer was dropped, want 1", n)
	}
	if reqs := idp.Requests(); len(reqs) != 1 || reqs[0].Status != http.StatusCreated {
		t.Fatalf("log = %+v, want one request with the undelivered status 201", reqs)
	}
}

func TestFaultNotFoundAfterCreate(t *testing.T) {
	for _, flavor := range []mockidp.Flavor{mockidp.FlavorGeneric, mockidp.FlavorOkta} {
		t.Run(string(flavor), func(t *testing.T) {
			idp := mockidp.NewTestServer(t, mockidp.Options{Flavor: flavor})
			idp.SetFaults(mockidp.Faults{NotFoundAfterCreate: 2})
			md, auth := ccClient("svc", ""), ""
			if flavor == mockidp.FlavorOkta {
				md["application_type"] = "service"
				auth = "SSWS any"
			}
			created := call(t, http.MethodPost, idp.RegistrationEndpoint(), auth, md)
			created.expect(t, http.StatusCreated, "")
			id := created.str("client_id")
			uri := idp.RegistrationEndpoint() + "/" + url.PathEscape(id)
			if rat := created.str("registration_access_token"); rat != "" {
				auth = bearer(rat)
			}
			for i := range 2 {
				call(t, http.MethodGet, uri, auth, nil).expect(t, http.StatusNotFound, "")
				if _, ok := idp.Client(id); !ok {
					t.Fatalf("read %d: the client should exist while it reads as 404", i)
				}
			}
			call(t, http.MethodGet, uri, auth, nil).expect(t, http.StatusOK, "")
		})
	}
}
