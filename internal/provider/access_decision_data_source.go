package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-jsontypes/jsontypes"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	rschema "github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

var (
	_ datasource.DataSource              = &accessDecisionDataSource{}
	_ datasource.DataSourceWithConfigure = &accessDecisionDataSource{}
)

// NewAccessDecisionDataSource is the idpgate_access_decision data source: what the gateway
// would do with a request (POST /v1/decisions), for check blocks and `terraform test`.
func NewAccessDecisionDataSource() datasource.DataSource {
	return &accessDecisionDataSource{providerDataSource{typeSuffix: "_access_decision"}}
}

type accessDecisionDataSource struct{ providerDataSource }

type accessDecisionModel struct {
	Method   types.String         `tfsdk:"method"`
	URL      types.String         `tfsdk:"url"`
	ClientID types.String         `tfsdk:"client_id"`
	Subject  types.String         `tfsdk:"subject"`
	Scopes   types.List           `tfsdk:"scopes"`
	Claims   jsontypes.Normalized `tfsdk:"claims"`
	Token    types.String         `tfsdk:"token"`

	Allowed  types.Bool   `tfsdk:"allowed"`
	Status   types.Int64  `tfsdk:"status"`
	Error    types.String `tfsdk:"error"`
	APIID    types.String `tfsdk:"api_id"`
	PolicyID types.String `tfsdk:"policy_id"`
	Reason   types.String `tfsdk:"reason"`
}

func (d *accessDecisionDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "What the idpgate gateway would do with a request, and why, without sending one: the " +
			"gateway runs the proxy's own checks (route, token, sender constraint, policies, limits) on the described " +
			"request, counting nothing against rate limits or quotas and calling no upstream. Use it in `check` blocks " +
			"and in `terraform test` assertions to state in the repository what a policy must grant and refuse. " +
			"The caller is either described (`client_id`, `subject`, `scopes`, `claims`: taken as a valid token's, " +
			"mapped with the API's claim settings and required scopes) or a real `token`, checked as the proxy would " +
			"(a token that does not validate is a refusal, not an error). Needs `gateway_url`.",
		Attributes: map[string]schema.Attribute{
			"method": schema.StringAttribute{
				MarkdownDescription: "HTTP method of the request, e.g. `GET`.",
				Required:            true,
			},
			"url": schema.StringAttribute{
				MarkdownDescription: "The request's URL as a client would send it to the gateway, e.g. " +
					"`https://api.example.com/orders/items/1`: its host picks among APIs that name `hosts`, its path the API " +
					"by listen path. A path alone (`/orders/items/1`) matches APIs that name no hosts.",
				Required: true,
			},
			"client_id": schema.StringAttribute{
				MarkdownDescription: "Described caller: the client id its token carries.",
				Optional:            true,
			},
			"subject": schema.StringAttribute{
				MarkdownDescription: "Described caller: the subject (the API's `identity_claim`).",
				Optional:            true,
			},
			"scopes": schema.ListAttribute{
				MarkdownDescription: "Described caller: its scopes. Unset: the `scope` claim of `claims`, if any.",
				Optional:            true,
				ElementType:         types.StringType,
			},
			"claims": schema.StringAttribute{
				MarkdownDescription: "Described caller: further claims as a JSON object, e.g. " +
					"`jsonencode({ pol = \"gold\" })` for the API's policy claim, `iat` for `max_token_age`, `cnf` for bound tokens.",
				Optional:   true,
				CustomType: jsontypes.NormalizedType{},
			},
			"token": schema.StringAttribute{
				MarkdownDescription: "A real access token instead of a described caller, checked as the proxy checks it " +
					"(signature, issuer, audience, expiry). Not stored in logs; kept in state like any data source value.",
				Optional:  true,
				Sensitive: true,
			},
			"allowed": schema.BoolAttribute{
				MarkdownDescription: "Whether the gateway would pass the request upstream.",
				Computed:            true,
			},
			"status": schema.Int64Attribute{
				MarkdownDescription: "The status the gateway would answer with: `200` when allowed, else the refusal's " +
					"(`401`, `403`, `404`, `429`, ...).",
				Computed: true,
			},
			"error": schema.StringAttribute{
				MarkdownDescription: "The refusal's error code (`invalid_token`, `insufficient_scope`, `access_denied`, " +
					"`not_found`, `rate_limit_exceeded`, ...); empty when allowed.",
				Computed: true,
			},
			"api_id": schema.StringAttribute{
				MarkdownDescription: "The protected API the request is routed to; empty when none serves it.",
				Computed:            true,
			},
			"policy_id": schema.StringAttribute{
				MarkdownDescription: "The access policy that grants the request; empty when refused.",
				Computed:            true,
			},
			"reason": schema.StringAttribute{
				MarkdownDescription: "Why, in a sentence: the access right that matched, or what each policy bound to " +
					"the caller lacks. Put it in assertion messages.",
				Computed: true,
			},
		},
	}
}

