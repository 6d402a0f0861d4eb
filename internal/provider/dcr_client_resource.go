package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-jsontypes/jsontypes"
	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/dcr"
)

var (
	_ resource.Resource                   = &dcrClientResource{}
	_ resource.ResourceWithConfigure      = &dcrClientResource{}
	_ resource.ResourceWithImportState    = &dcrClientResource{}
	_ resource.ResourceWithValidateConfig = &dcrClientResource{}
	_ resource.ResourceWithModifyPlan     = &dcrClientResource{} // dcr_client_configured_attrs.go
)

// NewDCRClientResource is the idpgate_dcr_client resource: an OAuth 2.0 / OpenID Connect
// client registered at the identity provider through RFC 7591 and managed through RFC 7592.
func NewDCRClientResource() resource.Resource { return &dcrClientResource{} }

type dcrClientResource struct {
	data *providerData
}

func (r *dcrClientResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_dcr_client"
}

func (r *dcrClientResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	// Metadata attributes are Optional+Computed: the IdP fills in what the user leaves out,
	// and those values are stored without ever showing as a difference.
	str := func(desc string, validators ...validator.String) schema.StringAttribute {
		return schema.StringAttribute{MarkdownDescription: desc, Optional: true, Computed: true, Validators: validators}
	}
	set := func(desc string) schema.SetAttribute {
		return schema.SetAttribute{MarkdownDescription: desc, ElementType: types.StringType, Optional: true, Computed: true,
			Validators: []validator.Set{setvalidator.ValueStringsAre(stringvalidator.LengthAtLeast(1))}}
	}
	keep := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	statementWO, statementWOVersion := writeOnlyAttributes("software_statement", "A software statement (RFC 7591 §2.3)",
		"the identity provider")
	resp.Schema = schema.Schema{
		MarkdownDescription: "An OAuth 2.0 / OpenID Connect client registered at the identity provider through Dynamic " +
			"Client Registration (RFC 7591) and managed through RFC 7592 (or Okta's client API with the `okta` driver). " +
			"Metadata the user leaves out is whatever the identity provider chooses; metadata the user sets is compared " +
			"with what the identity provider holds. Changes update the client in place; removing an attribute from " +
			"the configuration updates the client too and lets the identity provider choose it again.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "The client_id.",
				Computed:            true,
				PlanModifiers:       keep,
			},
			"client_name":                str("Human-readable name of the client."),
			"grant_types":                set("OAuth 2.0 grant types, e.g. `client_credentials`, `authorization_code`, `refresh_token`. A client whose only grant type is `client_credentials` is registered with `response_types = []` (and `application_type = \"service\"` under Okta) unless those are set."),
			"response_types":             set("OAuth 2.0 response types, e.g. `code`."),
			"redirect_uris":              set("Redirection URIs for redirect-based flows."),
			"token_endpoint_auth_method": str("How the client authenticates at the token endpoint, e.g. `client_secret_basic`, `client_secret_post`, `private_key_jwt`, `none`."),
			"scope":                      str("Space-separated scopes the client may request. Compared as a set: the order does not matter."),
			"application_type":           str("OpenID Connect application type: `web` or `native` (Okta also `service`, `browser`)."),
			"contacts":                   set("E-mail addresses of people responsible for the client."),
			"dpop_bound_access_tokens": schema.BoolAttribute{
				MarkdownDescription: "Ask for access tokens bound to the client's DPoP key only ([RFC 9449 §5.2](https://www.rfc-editor.org/rfc/rfc9449#section-5.2)): " +
					"the client then sends a DPoP proof to the token endpoint and with every request. Pair it with an " +
					"`idpgate_protected_api` whose `sender_constraint` is `dpop`.",
				Optional: true, Computed: true,
			},
			"tls_client_certificate_bound_access_tokens": schema.BoolAttribute{
				MarkdownDescription: "Ask for access tokens bound to the client's TLS certificate ([RFC 8705 §3.4](https://www.rfc-editor.org/rfc/rfc8705#section-3.4)). " +
					"Pair it with an `idpgate_protected_api` whose `sender_constraint` is `mtls`.",
				Optional: true, Computed: true,
			},
			"tls_client_auth_subject_dn": str("The subject DN of the client's certificate, for `token_endpoint_auth_method = \"tls_client_auth\"` ([RFC 8705 §2.1.2](https://www.rfc-editor.org/rfc/rfc8705#section-2.1.2)).",
				stringvalidator.LengthAtLeast(1)),
			"client_uri": str("Home page of the client.", stringvalidator.LengthAtLeast(1)),
			"logo_uri":   str("Logo of the client.", stringvalidator.LengthAtLeast(1)),
			"policy_uri": str("Privacy policy of the client.", stringvalidator.LengthAtLeast(1)),
			"tos_uri":    str("Terms of service of the client.", stringvalidator.LengthAtLeast(1)),
			"jwks_uri": str("URL of the client's JSON Web Key Set. Conflicts with `jwks`.",
				stringvalidator.ConflictsWith(path.MatchRoot("jwks")), absoluteURL()),
			"jwks": schema.StringAttribute{
				MarkdownDescription: "The client's JSON Web Key Set, as JSON (e.g. `jsonencode({keys = [...]})`). Conflicts with `jwks_uri`.",
				CustomType:          jsontypes.NormalizedType{},
				Optional:            true,
				Computed:            true,
				Validators:          []validator.String{stringvalidator.ConflictsWith(path.MatchRoot("jwks_uri"))},
			},
			"software_statement": schema.StringAttribute{
				MarkdownDescription: "A software statement (a signed JWT asserting client metadata, RFC 7591 §2.3). " +
					"Stored in the state; to keep it out, use `software_statement_wo`.",
				Optional:   true,
				Sensitive:  true,
				Validators: []validator.String{stringvalidator.ConflictsWith(path.MatchRoot("software_statement_wo"))},
			},
			rotationTriggerAttr:             rotationTriggerAttribute(),
			"software_statement_wo":         statementWO,
			"software_statement_wo_version": statementWOVersion,
			"extra_metadata": schema.StringAttribute{
				MarkdownDescription: "Vendor-specific metadata as a JSON object, sent merged with the standard fields " +
					"(e.g. `jsonencode({ post_logout_redirect_uris = [\"https://app/logout\"] })`). Only the keys given here " +
					"are compared with the identity provider.",
				CustomType: jsontypes.NormalizedType{},
				Optional:   true,
			},
			"client_id": schema.StringAttribute{
				MarkdownDescription: "The client identifier the identity provider issued.",
				Computed:            true,
				PlanModifiers:       keep,
			},
			"client_secret": schema.StringAttribute{
				MarkdownDescription: "The client secret, when the identity provider issued one. Some identity providers " +
					"(Hydra) return it only at registration, so an imported client may not have it.",
				Computed:  true,
				Sensitive: true,
			},
			"client_id_issued_at": schema.Int64Attribute{
				MarkdownDescription: "When the client_id was issued, in seconds since the Unix epoch.",
				Computed:            true,
				PlanModifiers:       []planmodifier.Int64{int64planmodifier.UseStateForUnknown()},
			},
			"client_secret_expires_at": schema.Int64Attribute{
				MarkdownDescription: "When the client secret expires, in seconds since the Unix epoch; `0` for never.",
				Computed:            true,
			},
			"registration_client_uri": schema.StringAttribute{
				MarkdownDescription: "Where the client is managed (RFC 7592). Empty with the `okta` driver.",
				Computed:            true,
				PlanModifiers:       keep,
			},
			"registration_access_token": schema.StringAttribute{
				MarkdownDescription: "The token that manages the client (RFC 7592). Identity providers such as Keycloak and " +
					"Hydra rotate it; the newest one is always stored.",
				Computed:  true,
				Sensitive: true,
			},
		},
		Blocks: map[string]schema.Block{"timeouts": timeoutsBlock(ctx, idpOperationTimeout)},
	}
}

