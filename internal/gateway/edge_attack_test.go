package gateway

import (
	"net/http"
	"strings"
	"testing"

	"github.com/idpgate/terraform-provider-idpgate/internal/edgeproxy"
)

// The probe of issue 23 through the real nginx with the documented auth_request
// configuration: GET /orders/files/secret#/meta, from a client granted /orders/files/*/meta
// only. nginx forwards the target raw, in X-Forwarded-Uri to the decision endpoint and to the
// upstream, which reads /orders/files/secret. The decision endpoint refuses the "#", and nginx
// answers the refusal (auth_request turns a 400 into a 500) without asking the upstream.
func TestAttackFragmentThroughNginx(t *testing.T) {
	h, up, tok, _ := filesGateway(t)
	edge, err := edgeproxy.StartNginx(edgeproxy.Config{Idpgate: strings.TrimPrefix(h.proxy.URL, "http://"),
		Upstream: strings.TrimPrefix(up.URL, "http://"), Host: "shop.example", Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err) // names the command that installs nginx when it is missing
	}
	t.Cleanup(edge.Stop)
	addr := strings.TrimPrefix(edge.URL, "http://")
	get := func(target string) (int, string) {
		return rawExchange(t, addr, "GET "+target+" HTTP/1.1\r\nHost: shop.example\r\nAuthorization: Bearer "+tok+"\r\nConnection: close\r\n\r\n")
	}
	if status, body := get("/orders/files/x/meta"); status != http.StatusOK {
		t.Fatalf("granted path through nginx: %d %s\nnginx log:\n%s", status, body, edge.Log())
	}
	if status, _ := get("/orders/files/secret"); status != http.StatusForbidden {
		t.Fatalf("/orders/files/secret through nginx: %d, want 403", status)
	}
	before := up.received()
	if status, body := get("/orders/files/secret#/meta"); status == http.StatusOK || status < 400 {
		t.Errorf("/orders/files/secret#/meta through nginx: %d %s; want a refusal", status, body)
	}
	if got := up.received(); len(got) != len(before) {
		t.Errorf("the upstream received %q", got[len(before):])
	}
}
