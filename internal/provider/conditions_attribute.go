package provider

import (
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

// conditionsAttribute is the conditions list of a protected API or an access right. Its
// expressions are compiled at plan time by the resources' ValidateConfig, with the
// environment the gateway uses (adminapi.ConditionEnv).
func conditionsAttribute(what string) schema.ListAttribute {
	return schema.ListAttribute{
		MarkdownDescription: what + " [CEL](https://cel.dev) expressions, all of which must be true, e.g. " +
			"`claims.tenant == request.headers[\"x-tenant\"]`. Variables: `claims` (the token's claims, or the " +
			"introspection answer), `client_id`, `subject`, `scopes` (a list), `request.method`, `request.path` (the " +
			"full path), `request.host` (lower case, without port), `request.headers` (lower-case names; a repeated " +
			"header's values joined with `, `), `request.remote_ip` (the client's address; from `X-Forwarded-For` only " +
			"when the peer is a trusted proxy) and `now` (a timestamp). Besides CEL's standard functions: the strings " +
			"extension (`lowerAscii()`, `split()`, ...) and Kubernetes' network functions " +
			"(`cidr(\"10.0.0.0/8\").containsIP(request.remote_ip)`, `ip()`, `isIP()`). A missing claim or header " +
			"makes an expression fail: guard it with `has(claims.x)` or `\"x-h\" in request.headers`. Each expression " +
			fmt.Sprintf("is at most %d bytes, at most %d per list, and its estimated cost at most %d; ", adminapi.MaxConditionLength,
				adminapi.MaxConditions, adminapi.MaxConditionCost) +
			"an expression that does not compile, is not a bool or may cost more fails the plan. A request that does " +
			"not meet them gets 403 `access_denied`; the gateway's log names the policy and the condition's index.",
		ElementType: types.StringType,
		Optional:    true,
		Validators: []validator.List{
			listvalidator.SizeAtMost(adminapi.MaxConditions),
			listvalidator.ValueStringsAre(stringvalidator.LengthBetween(1, adminapi.MaxConditionLength)),
		},
	}
}