func (r *dcrClientResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = configuredData(req.ProviderData, &resp.Diagnostics)
}

// ValidateConfig checks extra_metadata at plan time: it must be an object and must not carry
// a field that has its own attribute or that the identity provider issues.
func (r *dcrClientResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var extra jsontypes.Normalized
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("extra_metadata"), &extra)...)
	if resp.Diagnostics.HasError() || extra.IsNull() || extra.IsUnknown() {
		return
	}
	fields, err := parseExtraMetadata(extra.ValueString())
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("extra_metadata"), "Invalid extra_metadata", err.Error())
		return
	}
	for _, k := range sortedKeys(fields) {
		if slices.Contains(dcr.ReservedFields, k) {
			hint := "Set it through its own attribute instead."
			if !slices.Contains(dcrMetadataAttributes, k) {
				hint = "The identity provider issues it; remove it."
			}
			resp.Diagnostics.AddAttributeError(path.Root("extra_metadata"), "Invalid extra_metadata",
				fmt.Sprintf("extra_metadata must not contain %q. %s", k, hint))
		}
	}
}

// begin bounds ctx by one operation's timeout (get: a method of the timeouts block) and finds
// the IdP; ok is false when diags hold an error.
func (r *dcrClientResource) begin(ctx context.Context, diags *diagList,
	get func(context.Context, time.Duration) (time.Duration, diagList)) (_ context.Context, cancel context.CancelFunc, idp *idpSettings, ok bool) {
	ctx, cancel, d := withOperationTimeout(ctx, get, idpOperationTimeout)
	diags.Append(d...)
	idp, d = r.data.requireIdP("idpgate_dcr_client")
	diags.Append(d...)
	return ctx, cancel, idp, !diags.HasError()
}

