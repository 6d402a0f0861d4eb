package provider

import (
	"context"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

// NewAccessPolicyResource is the idpgate_access_policy resource: which clients may call which
// protected APIs, and how often. It talks to the admin API as every gateway resource does
// (gateway_object.go) and checks its grants against the gateway at plan (ModifyPlan).
func NewAccessPolicyResource() resource.Resource {
	return &accessPolicyResource{newGatewayObject(&accessPolicyKind)}
}

type accessPolicyResource struct {
	gatewayObject[accessPolicyModel, adminapi.Policy]
}

var accessPolicyKind = gatewayKind[accessPolicyModel, adminapi.Policy]{
	typeSuffix: "_access_policy", noun: "access policy", title: "Access policy", short: "policy",
	schema: accessPolicySchema, fromWire: accessPolicyFromWire, validate: (*adminapi.Policy).Validate,
	create: (*adminapi.Client).CreatePolicy, get: (*adminapi.Client).GetPolicy,
	update: (*adminapi.Client).UpdatePolicy, remove: (*adminapi.Client).DeletePolicy,
}

func accessPolicySchema() schema.Schema {
	limit := func(what, example string) map[string]schema.Attribute {
		return map[string]schema.Attribute{
			"requests": schema.Int64Attribute{
				MarkdownDescription: "How many requests " + what + " allows per period.",
				Required:            true,
			},
			"per": schema.StringAttribute{
				MarkdownDescription: "The period, as a Go duration such as `" + example + "`.",
				CustomType:          checkedDurationType{},
				Required:            true,
				PlanModifiers:       []planmodifier.String{keepEquivalentDuration()},
			},
		}
	}
	// The elements are checked by the gateway's Validate at plan time (ValidateConfig), once.
	stringSet := func(desc string) schema.SetAttribute {
		return schema.SetAttribute{
			MarkdownDescription: desc,
			ElementType:         types.StringType,
			Optional:            true,
		}
	}
	return gatewaySchema("Grants clients access to protected APIs under limits. A request is allowed when some "+
		"policy bound to its token — by the token's client id (`client_ids`), or named in the API's policy "+
		"claim (Tyk's `pol`) by id or name — grants the API, the method and the path.",
		"Identifier the gateway assigned; a token's policy claim may name the policy by it.",
		"Unique name of the policy; a token's policy claim may name the policy by it.",
		map[string]schema.Attribute{
			"client_ids": stringSet("Client ids whose tokens this policy applies to, e.g. " +
				"`[idpgate_dcr_client.app.client_id]`. Leave unset for a policy bound only through the policy claim."),
			"access_rights": schema.ListNestedAttribute{
				MarkdownDescription: "The APIs the policy grants, each with the methods, paths and scopes it allows.",
				Required:            true,
				Validators:          []validator.List{listvalidator.SizeAtLeast(1)},
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"api_id": schema.StringAttribute{
							MarkdownDescription: "The `id` of an `idpgate_protected_api`.",
							Required:            true,
						},
						"methods": stringSet("Upper-case HTTP methods allowed. Unset: every method."),
						"paths": stringSet("Path patterns below the API's listen path: `/items`, `/items/*` " +
							"(one segment), `/items/**` (any depth). Unset: every path."),
						"required_scopes": stringSet("Scopes the token must carry for this grant to apply."),
						"conditions":      conditionsAttribute("For this grant to apply, the request must also meet these"),
					},
				},
			},
			"rate_limit": schema.SingleNestedAttribute{
				MarkdownDescription: "`requests` per `per` on average, per client, as a token bucket: bursts of up to " +
					"`requests`, refilled at `requests`/`per`; excess requests get 429 with `Retry-After`. For a hard " +
					"count per period use `quota`. Unset: no rate limit.",
				Optional:   true,
				Attributes: limit("the rate limit", "60s"),
			},
			"quota": schema.SingleNestedAttribute{
				MarkdownDescription: "At most `requests` per `per` (a fixed window that renews), per client. Unset: no quota.",
				Optional:            true,
				Attributes:          limit("the quota", "24h"),
			},
			"max_token_age": schema.StringAttribute{
				MarkdownDescription: "Refuse tokens issued (`iat`) longer ago than this Go duration. Unset: no limit.",
				CustomType:          checkedDurationType{},
				Optional:            true,
				PlanModifiers:       []planmodifier.String{keepEquivalentDuration()},
			},
		})
}

