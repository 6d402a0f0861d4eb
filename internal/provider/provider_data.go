package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/dcr"
)

type diagList = diag.Diagnostics

// providerData is what Configure hands to every resource and data source.
type providerData struct {
	// IdP is nil when neither issuer nor registration_endpoint is configured.
	IdP *idpSettings
	// Gateway is nil when gateway_url is not configured.
	Gateway *adminapi.Client
	// HTTPClient and MaxRetries serve the data sources that work without a configured IdP.
	HTTPClient *http.Client
	MaxRetries int
	// unknown is set when some provider setting is only known at apply time.
	unknown bool
	// planView is the gateway as listed at plan time (gateway_plan_checks.go).
	planView gatewayPlanView
	// planChecks compares configurations with what the IdP advertises (plan_checks.go); nil
	// when plan_checks is false.
	planChecks *planChecks
}

// idpSettings is the IdP half of the provider configuration.
type idpSettings struct {
	Issuer               string
	Driver               string
	InitialAccessToken   string
	RegistrationEndpoint string
	HTTPClient           *http.Client
	MaxRetries           int
	// Client registers and manages clients; built by connect.
	Client *dcr.Client
}

// connect builds the registration client. It does not touch the network: the registration
// endpoint is discovered on first use.
func (s *idpSettings) connect(issuer, driver setting, userAgent string) diagList {
	var diags diagList
	// From the block or the environment, the same check and the same words.
	if err := adminapi.CheckHTTPURL(issuer.value); issuer.value != "" && err != nil {
		diags.Append(attrError(issuer, "Invalid issuer", err.Error()))
		return diags
	}
	client, err := dcr.New(dcr.Config{
		Driver:               s.Driver,
		Issuer:               s.Issuer,
		RegistrationEndpoint: s.RegistrationEndpoint,
		InitialAccessToken:   s.InitialAccessToken,
		HTTPClient:           s.HTTPClient,
		MaxRetries:           s.MaxRetries,
		Logger:               dcrLogger,
		UserAgent:            userAgent,
	})
	if err != nil {
		// The schema validates the block; this catches values that came from the environment.
		target := issuer
		if errors.Is(err, dcr.ErrUnknownDriver) {
			target = driver
		}
		diags.Append(attrError(target, "Invalid identity provider setting", err.Error()))
		return diags
	}
	s.Client = client
	return diags
}

// dcrLogger routes internal/dcr's entries to tflog, where the masks of the calling context
// (see maskCredentials) apply.
func dcrLogger(ctx context.Context, level dcr.Level, msg string, fields map[string]any) {
	ctx = tflog.SetField(ctx, "component", "dcr")
	if level == dcr.LevelWarn {
		tflog.Warn(ctx, msg, fields)
		return
	}
	tflog.Debug(ctx, msg, fields)
}

// maskCredentials makes tflog replace every given credential in messages and field values
// of ctx's log entries. Empty values are skipped (masking "" would mask everything).
func maskCredentials(ctx context.Context, credentials ...string) context.Context {
	var values []string
	for _, c := range credentials {
		if c != "" {
			values = append(values, c)
		}
	}
	if len(values) == 0 {
		return ctx
	}
	ctx = tflog.MaskAllFieldValuesStrings(ctx, values...)
	return tflog.MaskMessageStrings(ctx, values...)
}

func (s *idpSettings) validate() diagList {
	var diags diagList
	if s.Driver == dcr.DriverOkta && s.InitialAccessToken == "" {
		diags.AddAttributeError(path.Root("initial_access_token"), "Missing Okta API token",
			"The okta driver manages clients with an Okta API token: set initial_access_token in the provider "+
				"block or IDPGATE_INITIAL_ACCESS_TOKEN to a token created under Security > API > Tokens "+
				"(an admin with the okta.clients.manage permission).")
	}
	return diags
}

// providerDataFrom reads what Configure handed a resource or data source. It is nil while
// the provider is not configured yet (e.g. during validation).
func providerDataFrom(raw any) (*providerData, diagList) {
	var diags diagList
	if raw == nil {
		return nil, diags
	}
	data, ok := raw.(*providerData)
	if !ok {
		diags.AddError("Unexpected provider data",
			fmt.Sprintf("Expected *providerData, got %T. This is a bug in the provider; please report it.", raw))
	}
	return data, diags
}

// configuredData is what Configure handed a resource, data source or ephemeral resource
// (providerDataFrom), with what went wrong appended to diags.
func configuredData(raw any, diags *diagList) *providerData {
	data, d := providerDataFrom(raw)
	diags.Append(d...)
	return data
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