// openState reads the state and begins operation op on it (see begin).
func (r *dcrClientResource) openState(ctx context.Context, st tfsdk.State, diags *diagList, op timeoutOf) (
	_ context.Context, cancel context.CancelFunc, idp *idpSettings, state dcrClientModel, ok bool) {
	diags.Append(st.Get(ctx, &state)...)
	if diags.HasError() {
		return ctx, func() {}, nil, state, false
	}
	ctx, cancel, idp, ok = r.begin(ctx, diags, func(ctx context.Context, def time.Duration) (time.Duration, diagList) {
		return op(state.Timeouts, ctx, def)
	})
	return ctx, cancel, idp, state, ok
}

// metadataToSend is plan's metadata for a create (state nil) or an update, with the
// write-only software statement when it is to be sent: on create, and on update only when
// its version moved (a PUT without it leaves the metadata it asserted to the attributes, as
// for any other update). The returned ctx masks it and the credentials in the logs.
func metadataToSend(ctx context.Context, config tfsdk.Config, idp *idpSettings, plan dcrClientModel, state *dcrClientModel,
	diags *diagList) (context.Context, dcr.Metadata) {
	stateVersion, secret, token := types.Int64Null(), "", ""
	if state != nil {
		stateVersion, secret, token = state.SoftwareStatementWOVer, state.ClientSecret.ValueString(), state.RegistrationAccessToken.ValueString()
	}
	statementWO, _, d := writeOnlyToSend(ctx, config, path.Root("software_statement_wo"), state == nil,
		plan.SoftwareStatementWOVer, stateVersion)
	diags.Append(d...)
	ctx = maskCredentials(ctx, idp.InitialAccessToken, secret, token, plan.SoftwareStatement.ValueString(), statementWO)
	metadata, d := plan.metadata(ctx)
	diags.Append(d...)
	if statementWO != "" {
		metadata.SoftwareStatement = statementWO
	}
	return ctx, metadata
}

func (r *dcrClientResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan dcrClientModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, idp, ok := r.begin(ctx, &resp.Diagnostics, plan.Timeouts.Create)
	defer cancel()
	if !ok {
		return
	}
	ctx, metadata := metadataToSend(ctx, req.Config, idp, plan, nil, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}

	reg, err := idp.Client.Register(ctx, metadata)
	if err != nil {
		resp.Diagnostics.Append(createErrorDiags(idp, plan, err)...)
		return
	}
	ctx = maskCredentials(ctx, reg.ClientSecret, reg.RegistrationAccessToken)
	tflog.Debug(ctx, "registered client", map[string]any{"client_id": reg.ClientID})

	saveApplied(ctx, plan, reg, req.Config, &resp.State, resp.Private, &resp.Diagnostics)
}

