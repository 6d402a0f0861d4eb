package provider

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/idpgate/terraform-provider-idpgate/internal/dcr"
)

var (
	_ ephemeral.EphemeralResource              = &accessTokenEphemeralResource{}
	_ ephemeral.EphemeralResourceWithConfigure = &accessTokenEphemeralResource{}
)

// scopeToken is one RFC 6749 §3.3 scope: printable ASCII without space, '"' or '\'.
var scopeToken = regexp.MustCompile(`^[\x21\x23-\x5B\x5D-\x7E]+$`)

// NewAccessTokenEphemeralResource is the idpgate_access_token ephemeral resource: an access
// token from the identity provider's token endpoint (client_credentials grant), handed to
// other providers during one Terraform run and never written to plan or state.
func NewAccessTokenEphemeralResource() ephemeral.EphemeralResource {
	return &accessTokenEphemeralResource{}
}

type accessTokenEphemeralResource struct {
	data *providerData
}

type accessTokenModel struct {
	ClientID      types.String      `tfsdk:"client_id"`
	ClientSecret  types.String      `tfsdk:"client_secret"`
	Scopes        types.Set         `tfsdk:"scopes"`
	Audience      types.String      `tfsdk:"audience"`
	Resources     types.Set         `tfsdk:"resources"`
	TokenEndpoint types.String      `tfsdk:"token_endpoint"`
	AuthMethod    types.String      `tfsdk:"auth_method"`
	AccessToken   types.String      `tfsdk:"access_token"`
	TokenType     types.String      `tfsdk:"token_type"`
	ExpiresIn     types.Int64       `tfsdk:"expires_in"`
	ExpiresAt     timetypes.RFC3339 `tfsdk:"expires_at"`
	GrantedScopes types.Set         `tfsdk:"granted_scopes"`
}

func (r *accessTokenEphemeralResource) Metadata(_ context.Context, req ephemeral.MetadataRequest, resp *ephemeral.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_access_token"
}

