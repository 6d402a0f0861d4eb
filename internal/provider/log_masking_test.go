package provider

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-log/tflog"
	"github.com/hashicorp/terraform-plugin-log/tflogtest"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
)

// TestMaskCredentials: a credential is replaced in messages and in field values, and an
// empty one masks nothing.
func TestMaskCredentials(t *testing.T) {
	var out bytes.Buffer
	ctx := tflogtest.RootLogger(context.Background(), &out)
	ctx = maskCredentials(ctx, "", "s3cret-value")
	tflog.Debug(ctx, "sent s3cret-value", map[string]any{"token": "Bearer s3cret-value", "kept": "visible"})
	got := out.String()
	if strings.Contains(got, "s3cret-value") {
		t.Errorf("the credential reached the log: %s", got)
	}
	if !strings.Contains(got, "visible") {
		t.Errorf("masking took more than the credential: %s", got)
	}
}

// TestAccSecretsNeverLogged runs a client, an update that rotates its credentials, and an
// API checked by introspection through create, update and destroy, with everything the
// provider process logs (the provider, the framework, the protocol) at TRACE in a file, and
// fails when a secret the provider held reaches it: the initial access token, the gateway
// admin token, client secrets, registration access tokens, the introspection secret.
func TestAccSecretsNeverLogged(t *testing.T) {
	s := startGatewayStack(t)
	logFile := filepath.Join(t.TempDir(), "provider.log")
	// Read when resource.Test starts: the sink of the in-process provider writes there, one
	// JSON object a line. (terraform-plugin-testing warns that "JSON" is no level it knows,
	// and logs at TRACE, which is what this test wants.)
	t.Setenv("TF_LOG", "JSON")
	t.Setenv("TF_LOG_PATH", logFile)

	const initialAccessToken = "iat-never-logged-5f2e9a77c1"
	config := func(scope string) string {
		return fmt.Sprintf(`
provider "idpgate" {
  issuer               = %q
  initial_access_token = %q
  gateway_url          = %q
  gateway_admin_token  = %q
}

%s%s`, s.idp.URL(), initialAccessToken, s.adminURL, s.adminToken,
			clientCredentialsClient("gateway", "gateway-introspection", "")+clientCredentialsClient("app", "app", scope),
			introspectionAPI(s.upstream.URL, s.idp.IntrospectionEndpoint()))
	}

	secrets := map[string]string{"initial access token": initialAccessToken, "gateway admin token": s.adminToken}
	collect := func(st *terraform.State) error {
		for _, addr := range []string{"idpgate_dcr_client.gateway", "idpgate_dcr_client.app"} {
			for _, attr := range []string{"client_secret", "registration_access_token"} {
				v, err := stateAttr(st, addr, attr)
				if err != nil {
					return err
				}
				secrets[addr+"."+attr+" "+v[:4]] = v
			}
		}
		return nil
	}
	accTest(t, resource.TestCase{
		CheckDestroy: s.checkNothingLeft(),
		Steps: []resource.TestStep{
			{Config: config("orders"), Check: collect},
			{Config: config("orders invoices"), Check: collect},
		},
	})
	for _, c := range s.idp.Clients() {
		secrets["IdP's client_secret of "+c.ClientID] = c.ClientSecret
		secrets["IdP's registration_access_token of "+c.ClientID] = c.RegistrationAccessToken
	}

	checkLogFreeOf(t, logFile, secrets, "registered client")
}

// checkLogFreeOf reads a provider log written with TF_LOG=JSON and fails for every line that
// holds one of secrets. mustHold is a message of the provider's own that the log must carry,
// or it proves nothing.
func checkLogFreeOf(t *testing.T, logFile string, secrets map[string]string, mustHold string) {
	t.Helper()
	f, err := os.Open(logFile)
	if err != nil {
		t.Fatalf("no provider log: %v", err)
	}
	defer f.Close()
	lines, providerLines := 0, 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var entry struct {
			Module string `json:"@module"`
		}
		if json.Unmarshal(sc.Bytes(), &entry) != nil {
			continue
		}
		// The test harness logs each step's configuration, which holds the credentials in
		// clear; what Terraform and the provider log is what matters.
		if entry.Module == "sdk.helper_resource" {
			continue
		}
		lines++
		if strings.Contains(sc.Text(), mustHold) {
			providerLines++
		}
		for what, secret := range secrets {
			if secret != "" && strings.Contains(sc.Text(), secret) {
				t.Errorf("the %s reached the log: %s", what, sc.Text())
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if providerLines == 0 {
		t.Fatalf("the log holds no entry of the provider's own (of %d), so it proves nothing", lines)
	}
}
