package gateway

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
)

// The attacks below are refused today; these tests keep it so. Each sends what an attacker
// would, over a raw connection where Go's client would tidy the request up.

// rawExchange writes raw to the server at addr and reads one response.
func rawExchange(t *testing.T, addr, raw string) (status int, body string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer to %q: %v", raw, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// recordingUpstream answers 200 and records the request line of everything it receives.
type recordingUpstream struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string
}

func newRecordingUpstream(t *testing.T) *recordingUpstream {
	u := &recordingUpstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		u.mu.Lock()
		u.seen = append(u.seen, r.Method+" "+r.RequestURI)
		u.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(echoed{Method: r.Method, Path: r.URL.Path, URI: r.RequestURI, Header: r.Header})
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *recordingUpstream) received() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.seen...)
}

// batteryGateway grants client "app" GET and POST on /svc/public/** only.
func batteryGateway(t *testing.T) (h *harness, up *recordingUpstream, tok, addr string) {
	h = newHarness(t)
	up = newRecordingUpstream(t)
	api := h.createAPI(adminapi.API{Name: "svc", ListenPath: "/svc", UpstreamURL: up.URL})
	h.createPolicy(adminapi.Policy{Name: "p", ClientIDs: []string{"app"}, AccessRights: []adminapi.AccessRight{
		{APIID: api.ID, Methods: []string{"GET", "POST"}, Paths: []string{"/public/**"}}}})
	tok = h.fake.token("tok", token.Identity{Subject: "alice", ClientID: "app"})
	return h, up, tok, strings.TrimPrefix(h.proxy.URL, "http://")
}

func TestAttackRequestSmugglingNeverReachesTheUpstream(t *testing.T) {
	_, up, tok, addr := batteryGateway(t)
	smuggled := "GET /svc/private HTTP/1.1\r\nHost: gw\r\n\r\n"
	for name, raw := range map[string]string{
		"CL.TE": "POST /svc/public/x HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + tok +
			"\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled,
		"TE.CL": "POST /svc/public/x HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + tok +
			"\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n" + smuggled,
		"TE obfuscated": "POST /svc/public/x HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + tok +
			"\r\nTransfer-Encoding: xchunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n" + smuggled,
		"TE list": "POST /svc/public/x HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + tok +
			"\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n" + smuggled,
		"two CL": "POST /svc/public/x HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + tok +
			"\r\nContent-Length: 0\r\nContent-Length: 44\r\n\r\n" + smuggled,
		"space before colon": "POST /svc/public/x HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + tok +
			"\r\nTransfer-Encoding : chunked\r\nContent-Length: 0\r\n\r\n" + smuggled,
	} {
		status, _ := rawExchange(t, addr, raw)
		for _, line := range up.received() {
			if strings.Contains(line, "/private") {
				t.Errorf("%s (answered %d): the upstream received %q", name, status, line)
			}
		}
	}
}

func TestAttackTokensOutsideTheAuthorizationHeaderAreIgnored(t *testing.T) {
	h, up, tok, addr := batteryGateway(t)
	for name, raw := range map[string]string{
		"query":  "GET /svc/public/x?access_token=" + tok + " HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n",
		"cookie": "GET /svc/public/x HTTP/1.1\r\nHost: gw\r\nCookie: access_token=" + tok + "\r\nConnection: close\r\n\r\n",
		"form": "POST /svc/public/x HTTP/1.1\r\nHost: gw\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
			itoa(len("access_token="+tok)) + "\r\nConnection: close\r\n\r\naccess_token=" + tok,
		"X-Access-Token":      "GET /svc/public/x HTTP/1.1\r\nHost: gw\r\nX-Access-Token: " + tok + "\r\nConnection: close\r\n\r\n",
		"Proxy-Authorization": "GET /svc/public/x HTTP/1.1\r\nHost: gw\r\nProxy-Authorization: Bearer " + tok + "\r\nConnection: close\r\n\r\n",
	} {
		if status, body := rawExchange(t, addr, raw); status != http.StatusUnauthorized {
			t.Errorf("token in the %s: status %d (%s); want 401", name, status, body)
		}
	}
	if got := up.received(); len(got) != 0 {
		t.Errorf("the upstream received %q", got)
	}
	if n := h.fake.validate.Load(); n != 0 {
		t.Errorf("a token outside the Authorization header was validated %d times", n)
	}
}

