package gateway

import (
	"crypto"
	"encoding/base64"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/limits"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
)

// Boundaries of the DPoP and sender-constraint checks that the tests written with the code
// did not reach: the replay store's fallback with Redis down (the Redis replay store's own
// tests are in internal/gateway/limits), which X-Forwarded-Proto builds htu, an mtls-only API
// and a DPoP-bound token, and the challenge a failed DPoP-scheme token gets.

// jkt is the RFC 7638 thumbprint of c's key, as cnf.jkt carries it.
func (c *dpopClient) jkt() string {
	c.t.Helper()
	thumb, err := (&jose.JSONWebKey{Key: &c.priv.PublicKey}).Thumbprint(crypto.SHA256)
	if err != nil {
		c.t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(thumb)
}

// sendDPoP sends GET path to h's proxy with "Authorization: <scheme> tok", the proofs as DPoP
// headers and extra header pairs, and returns the response (body unread).
func sendDPoP(t *testing.T, h *harness, path, scheme, tok string, proofs []string, hdr ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("GET", h.proxy.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", scheme+" "+tok)
	for _, p := range proofs {
		req.Header.Add("DPoP", p)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestDPoPReplayWithRedisDown: with Redis stopped while proofs are checked, the local fallback
// remembers proofs in the replica's memory (a fresh proof passes, its replay does not), and
// the deny fallback answers 503 without accepting the proof.
func TestDPoPReplayWithRedisDown(t *testing.T) {
	for _, tc := range []struct {
		fallback limits.Fallback
		fresh    int // a fresh proof's answer with Redis down
	}{
		{limits.FallbackLocal, http.StatusOK},
		{limits.FallbackDeny, http.StatusServiceUnavailable},
	} {
		t.Run(string(tc.fallback), func(t *testing.T) {
			c := newCluster(t, 1, func(o *Options) { o.LimitsFallback = tc.fallback })
			h := c.reps[0]
			api := h.createAPI(adminapi.API{Name: "dpop", ListenPath: "/dpop", UpstreamURL: c.up.URL, SenderConstraint: adminapi.SenderConstraintDPoP})
			h.createPolicy(adminapi.Policy{Name: "p", ClientIDs: []string{"app"}, AccessRights: grantAll(api)})
			client := newDPoPClient(t)
			tok := c.fake.token("bound", token.Identity{ClientID: "app", Confirmation: map[string]any{"jkt": client.jkt()}})
			target := h.proxy.URL + "/dpop/x"
			proof := func() string { return client.proof("GET", target, tok, time.Now(), nextJTI()) }
			expect(t, sendDPoP(t, h, "/dpop/x", "DPoP", tok, []string{proof()}), http.StatusOK)

			c.srv.Stop()
			p := proof()
			resp := sendDPoP(t, h, "/dpop/x", "DPoP", tok, []string{p})
			expect(t, resp, tc.fresh)
			if tc.fresh == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			// Replayed: refused either way (local: remembered in memory; deny: unavailable).
			want := http.StatusUnauthorized
			if tc.fallback == limits.FallbackDeny {
				want = http.StatusServiceUnavailable
			}
			expect(t, sendDPoP(t, h, "/dpop/x", "DPoP", tok, []string{p}), want)

			c.srv.StartAgain()
			deadline := time.Now().Add(5 * time.Second)
			for {
				resp := sendDPoP(t, h, "/dpop/x", "DPoP", tok, []string{proof()})
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("a fresh proof after Redis is back: %d", resp.StatusCode)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// TestDPoPHTUBelievesXForwardedProtoOnlyFromTrustedProxies: the URL a proof must name is
// https only when the connection is TLS or a trusted proxy says so; a client's own
// X-Forwarded-Proto cannot make a proof made for another scheme pass (request's test of the
// same name has the table of addresses and schemes).
func TestDPoPHTUBelievesXForwardedProtoOnlyFromTrustedProxies(t *testing.T) {
	// Through the proxy: loopback is not a trusted proxy here.
	h := newHarnessIn(t, t.TempDir(), newFakeValidators(), func(o *Options) {
		o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	})
	up := newEchoUpstream(t)
	api := h.createAPI(adminapi.API{Name: "dpop", ListenPath: "/dpop", UpstreamURL: up.URL})
	h.createPolicy(adminapi.Policy{Name: "p", ClientIDs: []string{"app"}, AccessRights: grantAll(api)})
	client := newDPoPClient(t)
	tok := h.fake.token("bound", token.Identity{ClientID: "app", Confirmation: map[string]any{"jkt": client.jkt()}})
	httpsTarget := strings.Replace(h.proxy.URL, "http://", "https://", 1) + "/dpop/x"
	resp := sendDPoP(t, h, "/dpop/x", "DPoP", tok, []string{client.proof("GET", httpsTarget, tok, time.Now(), nextJTI())},
		"X-Forwarded-Proto", "https")
	expect(t, resp, http.StatusUnauthorized)
	if c := resp.Header.Get("WWW-Authenticate"); !strings.Contains(c, `error="invalid_dpop_proof"`) {
		t.Errorf("a proof for https over http with the client's X-Forwarded-Proto: WWW-Authenticate %q", c)
	}
	expect(t, sendDPoP(t, h, "/dpop/x", "DPoP", tok, []string{client.proof("GET", h.proxy.URL+"/dpop/x", tok, time.Now(), nextJTI())},
		"X-Forwarded-Proto", "https"), http.StatusOK)
}

// TestMTLSOnlyAPIRefusesDPoPBoundTokens: sender_constraint mtls takes certificate-bound tokens
// only; a DPoP-bound token with a valid proof is refused, as an unbound one is.
func TestMTLSOnlyAPIRefusesDPoPBoundTokens(t *testing.T) {
	h := newHarness(t)
	up := newEchoUpstream(t)
	strict := h.createAPI(adminapi.API{Name: "strict", ListenPath: "/strict", UpstreamURL: up.URL, SenderConstraint: adminapi.SenderConstraintMTLS})
	either := h.createAPI(adminapi.API{Name: "either", ListenPath: "/either", UpstreamURL: up.URL, SenderConstraint: adminapi.SenderConstraintDPoPOrMTLS})
	h.createPolicy(adminapi.Policy{Name: "p", ClientIDs: []string{"app"}, AccessRights: append(grantAll(strict), grantAll(either)...)})
	client := newDPoPClient(t)
	tok := h.fake.token("bound", token.Identity{ClientID: "app", Confirmation: map[string]any{"jkt": client.jkt()}})
	proof := func(path string) []string {
		return []string{client.proof("GET", h.proxy.URL+path, tok, time.Now(), nextJTI())}
	}
	expect(t, sendDPoP(t, h, "/either/x", "DPoP", tok, proof("/either/x")), http.StatusOK)
	resp := sendDPoP(t, h, "/strict/x", "DPoP", tok, proof("/strict/x"))
	if code := errorCode(t, expect(t, resp, http.StatusUnauthorized)); code != "invalid_token" {
		t.Errorf("a DPoP-bound token at an mtls API: %s, want invalid_token", code)
	}
	if c := resp.Header.Get("WWW-Authenticate"); !strings.Contains(c, "client certificate") {
		t.Errorf("WWW-Authenticate %q does not say the API takes certificate-bound tokens", c)
	}
}

// TestFailedDPoPSchemeTokenGetsADPoPChallenge: a token presented with the DPoP scheme that
// fails validation is answered with the DPoP challenge (RFC 9449 §7.1), a Bearer token with
// the Bearer one.
func TestFailedDPoPSchemeTokenGetsADPoPChallenge(t *testing.T) {
	h := newHarness(t)
	up := newEchoUpstream(t)
	api := h.createAPI(adminapi.API{Name: "a", ListenPath: "/a", UpstreamURL: up.URL})
	h.createPolicy(adminapi.Policy{Name: "p", ClientIDs: []string{"app"}, AccessRights: grantAll(api)})
	for scheme, prefix := range map[string]string{"DPoP": "DPoP algs=", "dpop": "DPoP algs=", "Bearer": "Bearer "} {
		resp := sendDPoP(t, h, "/a/x", scheme, "not-a-valid-token", nil)
		expect(t, resp, http.StatusUnauthorized)
		c := resp.Header.Get("WWW-Authenticate")
		if !strings.HasPrefix(c, prefix) || !strings.Contains(c, `error="invalid_token"`) {
			t.Errorf("an invalid token with scheme %s: WWW-Authenticate %q, want %s... error=\"invalid_token\"", scheme, c, prefix)
		}
	}
}
