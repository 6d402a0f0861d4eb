package gateway

import (
	"net/http"
	"strings"
	"testing"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/edgeproxy"
)

// TestResourceMetadataThroughEdgeProxies: with the forward-auth configurations the guide
// shows (internal/edgeproxy), a real nginx and a real Caddy route the well-known path to
// idpgate, which answers the metadata of the host the client asked (nginx names idpgate's
// upstream in Host, so X-Forwarded-Host is what tells), and a 401 of the API names it. The
// test's Caddy serves 127.0.0.1 only, so the other hosts are asked through nginx.
func TestResourceMetadataThroughEdgeProxies(t *testing.T) {
	for name, tc := range map[string]struct {
		start func(edgeproxy.Config) (*edgeproxy.Server, error)
		hosts []string
	}{
		"nginx": {edgeproxy.StartNginx, []string{"127.0.0.1", "b.localhost"}},
		"caddy": {edgeproxy.StartCaddy, []string{"127.0.0.1"}},
	} {
		start, hosts := tc.start, tc.hosts
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			upstream := newEchoUpstream(t)
			// The documented server block serves the hosts the APIs name (nginx's server_name
			// takes several), and refuses the others.
			edge, err := start(edgeproxy.Config{Idpgate: strings.TrimPrefix(h.proxy.URL, "http://"),
				Upstream: strings.TrimPrefix(upstream.URL, "http://"), Host: strings.Join(hosts, " "), Dir: t.TempDir()})
			if err != nil {
				t.Fatalf("starting %s: %v; %s", name, err, edgeproxy.InstallHint)
			}
			t.Cleanup(edge.Stop)
			h.createAPI(adminapi.API{Name: "a", ListenPath: "/mcp", Hosts: []string{"127.0.0.1"}, UpstreamURL: upstream.URL,
				Resource: "http://127.0.0.1/mcp"})
			h.createAPI(adminapi.API{Name: "b", ListenPath: "/mcp", Hosts: []string{"b.localhost"}, UpstreamURL: upstream.URL,
				Resource: "http://b.localhost/mcp"})

			get := func(host, path string) *http.Response {
				req, _ := http.NewRequest("GET", edge.URL+path, nil)
				if host != "127.0.0.1" {
					req.Host = host
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				return resp
			}
			for _, host := range hosts {
				resp := get(host, "/.well-known/oauth-protected-resource/mcp")
				if doc := metadata(t, resp); doc["resource"] != "http://"+host+"/mcp" {
					t.Errorf("%s: metadata of %v (edge log %s)", host, doc["resource"], edge.Log())
				}
			}
			if name == "nginx" {
				expect(t, get("c.localhost", "/.well-known/oauth-protected-resource/mcp"), http.StatusMisdirectedRequest)
			}
			resp := get("127.0.0.1", "/mcp")
			expect(t, resp, http.StatusUnauthorized)
			if c := resp.Header.Get("WWW-Authenticate"); !strings.Contains(c, `resource_metadata="http://127.0.0.1/.well-known/oauth-protected-resource/mcp"`) {
				t.Errorf("challenge through %s: %q", name, c)
			}
		})
	}
}
