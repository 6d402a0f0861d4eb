package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/attr/xattr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

// The gateway answers durations in Go's canonical form ("1m0s") whatever the user wrote
// ("60s"). checkedDurationValue's semantic equality (timetypes.GoDuration's) keeps the user's spelling after create,
// update and read; the plan modifier below covers the one case it does not: a plan whose prior
// state came from the gateway (after import), which would otherwise show "1m0s" -> "60s".

// keepEquivalentDuration plans the prior state's spelling when the configured duration is
// the same length of time, so an equivalent spelling is never a diff.
func keepEquivalentDuration() planmodifier.String {
	return keepEquivalentDurationModifier{"an equivalent spelling of the current duration (\"60s\" for \"1m0s\") is not a change"}
}

type keepEquivalentDurationModifier struct{ describedAs }

func (keepEquivalentDurationModifier) PlanModifyString(_ context.Context, req planmodifier.StringRequest, resp *planmodifier.StringResponse) {
	if req.PlanValue.IsNull() || req.PlanValue.IsUnknown() || req.StateValue.IsNull() || req.StateValue.IsUnknown() {
		return
	}
	planned, err1 := time.ParseDuration(req.PlanValue.ValueString())
	prior, err2 := time.ParseDuration(req.StateValue.ValueString())
	if err1 == nil && err2 == nil && planned == prior {
		resp.PlanValue = req.StateValue
	}
}

// checkedDurationType is timetypes.GoDurationType with the provider's own message for a value that
// is not a duration: timetypes' names neither the attribute nor a valid example (it offers
// "-1.5h", which no attribute here accepts). Semantic equality is checkedDurationValue's.
type checkedDurationType struct{ basetypes.StringType }

var _ basetypes.StringTypable = checkedDurationType{}

func (checkedDurationType) String() string { return "provider.checkedDurationType" }

func (checkedDurationType) ValueType(context.Context) attr.Value { return checkedDurationValue{} }

func (t checkedDurationType) Equal(o attr.Type) bool {
	other, ok := o.(checkedDurationType)
	return ok && t.StringType.Equal(other.StringType)
}

func (checkedDurationType) ValueFromString(_ context.Context, in basetypes.StringValue) (basetypes.StringValuable, diag.Diagnostics) {
	return checkedDurationValue{StringValue: in}, nil
}

func (t checkedDurationType) ValueFromTerraform(ctx context.Context, in tftypes.Value) (attr.Value, error) {
	v, err := t.StringType.ValueFromTerraform(ctx, in)
	if err != nil {
		return nil, err
	}
	s, ok := v.(basetypes.StringValue)
	if !ok {
		return nil, fmt.Errorf("unexpected value type of %T", v)
	}
	return checkedDurationValue{StringValue: s}, nil
}

// checkedDurationValue is a Go duration string ("90s", "1h30m").
type checkedDurationValue struct{ basetypes.StringValue }

var (
	_ basetypes.StringValuableWithSemanticEquals = checkedDurationValue{}
	_ xattr.ValidateableAttribute                = checkedDurationValue{}
)

func durationNull() checkedDurationValue {
	return checkedDurationValue{StringValue: basetypes.NewStringNull()}
}

// durationOf is a known duration; s must parse.
func durationOf(s string) checkedDurationValue {
	return checkedDurationValue{StringValue: basetypes.NewStringValue(s)}
}

func (checkedDurationValue) Type(context.Context) attr.Type { return checkedDurationType{} }

func (v checkedDurationValue) Equal(o attr.Value) bool {
	other, ok := o.(checkedDurationValue)
	return ok && v.StringValue.Equal(other.StringValue)
}

func (v checkedDurationValue) goDuration() timetypes.GoDuration {
	return timetypes.GoDuration{StringValue: v.StringValue}
}

// ValueGoDuration is the duration; null, unknown or not a duration is an error.
func (v checkedDurationValue) ValueGoDuration() (time.Duration, diag.Diagnostics) {
	return v.goDuration().ValueGoDuration()
}

// StringSemanticEquals: "60s" and "1m0s" are the same value (checkedDurationValue's rule).
func (v checkedDurationValue) StringSemanticEquals(ctx context.Context, other basetypes.StringValuable) (bool, diag.Diagnostics) {
	o, ok := other.(checkedDurationValue)
	if !ok {
		var diags diag.Diagnostics
		diags.AddError("Provider bug", fmt.Sprintf("comparing a duration with a %T", other))
		return false, diags
	}
	return v.goDuration().StringSemanticEquals(ctx, o.goDuration())
}

// ValidateAttribute refuses a value that is not a Go duration, or one out of the attribute's
// bounds, in one diagnostic that names the attribute and shows a value it accepts. The
// gateway's Validate at plan time never sees such a value (see configWithPlaceholders).
func (v checkedDurationValue) ValidateAttribute(_ context.Context, req xattr.ValidateAttributeRequest, resp *xattr.ValidateAttributeResponse) {
	if v.IsNull() || v.IsUnknown() {
		return
	}
	name := fieldLabel(req.Path)
	if problem := durationProblem(name, v.ValueString()); problem != "" {
		resp.Diagnostics.AddAttributeError(displayPath(req.Path), "Invalid "+name, name+": "+problem)
	}
}

// durationRule is what a duration attribute accepts.
type durationRule struct {
	min          time.Duration
	minExclusive bool
	max          time.Duration // 0: no upper bound
	example      string
}

// durationRules, by attribute (fieldLabel): the gateway's bounds (adminapi), and a value
// inside them to show.
var durationRules = map[string]durationRule{
	"rate_limit.per":          {0, true, adminapi.MaxRateLimitPer, "60s"},
	"quota.per":               {0, true, adminapi.MaxQuotaPer, "24h"},
	"max_token_age":           {0, true, adminapi.MaxTokenAgeBound, "24h"},
	"jwt.leeway":              {0, false, adminapi.MaxLeeway, "30s"},
	"introspection.cache_ttl": {0, false, adminapi.MaxCacheTTL, "60s"},
	"request_timeout":         {0, true, 0, "30s"},
	"cors.max_age":            {0, true, adminapi.MaxCORSMaxAge, "1h"},
}

// durationProblem says what is wrong with value as the duration attribute named field
// (fieldLabel), or "".
func durationProblem(field, value string) string {
	rule, ok := durationRules[field]
	if !ok {
		rule = durationRule{min: 0, example: "30s"}
	}
	d, err := time.ParseDuration(value)
	if err != nil {
		return fmt.Sprintf("%q is not a duration. Write a number and a unit (ms, s, m or h), such as %q.",
			value, rule.example)
	}
	if d < rule.min || (rule.minExclusive && d == rule.min) || (rule.max > 0 && d > rule.max) {
		return fmt.Sprintf("%q is out of range: %s, such as %q.", value, rule.bounds(), rule.example)
	}
	return ""
}

func (r durationRule) bounds() string {
	lower := "at least " + durationText(r.min)
	if r.minExclusive {
		lower = "longer than " + durationText(r.min)
	}
	if r.max == 0 {
		return "must be " + lower
	}
	return "must be " + lower + " and at most " + durationText(r.max)
}