// saveApplied sets the state to what the IdP answered to a create or an update of plan, and
// records which metadata the configuration set.
func saveApplied(ctx context.Context, plan dcrClientModel, reg dcr.Registration, config tfsdk.Config, state *tfsdk.State,
	private privateState, diags *diagList) {
	next, d := reconcile(ctx, plan, reg, afterApply)
	diags.Append(d...)
	diags.Append(state.Set(ctx, &next)...)
	diags.Append(recordConfiguredMetadata(ctx, config, private)...)
}

func (r *dcrClientResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	ctx, cancel, idp, state, ok := r.openState(ctx, req.State, &resp.Diagnostics, timeouts.Value.Read)
	defer cancel()
	if !ok {
		return
	}
	ctx = maskCredentials(ctx, idp.InitialAccessToken, state.ClientSecret.ValueString(),
		state.RegistrationAccessToken.ValueString(), state.SoftwareStatement.ValueString())

	reg, err := idp.Client.Read(ctx, state.registration())
	if isNotFound(err) {
		resp.Diagnostics.AddWarning("Client deleted outside Terraform",
			fmt.Sprintf("The identity provider no longer knows client %q (%v). It is removed from the state and the "+
				"next apply registers it again, with a new client_id and secret.", state.ClientID.ValueString(), err))
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.Append(idpErrorDiags(idp, "reading client "+state.ClientID.ValueString(), err)...)
		return
	}
	ctx = maskCredentials(ctx, reg.ClientSecret, reg.RegistrationAccessToken)
	next, diags := reconcile(ctx, state, reg, afterRead)
	resp.Diagnostics.Append(diags...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &next)...)
}

func (r *dcrClientResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state dcrClientModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, idp, ok := r.begin(ctx, &resp.Diagnostics, plan.Timeouts.Update)
	defer cancel()
	if !ok {
		return
	}
	ctx, metadata := metadataToSend(ctx, req.Config, idp, plan, &state, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}

	if rotationRequested(state.ClientSecretRotationTrigger, plan.ClientSecretRotationTrigger) {
		r.updateRotating(ctx, req, resp, idp, state, plan, metadata)
		return
	}
	reg, err := idp.Client.Update(ctx, state.registration(), metadata)
	if err != nil {
		resp.Diagnostics.Append(idpErrorDiags(idp, "updating client "+state.ClientID.ValueString(), err)...)
		return
	}
	ctx = maskCredentials(ctx, reg.ClientSecret, reg.RegistrationAccessToken)
	saveApplied(ctx, plan, reg, req.Config, &resp.State, resp.Private, &resp.Diagnostics)
}

func (r *dcrClientResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	ctx, cancel, idp, state, ok := r.openState(ctx, req.State, &resp.Diagnostics, timeouts.Value.Delete)
	defer cancel()
	if !ok {
		return
	}
	ctx = maskCredentials(ctx, idp.InitialAccessToken, state.ClientSecret.ValueString(), state.RegistrationAccessToken.ValueString())
	if err := idp.Client.Delete(ctx, state.registration()); err != nil {
		resp.Diagnostics.Append(idpErrorDiags(idp, "deleting client "+state.ClientID.ValueString(), err)...)
	}
}

// ImportState takes "registration_client_uri,registration_access_token" (RFC 7592 drivers)
// or the client_id (okta, which manages clients with its API token).
func (r *dcrClientResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	driver := dcr.DriverGeneric
	if r.data != nil && r.data.IdP != nil {
		driver = r.data.IdP.Driver
	}
	if driver == dcr.DriverOkta {
		if req.ID == "" || strings.Contains(req.ID, ",") {
			resp.Diagnostics.AddError("Invalid import ID",
				fmt.Sprintf("With the okta driver, import by client_id: terraform import idpgate_dcr_client.NAME 0oa1b2c3d4. Got %q.", req.ID))
			return
		}
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("client_id"), req.ID)...)
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
		return
	}
	uri, token := req.ID, os.Getenv(importTokenEnv)
	if i := strings.LastIndex(req.ID, ","); i >= 0 {
		uri, token = req.ID[:i], req.ID[i+1:]
	}
	if token == "" || adminapi.CheckHTTPURL(uri) != nil {
		resp.Diagnostics.AddError("Invalid import ID",
			"Import a client by its RFC 7592 registration client URI and registration access token (both are in the "+
				"identity provider's answer to the registration), either as\n"+
				"  terraform import idpgate_dcr_client.NAME 'https://idp.example.com/register/CLIENT_ID,REGISTRATION_ACCESS_TOKEN'\n"+
				"or, to keep the token out of the command line and Terraform's logs, as\n"+
				"  "+importTokenEnv+"=TOKEN terraform import idpgate_dcr_client.NAME 'https://idp.example.com/register/CLIENT_ID'")
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("registration_client_uri"), uri)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("registration_access_token"), token)...)
}