func (r *accessTokenEphemeralResource) Schema(_ context.Context, _ ephemeral.SchemaRequest, resp *ephemeral.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "An OAuth 2.0 access token obtained with the `client_credentials` grant (RFC 6749 §4.4) " +
			"from the identity provider's token endpoint. It exists only while Terraform runs: it is never written to " +
			"the plan or the state, and every run obtains a new one. It is not renewed: a run that outlives " +
			"`expires_in` must not rely on it any more.",
		Attributes: map[string]schema.Attribute{
			"client_id": schema.StringAttribute{
				MarkdownDescription: "The client to obtain the token for, e.g. `idpgate_dcr_client.app.client_id`.",
				Required:            true,
				Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"client_secret": schema.StringAttribute{
				MarkdownDescription: "The client's secret, e.g. `idpgate_dcr_client.app.client_secret`.",
				Required:            true,
				Sensitive:           true,
				Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"scopes": schema.SetAttribute{
				MarkdownDescription: "Scopes to request, sent space-separated as `scope`. Left out, the identity provider " +
					"grants its default (often every scope registered for the client).",
				ElementType: types.StringType,
				Optional:    true,
				Validators: []validator.Set{setvalidator.ValueStringsAre(stringvalidator.RegexMatches(
					scopeToken, "must be one scope: printable ASCII without spaces, quotes or backslashes"))},
			},
			"audience": schema.StringAttribute{
				MarkdownDescription: "Sent as the `audience` parameter, which some identity providers (Auth0, for " +
					"example) require to choose the API the token is for.",
				Optional:   true,
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"resources": schema.SetAttribute{
				MarkdownDescription: "Resource indicators (RFC 8707): absolute URIs of the APIs the token is for, each " +
					"sent as a `resource` parameter. An identity provider that implements RFC 8707 puts them in the " +
					"token's `aud`, which is what an `idpgate_protected_api` with that `resource` requires.",
				ElementType: types.StringType,
				Optional:    true,
				Validators:  []validator.Set{setvalidator.ValueStringsAre(absoluteURL())},
			},
			"token_endpoint": schema.StringAttribute{
				MarkdownDescription: "The token endpoint. Defaults to the one the provider's `issuer` advertises in its " +
					"discovery document.",
				Optional:   true,
				Computed:   true,
				Validators: []validator.String{absoluteURL()},
			},
			"auth_method": schema.StringAttribute{
				MarkdownDescription: "How the client authenticates: `client_secret_basic` (HTTP Basic, the default) or " +
					"`client_secret_post` (in the form body). It must match the client's `token_endpoint_auth_method`.",
				Optional:   true,
				Computed:   true,
				Validators: []validator.String{stringvalidator.OneOf(dcr.AuthMethodClientSecretBasic, dcr.AuthMethodClientSecretPost)},
			},
			"access_token": schema.StringAttribute{
				MarkdownDescription: "The access token.",
				Computed:            true,
				Sensitive:           true,
			},
			"token_type": schema.StringAttribute{
				MarkdownDescription: "The token type, usually `Bearer`.",
				Computed:            true,
			},
			"expires_in": schema.Int64Attribute{
				MarkdownDescription: "Lifetime of the token in seconds, as the identity provider said; null when it did not.",
				Computed:            true,
			},
			"expires_at": schema.StringAttribute{
				MarkdownDescription: "When the token expires (RFC 3339), counted from just before it was requested; null " +
					"when the identity provider did not say.",
				CustomType: timetypes.RFC3339Type{},
				Computed:   true,
			},
			"granted_scopes": schema.SetAttribute{
				MarkdownDescription: "The scopes granted: the identity provider's `scope` answer or, when it leaves " +
					"that out, the requested `scopes` (RFC 6749 §5.1). Null when neither says.",
				ElementType: types.StringType,
				Computed:    true,
			},
		},
	}
}

func (r *accessTokenEphemeralResource) Configure(_ context.Context, req ephemeral.ConfigureRequest, resp *ephemeral.ConfigureResponse) {
	r.data = configuredData(req.ProviderData, &resp.Diagnostics)
}

// Open obtains the token. No RenewAt is set: Terraform's Renew cannot hand a new value to what
// already read this one, so a renewal could only extend a lease, which access tokens lack.
func (r *accessTokenEphemeralResource) Open(ctx context.Context, req ephemeral.OpenRequest, resp *ephemeral.OpenResponse) {
	var cfg accessTokenModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	result, diags := r.open(ctx, cfg)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.Result.Set(ctx, &result)...)
}

// open does Open's work on plain values, so that it can be tested without Terraform.
func (r *accessTokenEphemeralResource) open(ctx context.Context, cfg accessTokenModel) (accessTokenModel, diag.Diagnostics) {
	var diags diag.Diagnostics
	ctx = maskCredentials(ctx, cfg.ClientSecret.ValueString())

	endpoint, d := r.tokenEndpoint(ctx, cfg.TokenEndpoint.ValueString())
	diags.Append(d...)
	if diags.HasError() {
		return cfg, diags
	}
	if u, err := url.Parse(endpoint); err == nil && u.Scheme == "http" && !isLoopback(u.Hostname()) {
		diags.AddAttributeWarning(path.Root("token_endpoint"), "Token endpoint without TLS",
			fmt.Sprintf("%s is plain http: the client secret and the access token cross the network unencrypted. "+
				"Use the identity provider's https endpoint.", endpoint))
	}

	tr := dcr.TokenRequest{
		Endpoint:     endpoint,
		ClientID:     cfg.ClientID.ValueString(),
		ClientSecret: cfg.ClientSecret.ValueString(),
		AuthMethod:   cfg.AuthMethod.ValueString(),
		Audience:     cfg.Audience.ValueString(),
	}
	if tr.AuthMethod == "" {
		tr.AuthMethod = dcr.AuthMethodClientSecretBasic
	}
	diags.Append(cfg.Scopes.ElementsAs(ctx, &tr.Scopes, true)...)
	diags.Append(cfg.Resources.ElementsAs(ctx, &tr.Resources, true)...)
	if diags.HasError() {
		return cfg, diags
	}
	slices.Sort(tr.Scopes) // a set has no order; a stable one keeps requests comparable
	slices.Sort(tr.Resources)

	requestedAt := time.Now()
	tok, err := r.tokenClient().ClientCredentials(ctx, tr)
	if err != nil {
		diags.Append(tokenErrorDiags(endpoint, tr.AuthMethod, err)...)
		return cfg, diags
	}
	ctx = maskCredentials(ctx, tok.AccessToken)

	result := cfg
	result.TokenEndpoint = types.StringValue(endpoint)
	result.AuthMethod = types.StringValue(tr.AuthMethod)
	result.AccessToken = types.StringValue(tok.AccessToken)
	result.TokenType = optionalString(tok.TokenType)
	result.ExpiresIn = types.Int64Null()
	result.ExpiresAt = timetypes.NewRFC3339Null()
	if tok.ExpiresIn != nil {
		result.ExpiresIn = types.Int64Value(*tok.ExpiresIn)
		result.ExpiresAt = timetypes.NewRFC3339TimeValue(requestedAt.Add(time.Duration(*tok.ExpiresIn) * time.Second).UTC())
	}
	granted := tr.Scopes
	if tok.Scope != nil {
		granted = strings.Fields(*tok.Scope)
	}
	result.GrantedScopes = types.SetNull(types.StringType)
	if tok.Scope != nil || len(granted) > 0 {
		set, d := types.SetValueFrom(ctx, types.StringType, granted)
		diags.Append(d...)
		result.GrantedScopes = set
	}
	tflog.Debug(ctx, "access token obtained", map[string]any{
		"client_id": tr.ClientID, "token_endpoint": endpoint, "token_type": tok.TokenType, "granted_scopes": granted})
	return result, diags
}

// tokenEndpoint is the configured endpoint, or the one the provider's issuer advertises.
func (r *accessTokenEphemeralResource) tokenEndpoint(ctx context.Context, configured string) (string, diag.Diagnostics) {
	var diags diag.Diagnostics
	if configured != "" {
		return configured, diags
	}
	if r.data != nil && r.data.unknown && (r.data.IdP == nil || r.data.IdP.Issuer == "") {
		diags.AddAttributeError(path.Root("token_endpoint"), "Token endpoint not known yet",
			"The provider's issuer is known only after apply, so the token endpoint cannot be discovered now. Set "+
				"token_endpoint, or give the provider an issuer that is known at plan time.")
		return "", diags
	}
	if r.data == nil || r.data.IdP == nil || r.data.IdP.Issuer == "" || r.data.IdP.Client == nil {
		diags.AddAttributeError(path.Root("token_endpoint"), "Missing token endpoint",
			"Set token_endpoint, or issuer (IDPGATE_ISSUER) in the provider block so that the token endpoint is "+
				"discovered from the issuer's discovery document.")
		return "", diags
	}
	doc, err := r.data.IdP.Client.Discover(ctx)
	if err != nil {
		diags.AddAttributeError(path.Root("token_endpoint"), "Token endpoint discovery failed",
			fmt.Sprintf("Could not read the discovery document of %s to find its token endpoint. Check issuer "+
				"(IDPGATE_ISSUER) in the provider block, or set token_endpoint. Underlying error: %v", r.data.IdP.Issuer, err))
		return "", diags
	}
	if doc.TokenEndpoint == "" {
		diags.AddAttributeError(path.Root("token_endpoint"), "No token endpoint advertised",
			fmt.Sprintf("The discovery document at %s advertises no token_endpoint: set token_endpoint.", doc.DocumentURL))
		return "", diags
	}
	return doc.TokenEndpoint, diags
}

// tokenClient sends token requests through the provider's HTTP client (timeout, CA bundle)
// with its max_retries; internal/dcr retries 429, 5xx and connection errors.
func (r *accessTokenEphemeralResource) tokenClient() *dcr.TokenClient {
	cfg := dcr.Config{
		HTTPClient:    &http.Client{Timeout: defaultRequestTimeout},
		MaxRetries:    defaultMaxRetries,
		MaxServerWait: maxServerWait,
		Logger:        dcrLogger,
		UserAgent:     "terraform-provider-idpgate",
	}
	if r.data != nil && r.data.HTTPClient != nil {
		cfg.HTTPClient, cfg.MaxRetries = r.data.HTTPClient, r.data.MaxRetries
	}
	return dcr.NewTokenClient(cfg)
}

// maxServerWait is the longest Retry-After or X-Rate-Limit-Reset honoured; a server asking
// for more gets its error shown instead of a Terraform run that hangs.
const maxServerWait = 2 * time.Minute

// tokenErrorDiags explains a failed token request and names the attribute to change.
func tokenErrorDiags(endpoint, authMethod string, err error) diag.Diagnostics {
	var diags diag.Diagnostics
	var e *dcr.TokenError
	if !errors.As(err, &e) {
		if errors.Is(err, dcr.ErrInvalidTokenResponse) {
			diags.AddAttributeError(path.Root("token_endpoint"), "Invalid token response",
				fmt.Sprintf("%s answered, but not with an OAuth 2.0 token response. Check that token_endpoint is the "+
					"identity provider's token endpoint. Underlying error: %v", endpoint, err))
			return diags
		}
		diags.AddAttributeError(path.Root("token_endpoint"), "Cannot reach the token endpoint",
			fmt.Sprintf("%s did not answer. Check token_endpoint (or the provider's issuer, from which it is "+
				"discovered), ca_bundle and request_timeout. Underlying error: %v", endpoint, err))
		return diags
	}

	at := fmt.Sprintf("The token endpoint %s answered HTTP %d: %s.", endpoint, e.StatusCode, strings.TrimSuffix(idpSays(e), "."))
	switch {
	case e.RetryAfter > maxServerWait:
		diags.AddError("Identity provider unavailable",
			fmt.Sprintf("%s It asked to wait %s before trying again, longer than the %s the provider waits. Try "+
				"again later.", at, e.RetryAfter.Round(time.Second), maxServerWait))
	case e.Retryable():
		diags.AddError("Identity provider unavailable",
			fmt.Sprintf("%s The request was sent %d times. Try again later, or raise max_retries (IDPGATE_MAX_RETRIES).",
				at, e.Attempts))
	case e.Code == "invalid_client" || (e.Code == "" && e.StatusCode == http.StatusUnauthorized):
		diags.AddAttributeError(path.Root("client_secret"), "Identity provider refused the client credentials",
			fmt.Sprintf("%s Check client_id and client_secret (a deleted client, or one whose secret was rotated, "+
				"fails the same way), and auth_method (now %s): it must match the client's token_endpoint_auth_method.",
				at, authMethod))
	case e.Code == "invalid_scope":
		diags.AddAttributeError(path.Root("scopes"), "Identity provider refused the scopes",
			fmt.Sprintf("%s Change scopes to scopes the client may request (its registered scope).", at))
	case e.Code == "unauthorized_client":
		diags.AddAttributeError(path.Root("client_id"), "Client may not use the client_credentials grant",
			fmt.Sprintf("%s Add \"client_credentials\" to the client's grant_types, or use another client_id.", at))
	case e.Code == "invalid_target":
		diags.AddAttributeError(path.Root("resources"), "Identity provider refused the resource indicators",
			fmt.Sprintf("%s Change resources (or audience) to an API the identity provider knows.", at))
	case e.Code == "unsupported_grant_type" || e.StatusCode == http.StatusNotFound || e.StatusCode == http.StatusMethodNotAllowed:
		diags.AddAttributeError(path.Root("token_endpoint"), "Not a client_credentials token endpoint",
			fmt.Sprintf("%s Check token_endpoint: it must be the identity provider's token endpoint, with the "+
				"client_credentials grant enabled.", at))
	default:
		diags.AddError("Token request refused",
			fmt.Sprintf("%s Check client_id, scopes, audience, resources and auth_method (now %s).", at, authMethod))
	}
	return diags
}

// idpSays is what the identity provider said, for a diagnostic.
func idpSays(e *dcr.TokenError) string {
	switch {
	case e.Code != "" && e.Description != "":
		return e.Code + ": " + e.Description
	case e.Code != "":
		return e.Code
	case e.Description != "":
		return e.Description
	}
	return http.StatusText(e.StatusCode)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
