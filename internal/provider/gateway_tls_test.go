package provider

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/idpgate/terraform-provider-idpgate/internal/testcerts"
)

func TestGatewayHTTPClientSettings(t *testing.T) {
	ca := testcerts.NewCA(t)
	client := ca.Client(t, "terraform")
	set := func(attr, env, value string) setting { return setting{attribute: attr, envVar: env, value: value} }
	bundle := set("gateway_ca_bundle", "IDPGATE_GATEWAY_CA_BUNDLE", string(ca.PEM))
	cert := set("gateway_client_cert", "IDPGATE_GATEWAY_CLIENT_CERT", string(client.CertPEM))
	key := set("gateway_client_key", "IDPGATE_GATEWAY_CLIENT_KEY", string(client.KeyPEM))
	empty := func(s setting) setting { s.value = ""; return s }

	for _, c := range []struct {
		name string
		s    resolvedSettings
		want []string // in the one diagnostic; none: no diagnostic
	}{
		{"nothing set", resolvedSettings{}, nil},
		{"CA bundle and client certificate", resolvedSettings{gatewayCABundle: bundle, gatewayClientCert: cert, gatewayClientKey: key}, nil},
		{"certificate without key", resolvedSettings{gatewayClientCert: cert, gatewayClientKey: empty(key)},
			[]string{"gateway_client_key (or IDPGATE_GATEWAY_CLIENT_KEY)", "gateway_client_cert"}},
		{"key without certificate", resolvedSettings{gatewayClientCert: empty(cert), gatewayClientKey: key},
			[]string{"gateway_client_cert (or IDPGATE_GATEWAY_CLIENT_CERT)", "gateway_client_key"}},
		{"key of another certificate", resolvedSettings{gatewayClientCert: set(cert.attribute, cert.envVar, string(ca.Client(t, "x").CertPEM)), gatewayClientKey: key},
			[]string{"gateway_client_cert (or IDPGATE_GATEWAY_CLIENT_CERT)", "IDPGATE_GATEWAY_CLIENT_KEY", "private key does not match"}},
		{"a path instead of PEM", resolvedSettings{gatewayCABundle: set(bundle.attribute, bundle.envVar, "/etc/ca.pem")},
			[]string{"gateway_ca_bundle (or IDPGATE_GATEWAY_CA_BUNDLE)", "contains no PEM certificate"}},
		{"an unknown key: checked at apply", resolvedSettings{gatewayClientCert: cert, gatewayClientKey: setting{attribute: key.attribute, unknown: true}}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			hc, diags := c.s.gatewayHTTPClient(7 * time.Second)
			if len(c.want) == 0 {
				if diags.HasError() {
					t.Fatalf("unexpected diagnostics: %v", diags)
				}
			} else {
				if diags.ErrorsCount() != 1 {
					t.Fatalf("want one error, got %v", diags)
				}
				d := diags.Errors()[0]
				for _, w := range c.want {
					if !strings.Contains(d.Summary()+" "+d.Detail(), w) {
						t.Errorf("diagnostic %q / %q lacks %q", d.Summary(), d.Detail(), w)
					}
				}
				if _, ok := d.(diag.DiagnosticWithPath); !ok {
					t.Errorf("diagnostic without an attribute path: %v", d)
				}
				return
			}
			tr := hc.Transport.(*http.Transport)
			if tr == http.DefaultTransport || hc.Timeout != 7*time.Second {
				t.Errorf("client must have its own transport and the request timeout: %v, %s", tr, hc.Timeout)
			}
			if c.s.gatewayClientCert.value != "" && !c.s.gatewayClientKey.unknown && len(tr.TLSClientConfig.Certificates) != 1 {
				t.Error("the client certificate is not presented")
			}
			if c.s.gatewayCABundle.value != "" && tr.TLSClientConfig.RootCAs == nil {
				t.Error("the gateway CA bundle is not trusted")
			}
		})
	}
}