func TestAttackClientForwardedHeadersAreReplaced(t *testing.T) {
	h, _, tok, _ := batteryGateway(t)
	resp := h.rawHeaderRequest("/svc/public/x", tok, [][2]string{
		{"X-Forwarded-For", "10.0.0.1"}, {"X-Forwarded-Host", "admin.internal"}, {"X-Forwarded-Proto", "https"},
		{"Forwarded", "for=10.0.0.1"}, {"X-Real-IP", "10.0.0.1"},
	})
	e := decodeEcho(t, expect(t, resp, http.StatusOK))
	if got := e.Header["X-Forwarded-For"]; len(got) != 1 || got[0] != "127.0.0.1" {
		t.Errorf("X-Forwarded-For %q: the client's value must not reach the upstream", got)
	}
	if got := e.Header["X-Forwarded-Proto"]; len(got) != 1 || got[0] != "http" {
		t.Errorf("X-Forwarded-Proto %q", got)
	}
	if got := e.Header["Forwarded"]; len(got) != 0 {
		t.Errorf("Forwarded %q reached the upstream", got)
	}
}

func TestAttackHostAndAbsoluteFormDoNotChooseTheAPI(t *testing.T) {
	_, up, tok, addr := batteryGateway(t)
	for name, raw := range map[string]string{
		"Host":             "GET /svc/private HTTP/1.1\r\nHost: svc\r\nAuthorization: Bearer " + tok + "\r\nConnection: close\r\n\r\n",
		"absolute-form":    "GET http://gw/svc/private HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + tok + "\r\nConnection: close\r\n\r\n",
		"X-Forwarded-Host": "GET /svc/private HTTP/1.1\r\nHost: gw\r\nX-Forwarded-Host: svc\r\nX-Forwarded-Prefix: /svc/public\r\nAuthorization: Bearer " + tok + "\r\nConnection: close\r\n\r\n",
	} {
		if status, body := rawExchange(t, addr, raw); status != http.StatusForbidden {
			t.Errorf("%s: status %d (%s); want 403", name, status, body)
		}
	}
	if status, _ := rawExchange(t, addr, "GET /other HTTP/1.1\r\nHost: svc\r\nAuthorization: Bearer "+tok+"\r\nConnection: close\r\n\r\n"); status != http.StatusNotFound {
		t.Errorf("an unrouted path with Host: svc answered %d; want 404", status)
	}
	if got := up.received(); len(got) != 0 {
		t.Errorf("the upstream received %q", got)
	}
}

func TestAttackAdminPathsAndTokens(t *testing.T) {
	h, _, _, addr := batteryGateway(t)
	// The proxy listener serves no admin route, with or without the admin token.
	for _, p := range []string{"/v1/apis", "/v1/policies", "/metrics", "/healthz", "/svc/../v1/apis"} {
		status, _ := rawExchange(t, addr, "GET "+p+" HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer "+harnessAdminToken+"\r\nConnection: close\r\n\r\n")
		if status != http.StatusNotFound && status != http.StatusBadRequest {
			t.Errorf("proxy listener %s with the admin token: status %d", p, status)
		}
	}
	adminAddr := strings.TrimPrefix(h.adminSrv.URL, "http://")
	for name, auth := range map[string]string{
		"upper-cased token":     "Bearer " + strings.ToUpper(harnessAdminToken),
		"prefix":                "Bearer " + harnessAdminToken[:len(harnessAdminToken)-1],
		"suffix":                "Bearer " + harnessAdminToken + "0",
		"basic password":        "Basic " + "YWRtaW46" + harnessAdminToken,
		"token after the token": "Bearer x " + harnessAdminToken,
	} {
		for _, p := range []string{"/v1/apis", "/v1//apis", "/v1/./apis", "/V1/apis", "/v1/apis?token=" + harnessAdminToken} {
			// 401, or the mux's redirect to the cleaned path, or 404: never the admin API's answer
			status, body := rawExchange(t, adminAddr, "GET "+p+" HTTP/1.1\r\nHost: admin\r\nAuthorization: "+auth+"\r\nConnection: close\r\n\r\n")
			if status < 300 || strings.Contains(body, `"apis"`) {
				t.Errorf("admin %s with %s: status %d, body %s", p, name, status, body)
			}
		}
	}
	// the same request with the admin token is answered, so the refusals above are the token's
	status, body := rawExchange(t, adminAddr, "GET /v1/apis HTTP/1.1\r\nHost: admin\r\nAuthorization: Bearer "+harnessAdminToken+"\r\nConnection: close\r\n\r\n")
	if status != http.StatusOK || !strings.Contains(body, `"apis"`) {
		t.Errorf("admin /v1/apis with the admin token: status %d, body %s", status, body)
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