func (d *accessDecisionDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var cfg accessDecisionModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	gw, diags := d.data.requireGateway("idpgate_access_decision")
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx = maskCredentials(ctx, cfg.Token.ValueString())

	in := adminapi.DecisionRequest{
		Request: adminapi.DecisionHTTPRequest{Method: cfg.Method.ValueString()},
		Caller: adminapi.DecisionCaller{Token: cfg.Token.ValueString(), ClientID: cfg.ClientID.ValueString(),
			Subject: cfg.Subject.ValueString()},
	}
	if u := cfg.URL.ValueString(); strings.HasPrefix(u, "/") {
		in.Request.Path = u
	} else {
		in.Request.URL = u
	}
	if !cfg.Scopes.IsNull() {
		scopes := []string{}
		resp.Diagnostics.Append(cfg.Scopes.ElementsAs(ctx, &scopes, false)...)
		in.Caller.Scopes = scopes
	}
	if !cfg.Claims.IsNull() {
		in.Caller.Claims = []byte(cfg.Claims.ValueString())
	}
	if resp.Diagnostics.HasError() {
		return
	}
	if err := in.Validate(); err != nil {
		resp.Diagnostics.Append(decisionFieldDiag(err)...)
		return
	}
	out, err := gw.Decide(ctx, in)
	if err != nil {
		var apiErr *adminapi.Error
		if errors.As(err, &apiErr) && apiErr.Field != "" {
			resp.Diagnostics.Append(decisionFieldDiag(err)...)
			return
		}
		resp.Diagnostics.Append(gatewayErrorDiags(ctx, rschema.Schema{}, "asking the gateway for a decision", err)...)
		return
	}
	cfg.Allowed = types.BoolValue(out.Allowed)
	cfg.Status = types.Int64Value(int64(out.Status))
	cfg.Error = types.StringValue(out.Error)
	cfg.APIID = types.StringValue(out.APIID)
	cfg.PolicyID = types.StringValue(out.PolicyID)
	cfg.Reason = types.StringValue(out.Reason)
	resp.Diagnostics.Append(resp.State.Set(ctx, &cfg)...)
}

// decisionFieldDiag puts an *adminapi.Error about a field of the decision request on the
// attribute it came from.
func decisionFieldDiag(err error) diagList {
	var diags diagList
	var apiErr *adminapi.Error
	if !errors.As(err, &apiErr) {
		diags.AddError("Invalid decision request", err.Error())
		return diags
	}
	attr := map[string]string{
		"request.method": "method", "request.url": "url", "request.path": "url",
		"caller.client_id": "client_id", "caller.subject": "subject", "caller.claims": "claims", "caller.token": "token",
	}[apiErr.Field]
	if attr == "" && strings.HasPrefix(apiErr.Field, "caller.scopes") {
		attr = "scopes"
	}
	detail := fmt.Sprintf("%s: %s", apiErr.Field, apiErr.Message)
	if attr == "" {
		diags.AddError("Invalid decision request", detail)
		return diags
	}
	diags.AddAttributeError(path.Root(attr), "Invalid "+attr, detail)
	return diags
}
