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

// Every client spelling of a forwarding header is dropped, as the identity headers are: a
// WSGI, PHP or Rack upstream reads X_Forwarded_For as X-Forwarded-For, and many read
// X-Real-IP as the client's address.
func TestAttackForwardingHeadersInOtherSpellingsAreDropped(t *testing.T) {
	h, _, tok, _ := batteryGateway(t)
	var sent [][2]string
	for _, n := range []string{"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Port",
		"X-Forwarded-Prefix", "X-Real-IP", "Forwarded"} {
		for _, s := range spellings(n) {
			sent = append(sent, [2]string{s, "10.6.6.6"})
		}
	}
	e := decodeEcho(t, expect(t, h.rawHeaderRequest("/svc/public/x", tok, sent), http.StatusOK))
	host := strings.TrimPrefix(h.proxy.URL, "http://")
	for name, want := range map[string]string{"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Host": host, "X-Forwarded-Proto": "http",
		"X-Forwarded-Port": "", "X-Forwarded-Prefix": "", "X-Real-IP": "", "Forwarded": ""} {
		got := upstreamValues(e, name)
		if want == "" && len(got) != 0 || want != "" && (len(got) != 1 || got[0] != want) {
			t.Errorf("the upstream saw %s (any spelling) = %q, want %q", name, got, want)
		}
	}
}