// tlsGatewayStack serves the admin listener of a gateway stack over TLS with a certificate
// of ca; with clientCA, it requires client certificates from it, as `idpgate serve
// --admin-client-ca` does.
func tlsGatewayStack(t *testing.T, ca *testcerts.CA, clientCA *testcerts.CA) *gatewayStack {
	t.Helper()
	serverCfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{ca.Server(t).TLS(t)}}
	clientCfg := &tls.Config{RootCAs: ca.Pool()}
	if clientCA != nil {
		serverCfg.ClientAuth, serverCfg.ClientCAs = tls.RequireAndVerifyClientCert, clientCA.Pool()
		clientCfg.Certificates = []tls.Certificate{clientCA.Client(t, "checks").TLS(t)}
	}
	s := startGatewayStackWithAdminTLS(t, serverCfg, &http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: clientCfg}})
	if !strings.HasPrefix(s.adminURL, "https://") {
		t.Fatalf("admin URL %s is not https", s.adminURL)
	}
	return s
}

// checkAPIOnGateway asks the gateway whether the API in state is there.
func checkAPIOnGateway(s *gatewayStack) resource.TestCheckFunc {
	return func(st *terraform.State) error {
		id, err := stateAttr(st, "idpgate_protected_api.orders", "id")
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		api, err := s.admin.GetAPI(ctx, id)
		if err != nil {
			return fmt.Errorf("the gateway does not hold the API: %w", err)
		}
		if api.Name != "orders" {
			return fmt.Errorf("the gateway holds %+v", api)
		}
		return nil
	}
}

// TestAccProtectedAPI_overHTTPS: the provider applies over https:// when gateway_ca_bundle
// names the CA of the admin listener's certificate, and says to set it when it is missing.
func TestAccProtectedAPI_overHTTPS(t *testing.T) {
	t.Parallel()
	ca := testcerts.NewCA(t)
	s := tlsGatewayStack(t, ca, nil)
	withoutCA := protectedAPIConfig(s, s.upstream.URL, "60s", "")
	s.providerExtra = fmt.Sprintf("gateway_ca_bundle = %q", ca.PEM)
	accTest(t, resource.TestCase{
		CheckDestroy: s.checkGatewayEmpty,
		Steps: []resource.TestStep{
			{
				Config:      withoutCA,
				ExpectError: regexp.MustCompile(`(?s)Gateway certificate not trusted.*gateway_ca_bundle.*IDPGATE_GATEWAY_CA_BUNDLE`),
			},
			{
				Config: protectedAPIConfig(s, s.upstream.URL, "60s", ""),
				Check:  checkAPIOnGateway(s),
			},
		},
	})
}

// TestAccProtectedAPI_gatewayClientCertificate: against an admin listener that requires
// client certificates, the provider applies with gateway_client_cert and gateway_client_key
// (here the key from IDPGATE_GATEWAY_CLIENT_KEY), is refused without them, and a certificate
// without its key fails the plan.
func TestAccProtectedAPI_gatewayClientCertificate(t *testing.T) {
	ca := testcerts.NewCA(t)
	s := tlsGatewayStack(t, ca, ca)
	client := ca.Client(t, "terraform")
	s.providerExtra = fmt.Sprintf("gateway_ca_bundle = %q", ca.PEM)
	withoutClientCert := protectedAPIConfig(s, s.upstream.URL, "60s", "")
	s.providerExtra += fmt.Sprintf("\n  gateway_client_cert = %q", client.CertPEM)
	withClientCert := protectedAPIConfig(s, s.upstream.URL, "60s", "")
	accTest(t, resource.TestCase{
		CheckDestroy: s.checkGatewayEmpty,
		Steps: []resource.TestStep{
			{
				Config:      withoutClientCert,
				ExpectError: regexp.MustCompile(`(?s)refused the TLS handshake.*gateway_client_cert.*gateway_client_key`),
			},
			{
				Config:      withClientCert,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Missing gateway_client_key.*gateway_client_key \(or\s+IDPGATE_GATEWAY_CLIENT_KEY\)`),
			},
			{
				PreConfig: func() { t.Setenv("IDPGATE_GATEWAY_CLIENT_KEY", string(client.KeyPEM)) },
				Config:    withClientCert,
				Check:     checkAPIOnGateway(s),
			},
		},
	})
}
