package provider

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

type diagList = diag.Diagnostics

// providerData is what Configure hands to every resource and data source.
type providerData struct {
	// IdP is nil when neither issuer nor registration_endpoint is configured.
	IdP *idpSettings
	// Gateway is nil when gateway_url is not configured.
	Gateway *adminapi.Client
	// unknown is set when some provider setting is only known at apply time.
	unknown bool
}

// idpSettings is the IdP half of the provider configuration.
type idpSettings struct {
	Issuer               string
	Driver               string
	InitialAccessToken   string
	RegistrationEndpoint string
	HTTPClient           *http.Client
	MaxRetries           int
}

func (s *idpSettings) validate() diagList {
	var diags diagList
	if s.Driver == "okta" && s.InitialAccessToken == "" {
		diags.AddAttributeError(path.Root("initial_access_token"), "Missing Okta API token",
			"The okta driver manages clients with an Okta API token: set initial_access_token in the provider "+
				"block or IDPGATE_INITIAL_ACCESS_TOKEN to a token created under Security > API > Tokens "+
				"(an admin with the okta.clients.manage permission).")
	}
	return diags
}

// requireIdP returns the IdP settings, or a diagnostic naming what to configure.
func (d *providerData) requireIdP(what string) (*idpSettings, diagList) {
	var diags diagList
	if d == nil || d.IdP == nil {
		diags.AddError("Identity provider not configured",
			fmt.Sprintf("%s needs an identity provider: set issuer (or IDPGATE_ISSUER) in the provider block, "+
				"or registration_endpoint (IDPGATE_REGISTRATION_ENDPOINT).", what))
		return nil, diags
	}
	return d.IdP, diags
}

// requireGateway returns the gateway admin client, or a diagnostic naming what to configure.
func (d *providerData) requireGateway(what string) (*adminapi.Client, diagList) {
	var diags diagList
	if d == nil || d.Gateway == nil {
		diags.AddError("Gateway not configured",
			fmt.Sprintf("%s needs the idpgate gateway: set gateway_url and gateway_admin_token in the provider "+
				"block (or IDPGATE_GATEWAY_URL and IDPGATE_GATEWAY_ADMIN_TOKEN).", what))
		return nil, diags
	}
	return d.Gateway, diags
}

// attrError is a diagnostic about a provider setting that names both its attribute and its
// environment variable, since the value may have come from either.
func attrError(s setting, summary, detail string) diag.Diagnostic {
	return diag.NewAttributeErrorDiagnostic(path.Root(s.attribute), summary,
		fmt.Sprintf("%s (or %s) %s.", s.attribute, s.envVar, strings.TrimSuffix(detail, ".")))
}
