package provider

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/edgeproxy"
)

// TestAccForwardAuth_nginx and _caddy put a real edge proxy, with the configuration the docs
// show, in front of an upstream and let it ask the gateway's decision endpoint about every
// request; Terraform configures the gateway. Through the edge proxy: a valid token reaches
// the upstream with the identity headers (a client's forged copies gone), no token is a 401
// with the challenge, another client's token a 403, and past the limit a 429 with Retry-After.
func TestAccForwardAuth_nginx(t *testing.T) { testAccForwardAuth(t, edgeproxy.StartNginx) }

func TestAccForwardAuth_caddy(t *testing.T) { testAccForwardAuth(t, edgeproxy.StartCaddy) }

func testAccForwardAuth(t *testing.T, start func(edgeproxy.Config) (*edgeproxy.Server, error)) {
	t.Parallel()
	s := startGatewayStack(t)
	edge, err := start(edgeproxy.Config{Idpgate: hostOf(t, s.proxyURL), Upstream: hostOf(t, s.upstream.URL), Host: "127.0.0.1", Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(edge.Stop)
	otherID, otherSecret := s.registerOutOfBand(t, "someone-else")

	const limit = 2
	accTest(t, resource.TestCase{
		CheckDestroy: s.checkNothingLeft(otherID),
		Steps: []resource.TestStep{{
			Config: e2eConfig(s, limit, "GET"),
			Check: func(st *terraform.State) error {
				clientID, token, err := s.tokenFromState(st, e2eApp)
				if err != nil {
					return err
				}
				other, err := s.fetchToken(otherID, otherSecret)
				if err != nil {
					return err
				}
				if err := checkThroughEdge(s, edge, clientID, token, other, limit); err != nil {
					return fmt.Errorf("%w\nedge proxy log:\n%s", err, edge.Log())
				}
				return nil
			},
		}},
	})
}

func checkThroughEdge(s *gatewayStack, edge *edgeproxy.Server, clientID, token, other string, limit int) error {
	send := func(bearer string, forged map[string]string) (*http.Response, string, error) {
		req, err := http.NewRequest("GET", edge.URL+"/orders/7?x=1", nil)
		if err != nil {
			return nil, "", err
		}
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		for k, v := range forged {
			req.Header[k] = []string{v} // sent as spelled
		}
		resp, err := s.http.Do(req)
		if err != nil {
			return nil, "", err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body), nil
	}

	before := s.upstream.count()
	resp, body, err := send(token, map[string]string{adminapi.HeaderSubject: "evil", adminapi.HeaderClientID: "evil",
		"X_Idpgate_Client_Id": "evil", "x_idpgate_subject": "evil", "X-IDPGATE-SCOPE": "evil"})
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || body != "upstream ok" {
		return fmt.Errorf("valid token: %d %q, want the upstream's 200", resp.StatusCode, body)
	}
	seen, n := s.upstream.last()
	if n != before+1 || seen.Path != "/orders/7" {
		return fmt.Errorf("the upstream saw %d new requests, the last %s", n-before, seen.Path)
	}
	for name, want := range map[string]string{adminapi.HeaderClientID: clientID, adminapi.HeaderSubject: clientID, adminapi.HeaderScope: "orders"} {
		// every spelling a CGI-style upstream reads as this header
		var got []string
		for k, v := range seen.Header {
			if strings.EqualFold(strings.ReplaceAll(k, "_", "-"), name) {
				got = append(got, v...)
			}
		}
		if len(got) != 1 || got[0] != want {
			return fmt.Errorf("the upstream saw %s = %q, want only %q", name, got, want)
		}
	}
	if seen.Header.Get(adminapi.HeaderPolicy) == "" {
		return fmt.Errorf("the upstream saw no %s", adminapi.HeaderPolicy)
	}

	resp, _, err = send("", nil)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
		return fmt.Errorf("no token: %d, WWW-Authenticate %q; want 401 with the Bearer challenge", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	if resp, _, err = send(other, nil); err != nil || resp.StatusCode != http.StatusForbidden {
		return fmt.Errorf("another client's token: %v %v, want 403", statusOf(resp), err)
	}
	for i := 1; i < limit; i++ {
		if resp, _, err = send(token, nil); err != nil || resp.StatusCode != http.StatusOK {
			return fmt.Errorf("request %d of %d: %v %v, want 200", i+1, limit, statusOf(resp), err)
		}
	}
	if resp, _, err = send(token, nil); err != nil || resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		return fmt.Errorf("past the limit: %v %v, Retry-After %q; want 429 with Retry-After", statusOf(resp), err, resp.Header.Get("Retry-After"))
	}
	if got := s.upstream.count(); got != before+limit {
		return fmt.Errorf("the upstream received %d requests, want only the %d allowed", got-before, limit)
	}
	return nil
}

func statusOf(resp *http.Response) any {
	if resp == nil {
		return "no answer"
	}
	return resp.StatusCode
}

func hostOf(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}
