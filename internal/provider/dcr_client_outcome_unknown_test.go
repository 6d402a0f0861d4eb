package provider

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/idpgate/terraform-provider-idpgate/internal/mockidp"
)

// TestAccDCRClient_createdWithoutClientID: the IdP creates the client but its 201 carries no
// client_id (a proxy in front of the mock strips it). Terraform must not store a client it
// cannot name, nor register again: it reports the outcome as unknown and says how to find
// and import or delete the orphan.
func TestAccDCRClient_createdWithoutClientID(t *testing.T) {
	idp := newAccIdP(t, mockidp.FlavorGeneric)
	target, _ := url.Parse(idp.URL())
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.Method != http.MethodPost || resp.StatusCode != http.StatusCreated {
			return nil
		}
		var answer map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
			return err
		}
		_ = resp.Body.Close()
		delete(answer, "client_id")
		body, _ := json.Marshal(answer)
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return nil
	}
	front := httptest.NewServer(proxy)
	t.Cleanup(front.Close)
	registration := front.URL + "/register"
	if idp.RegistrationEndpoint() != idp.URL()+"/register" {
		t.Fatalf("the generic mock registers at %s, not {issuer}/register", idp.RegistrationEndpoint())
	}

	accTest(t, resource.TestCase{
		CheckDestroy: func(*terraform.State) error {
			if n := len(idp.RequestsTo(http.MethodPost, idp.RegistrationEndpoint())); n != 1 {
				return fmt.Errorf("the registration was sent %d times, want once", n)
			}
			if n := len(idp.Clients()); n != 1 {
				return fmt.Errorf("%d clients at the IdP, want the 1 orphan the test made", n)
			}
			return nil
		},
		Steps: []resource.TestStep{{
			Config: idpProviderBlock(idp, fmt.Sprintf("registration_endpoint = %q", registration)) + `
resource "idpgate_dcr_client" "app" {
  client_name = "orphan-to-be"
  grant_types = ["client_credentials"]
}
`,
			ExpectError: regexp.MustCompile(`(?s)Client registration outcome unknown.*orphan-to-be.*may have been created.*terraform import.*no client_id`),
		}},
	})
}
