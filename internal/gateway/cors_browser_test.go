package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/edgeproxy"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
)

// chromiumHint is what a browser test says when Chromium is missing.
const chromiumHint = "Chromium is needed for the browser tests: apt-get install chromium (bash scripts/test-deps.sh installs it)"

// browserPage is what a single-page application does: fetch the API on another origin with
// a bearer token and show what it got, or the browser's error.
const browserPage = `<!doctype html><meta charset="utf-8"><title>spa</title>
<script>
async function callAPI(url, token) {
  try {
    const r = await fetch(url, {method: "PUT", headers: {"Authorization": "Bearer " + token, "Content-Type": "application/json"}, body: "{}"});
    return JSON.stringify({status: r.status, body: await r.text(), challenge: r.headers.get("WWW-Authenticate") || ""});
  } catch (e) {
    return JSON.stringify({error: String(e)});
  }
}
</script>`

type browserResult struct {
	Status    int    `json:"status"`
	Body      string `json:"body"`
	Challenge string `json:"challenge"`
	Error     string `json:"error"`
}

// newBrowser starts a headless Chromium with a fresh profile; the test fails, naming the
// package, when there is none.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("%s: %v", chromiumHint, err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin), chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.NoDefaultBrowserCheck,
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	return ctx
}

// fetchFrom loads the page from origin and makes it call url with token.
func fetchFrom(t *testing.T, ctx context.Context, origin, url, tok string) browserResult {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(origin+"/")); err != nil {
		t.Fatalf("loading %s: %v", origin, err)
	}
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf("callAPI(%q, %q)", url, tok), chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("page %s calling %s: %v", origin, url, err)
	}
	var res browserResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("page answered %q: %v", out, err)
	}
	return res
}

// TestCORSInChromium: a page on one loopback origin calls an API behind the gateway on
// another origin with Authorization: Bearer, through the gateway's proxy and through nginx
// asking the decision endpoint. Chromium runs the preflight; the allowed origin reads the
// answer, a 401 included; an origin not allowed gets the browser's CORS failure.
func TestCORSInChromium(t *testing.T) {
	ctx := newBrowser(t)
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(browserPage))
	})
	allowed, other := httptest.NewServer(page), httptest.NewServer(page)
	t.Cleanup(allowed.Close)
	t.Cleanup(other.Close)

	h := newHarness(t)
	up := newEchoUpstream(t)
	api := h.createAPI(adminapi.API{Name: "spa", ListenPath: "/spa", UpstreamURL: up.URL,
		CORS: &adminapi.CORS{AllowedOrigins: []string{allowed.URL}, AllowedMethods: []string{"GET", "PUT"},
			AllowedHeaders: []string{"Content-Type"}, MaxAge: adminapi.Duration(time.Minute)}})
	h.createPolicy(adminapi.Policy{Name: "spa", ClientIDs: []string{"app"}, AccessRights: []adminapi.AccessRight{{APIID: api.ID}}})
	tok := h.fake.token("browser-token", token.Identity{Subject: "alice", ClientID: "app"})

	// The documented server block serves the host the page calls (127.0.0.1) and refuses others.
	nginx, err := edgeproxy.StartNginx(edgeproxy.Config{Idpgate: strings.TrimPrefix(h.proxy.URL, "http://"),
		Upstream: strings.TrimPrefix(up.URL, "http://"), Host: "127.0.0.1", Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("nginx: %v (%s)", err, edgeproxy.InstallHint)
	}
	t.Cleanup(nginx.Stop)

	for _, via := range []struct{ name, base string }{{"gateway", h.proxy.URL}, {"nginx", nginx.URL}} {
		t.Run(via.name, func(t *testing.T) {
			url := via.base + "/spa/items"
			res := fetchFrom(t, ctx, allowed.URL, url, tok)
			if res.Error != "" || res.Status != http.StatusOK {
				t.Fatalf("allowed origin: %+v", res)
			}
			var e echoed
			if err := json.Unmarshal([]byte(res.Body), &e); err != nil || e.Method != "PUT" || e.Path != "/spa/items" ||
				e.Header[adminapi.HeaderSubject][0] != "alice" {
				t.Errorf("allowed origin: upstream answered %s (%v)", res.Body, err)
			}
			if res = fetchFrom(t, ctx, allowed.URL, url, "forged"); res.Status != http.StatusUnauthorized ||
				!strings.Contains(res.Challenge, `error="invalid_token"`) {
				t.Errorf("allowed origin, bad token: the application cannot read the refusal: %+v", res)
			}
			if res = fetchFrom(t, ctx, other.URL, url, tok); res.Error == "" || !strings.Contains(res.Error, "Failed to fetch") {
				t.Errorf("origin not allowed: the browser let the page read %+v", res)
			}
		})
	}
}