// POST /svc/public/x?_method=DELETE reaches Laravel, Symfony or Rails as a DELETE, which no
// policy granted: the parameter is refused like the override headers are dropped, through the
// proxy and by the decision endpoint, unless the API sets forward_override_headers.
func TestAttackMethodOverrideParameterIsRefused(t *testing.T) {
	h := newHarness(t)
	up := newRecordingUpstream(t)
	tok := h.strictAndLaxAPIs(up.URL, "POST")
	addr := strings.TrimPrefix(h.proxy.URL, "http://")
	post := func(target string) (int, string) {
		return rawExchange(t, addr, "POST "+target+" HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer "+tok+"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	}
	for _, q := range []string{"_method=DELETE", "a=1&_METHOD=delete", "%5Fmethod=DELETE", "x=1;_method=PUT", "_method[]=DELETE"} {
		if status, body := post("/strict/x?" + q); status != http.StatusBadRequest || !strings.Contains(body, "_method") {
			t.Errorf("proxy, ?%s: %d %s; want 400 naming _method", q, status, body)
		}
		if status, body := decisionRaw(t, addr, DefaultDecisionPath, tok, "X-Forwarded-Method", "POST", "X-Forwarded-Uri", "/strict/x?"+q); status != http.StatusBadRequest {
			t.Errorf("decision, ?%s: %d %s; want 400", q, status, body)
		}
	}
	if got := up.received(); len(got) != 0 {
		t.Errorf("the upstream received %q", got)
	}
	if status, body := post("/strict/x?method=DELETE&q=_method"); status != http.StatusOK {
		t.Errorf("other parameters: %d %s; want 200", status, body)
	}
	if status, body := post("/lax/x?_method=DELETE"); status != http.StatusOK {
		t.Errorf("forward_override_headers: %d %s; want 200", status, body)
	}
	if got := up.received(); len(got) != 2 || got[1] != "POST /lax/x?_method=DELETE" {
		t.Errorf("the upstream received %q", got)
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

// filesGateway grants client "app" GET /orders/files/*/meta only: /orders/files/secret is
// refused to it. It returns the harness, the upstream, app's token and the proxy's address.
func filesGateway(t *testing.T) (h *harness, up *recordingUpstream, tok, addr string) {
	h = newHarness(t)
	up = newRecordingUpstream(t)
	api := h.createAPI(adminapi.API{Name: "orders", ListenPath: "/orders", UpstreamURL: up.URL})
	h.createPolicy(adminapi.Policy{Name: "p", ClientIDs: []string{"app"}, AccessRights: []adminapi.AccessRight{
		{APIID: api.ID, Methods: []string{"GET"}, Paths: []string{"/files/*/meta"}}}})
	tok = h.fake.token("tok", token.Identity{Subject: "alice", ClientID: "app"})
	return h, up, tok, strings.TrimPrefix(h.proxy.URL, "http://")
}

// decisionRaw asks the decision endpoint over a raw connection, so that a header value or a
// target goes out exactly as written.
func decisionRaw(t *testing.T, addr, target, tok string, headers ...string) (int, string) {
	t.Helper()
	raw := "GET " + target + " HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + tok + "\r\nConnection: close\r\n"
	for i := 0; i+1 < len(headers); i += 2 {
		raw += headers[i] + ": " + headers[i+1] + "\r\n"
	}
	return rawExchange(t, addr, raw+"\r\n")
}

// A request target never carries a fragment. An upstream that parses the target as a URL reads
// /orders/files/secret#/meta as /orders/files/secret, while a policy reading "secret#" as a
// segment would grant it as /files/*/meta: the raw "#" is refused, through the proxy and by
// the decision endpoint, wherever the URI comes from.
func TestAttackFragmentInTheTargetIsRefused(t *testing.T) {
	_, up, tok, addr := filesGateway(t)
	const probe = "/orders/files/secret#/meta"
	get := func(target string) (int, string) {
		return rawExchange(t, addr, "GET "+target+" HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer "+tok+"\r\nConnection: close\r\n\r\n")
	}
	// the grant is what the test says it is
	if status, body := get("/orders/files/x/meta"); status != http.StatusOK {
		t.Fatalf("granted path: %d %s", status, body)
	}
	if status, _ := get("/orders/files/secret"); status != http.StatusForbidden {
		t.Fatalf("/orders/files/secret: %d, want 403", status)
	}
	before := len(up.received())
	for name, target := range map[string]string{
		"path":          probe,
		"query":         "/orders/files/x/meta?a=1#/../secret",
		"absolute-form": "http://gw" + probe,
	} {
		if status, body := get(target); status != http.StatusBadRequest || !strings.Contains(body, "#") {
			t.Errorf("proxy, # in the %s: %d %s; want 400 naming #", name, status, body)
		}
	}
	if got := up.received(); len(got) != before {
		t.Errorf("the upstream received %q", got[before:])
	}
	for name, hdr := range map[string][]string{
		"X-Forwarded-Uri": {"X-Forwarded-Method", "GET", "X-Forwarded-Uri", probe},
		"X-Original-URI":  {"X-Original-Method", "GET", "X-Original-URI", probe},
		"X-Original-URL":  {"X-Original-Method", "GET", "X-Original-URL", "http://gw" + probe},
	} {
		if status, body := decisionRaw(t, addr, DefaultDecisionPath, tok, hdr...); status != http.StatusBadRequest || !strings.Contains(body, "#") {
			t.Errorf("decision, # in %s: %d %s; want 400 naming #", name, status, body)
		}
	}
	// Envoy ext_authz with path_prefix: the path decided on follows the decision path
	if status, body := decisionRaw(t, addr, DefaultDecisionPath+probe, tok); status != http.StatusBadRequest {
		t.Errorf("decision, # below the decision path: %d %s; want 400", status, body)
	}
	// the decision endpoint grants what the proxy grants
	if status, body := decisionRaw(t, addr, DefaultDecisionPath, tok, "X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/orders/files/x/meta"); status != http.StatusOK {
		t.Errorf("decision, granted path: %d %s", status, body)
	}
	// an escaped # is a character of the segment, not a fragment: decided as such
	if status, _ := get("/orders/files/secret%23/meta"); status != http.StatusOK {
		t.Errorf("%%23 in a segment: %d, want 200 (the upstream reads the segment secret#)", status)
	}
}

// A long request target is refused before any work: past adminapi.MaxRequestTargetBytes with
// 414, past adminapi.MaxPathSegments with 400; up to them it is served. The same holds for a
// URI forwarded to the decision endpoint.
func TestAttackLongTargetsAreRefusedBeforeAnyWork(t *testing.T) {
	h, up, tok, addr := filesGateway(t)
	// "/orders/files/x/meta?pad=" + padding, exactly n bytes long
	target := func(n int) string {
		p := "/orders/files/x/meta?pad="
		return p + strings.Repeat("a", n-len(p))
	}
	// /orders/files/x followed by "/a" up to n segments, then /meta
	segments := func(n int) string { return "/orders/files/x" + strings.Repeat("/a", n-4) + "/meta" }
	get := func(target string) (int, string) {
		return rawExchange(t, addr, "GET "+target+" HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
	}
	// no token: what is not refused by the limits gets 401
	for _, tc := range []struct {
		name   string
		target string
		status int
	}{
		{"at the length limit", target(adminapi.MaxRequestTargetBytes), http.StatusUnauthorized},
		{"one byte over", target(adminapi.MaxRequestTargetBytes + 1), http.StatusRequestURITooLong},
		{"60 KB of /a", "/orders" + strings.Repeat("/a", 30000), http.StatusRequestURITooLong},
		{"at the segment limit", segments(adminapi.MaxPathSegments), http.StatusUnauthorized},
		{"one segment over", segments(adminapi.MaxPathSegments + 1), http.StatusBadRequest},
		{"slashes in the query do not count", "/orders/files/x/meta?q=" + strings.Repeat("/", 2*adminapi.MaxPathSegments), http.StatusUnauthorized},
	} {
		if status, body := get(tc.target); status != tc.status {
			t.Errorf("proxy, %s: %d %s; want %d", tc.name, status, body, tc.status)
		}
		if status, body := decisionRaw(t, addr, DefaultDecisionPath, "", "X-Forwarded-Method", "GET", "X-Forwarded-Uri", tc.target); status != tc.status {
			t.Errorf("decision, %s: %d %s; want %d", tc.name, status, body, tc.status)
		}
	}
	if status, _ := decisionRaw(t, addr, DefaultDecisionPath+segments(adminapi.MaxPathSegments+1), ""); status != http.StatusBadRequest {
		t.Errorf("decision, too many segments below the decision path: %d, want 400", status)
	}
	if n := h.fake.validate.Load(); n != 0 {
		t.Errorf("tokens were validated %d times; none was sent", n)
	}
	if got := up.received(); len(got) != 0 {
		t.Errorf("the upstream received %q", got)
	}
	_ = tok
}

// A forwarded URI is one request target: a proxy that joins two values of the header sends a
// comma-separated list, which is refused, as is whitespace.
func TestAttackForwardedURIListsAreRefused(t *testing.T) {
	h, _, tok, addr := filesGateway(t)
	for _, uri := range []string{
		"/orders/files/x/meta, /orders/files/secret",
		"/orders/files/x/meta,/orders/files/secret",
		"/orders/files/x/meta /orders/files/secret",
		"/orders/files/x/meta\t/orders/files/secret",
		"/orders/files/x/meta?a=1,2",
	} {
		for _, name := range []string{"X-Forwarded-Uri", "X-Original-URI"} {
			if status, body := decisionRaw(t, addr, DefaultDecisionPath, tok, "X-Forwarded-Method", "GET", name, uri); status != http.StatusBadRequest {
				t.Errorf("%s %q: %d %s; want 400", name, uri, status, body)
			}
		}
	}
	if n := h.fake.validate.Load(); n != 0 {
		t.Errorf("tokens were validated %d times for refused URIs", n)
	}
	// the same path without the list is decided
	if status, body := decisionRaw(t, addr, DefaultDecisionPath, tok, "X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/orders/files/x/meta?a=1%2C2"); status != http.StatusOK {
		t.Errorf("one URI: %d %s; want 200", status, body)
	}
}