// importTokenEnv gives import the registration access token when the import ID is only the
// registration client URI: Terraform logs import IDs, so a token in the ID ends up in logs.
const importTokenEnv = "IDPGATE_REGISTRATION_ACCESS_TOKEN"

// parseExtraMetadata reads extra_metadata, which must be a JSON object.
func parseExtraMetadata(s string) (map[string]json.RawMessage, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &fields); err != nil || fields == nil {
		return nil, fmt.Errorf("extra_metadata must be a JSON object, e.g. jsonencode({ vendor_field = \"value\" })")
	}
	return fields, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// dcrClientModel is idpgate_dcr_client's state.
type dcrClientModel struct {
	Timeouts                    timeouts.Value       `tfsdk:"timeouts"`
	ID                          types.String         `tfsdk:"id"`
	ClientName                  types.String         `tfsdk:"client_name"`
	GrantTypes                  types.Set            `tfsdk:"grant_types"`
	ResponseTypes               types.Set            `tfsdk:"response_types"`
	RedirectURIs                types.Set            `tfsdk:"redirect_uris"`
	TokenEndpointAuthMethod     types.String         `tfsdk:"token_endpoint_auth_method"`
	Scope                       types.String         `tfsdk:"scope"`
	ApplicationType             types.String         `tfsdk:"application_type"`
	DPoPBoundAccessTokens       types.Bool           `tfsdk:"dpop_bound_access_tokens"`
	TLSCertificateBound         types.Bool           `tfsdk:"tls_client_certificate_bound_access_tokens"`
	TLSClientAuthSubjectDN      types.String         `tfsdk:"tls_client_auth_subject_dn"`
	Contacts                    types.Set            `tfsdk:"contacts"`
	ClientURI                   types.String         `tfsdk:"client_uri"`
	LogoURI                     types.String         `tfsdk:"logo_uri"`
	PolicyURI                   types.String         `tfsdk:"policy_uri"`
	TosURI                      types.String         `tfsdk:"tos_uri"`
	JWKSURI                     types.String         `tfsdk:"jwks_uri"`
	JWKS                        jsontypes.Normalized `tfsdk:"jwks"`
	SoftwareStatement           types.String         `tfsdk:"software_statement"`
	SoftwareStatementWO         types.String         `tfsdk:"software_statement_wo"` // always null: write-only
	SoftwareStatementWOVer      types.Int64          `tfsdk:"software_statement_wo_version"`
	ExtraMetadata               jsontypes.Normalized `tfsdk:"extra_metadata"`
	ClientSecretRotationTrigger types.String         `tfsdk:"client_secret_rotation_trigger"`
	ClientID                    types.String         `tfsdk:"client_id"`
	ClientSecret                types.String         `tfsdk:"client_secret"`
	ClientIDIssuedAt            types.Int64          `tfsdk:"client_id_issued_at"`
	ClientSecretExpiresAt       types.Int64          `tfsdk:"client_secret_expires_at"`
	RegistrationClientURI       types.String         `tfsdk:"registration_client_uri"`
	RegistrationAccessToken     types.String         `tfsdk:"registration_access_token"`
}

// dcrMetadataAttributes are the metadata fields that have their own attribute.
var dcrMetadataAttributes = []string{"client_name", "grant_types", "response_types", "redirect_uris",
	"token_endpoint_auth_method", "scope", "application_type", "contacts", "client_uri", "logo_uri", "policy_uri",
	"tos_uri", "jwks_uri", "jwks", "software_statement", "dpop_bound_access_tokens",
	"tls_client_certificate_bound_access_tokens", "tls_client_auth_subject_dn"}