// ModifyPlan checks the plan against the gateway (gateway_plan_checks.go).
func (r *accessPolicyResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	r.checkAtPlan(ctx, req, resp)
}

// accessPolicyModel is the resource's state.
type accessPolicyModel struct {
	Timeouts     timeouts.Value       `tfsdk:"timeouts"`
	ID           types.String         `tfsdk:"id"`
	Name         types.String         `tfsdk:"name"`
	ClientIDs    types.Set            `tfsdk:"client_ids"`
	AccessRights []accessRightModel   `tfsdk:"access_rights"`
	RateLimit    *limitModel          `tfsdk:"rate_limit"`
	Quota        *limitModel          `tfsdk:"quota"`
	MaxTokenAge  checkedDurationValue `tfsdk:"max_token_age"`
}

type accessRightModel struct {
	APIID          types.String `tfsdk:"api_id"`
	Methods        types.Set    `tfsdk:"methods"`
	Paths          types.Set    `tfsdk:"paths"`
	RequiredScopes types.Set    `tfsdk:"required_scopes"`
	Conditions     types.List   `tfsdk:"conditions"`
}

type limitModel struct {
	Requests types.Int64          `tfsdk:"requests"`
	Per      checkedDurationValue `tfsdk:"per"`
}

func (m accessPolicyModel) common() gatewayModelCommon {
	return gatewayModelCommon{Timeouts: m.Timeouts, ID: m.ID, Name: m.Name}
}

func (m accessPolicyModel) toWire(ctx context.Context) (adminapi.Policy, diag.Diagnostics) {
	b := wireBody{ctx: ctx}
	p := adminapi.Policy{Name: m.Name.ValueString(), ClientIDs: b.strings(m.ClientIDs), AccessRights: []adminapi.AccessRight{}}
	for _, ar := range m.AccessRights {
		p.AccessRights = append(p.AccessRights, adminapi.AccessRight{
			APIID:          ar.APIID.ValueString(),
			Methods:        b.strings(ar.Methods),
			Paths:          b.strings(ar.Paths),
			RequiredScopes: b.strings(ar.RequiredScopes),
			Conditions:     b.list(ar.Conditions),
		})
	}
	p.RateLimit = m.RateLimit.toWire(&b)
	p.Quota = m.Quota.toWire(&b)
	p.MaxTokenAge = b.duration(m.MaxTokenAge)
	return p, b.diags
}

func (l *limitModel) toWire(b *wireBody) *adminapi.Limit {
	if l == nil {
		return nil
	}
	return &adminapi.Limit{Requests: l.Requests.ValueInt64(), Per: b.duration(l.Per)}
}

// accessPolicyFromWire maps the gateway's answer to state; prior (plan or previous state)
// keeps the user's spelling of what the gateway answers differently but means the same.
func accessPolicyFromWire(p *adminapi.Policy, prior *accessPolicyModel) accessPolicyModel {
	if prior == nil {
		prior = &accessPolicyModel{}
	}
	m := accessPolicyModel{
		ID:          types.StringValue(p.ID),
		Name:        types.StringValue(p.Name),
		ClientIDs:   setFromWire(p.ClientIDs, prior.ClientIDs),
		RateLimit:   limitFromWire(p.RateLimit, prior.RateLimit),
		Quota:       limitFromWire(p.Quota, prior.Quota),
		MaxTokenAge: durationFromWire(p.MaxTokenAge.D(), prior.MaxTokenAge, true),
		Timeouts:    timeoutsOrNull(prior.Timeouts),
	}
	for i, ar := range p.AccessRights {
		var pr accessRightModel
		if i < len(prior.AccessRights) {
			pr = prior.AccessRights[i]
		}
		m.AccessRights = append(m.AccessRights, accessRightModel{
			APIID:          types.StringValue(ar.APIID),
			Methods:        setFromWire(ar.Methods, pr.Methods),
			Paths:          setFromWire(ar.Paths, pr.Paths),
			RequiredScopes: setFromWire(ar.RequiredScopes, pr.RequiredScopes),
			Conditions:     listFromWire(ar.Conditions, pr.Conditions),
		})
	}
	return m
}

func limitFromWire(l *adminapi.Limit, prior *limitModel) *limitModel {
	if l == nil {
		return nil
	}
	var priorPer checkedDurationValue
	if prior != nil {
		priorPer = prior.Per
	}
	return &limitModel{
		Requests: types.Int64Value(l.Requests),
		Per:      durationFromWire(time.Duration(l.Per), priorPer, false),
	}
}
