package provider

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

// Conversions between Terraform values and the admin API's wire values, shared by the
// gateway resources. Each name says the direction: xToWire reads a Terraform value for a
// request body, xFromWire builds a Terraform value from the gateway's answer. The "prior" arguments carry what the plan or state held, so that an
// answer meaning the same thing (an omitted empty list, "1m0s" for "60s") keeps the user's
// spelling and never shows as a diff.

// stringCollection is a set or a list of strings.
type stringCollection interface {
	IsNull() bool
	IsUnknown() bool
	ElementsAs(context.Context, any, bool) diag.Diagnostics
}

// stringsToWire reads a set or list of strings, sorted; null gives nil.
func stringsToWire(ctx context.Context, v stringCollection) ([]string, diag.Diagnostics) {
	if v.IsNull() || v.IsUnknown() {
		return nil, nil
	}
	var out []string
	diags := v.ElementsAs(ctx, &out, false)
	sort.Strings(out)
	return out, diags
}

// setFromWire builds a set of strings from the gateway's answer. An empty answer is null unless the
// prior value was an empty set (the user wrote []), which the gateway cannot tell apart.
func setFromWire(values []string, prior types.Set) types.Set {
	if len(values) == 0 {
		if !prior.IsNull() && !prior.IsUnknown() && len(prior.Elements()) == 0 {
			return prior
		}
		return types.SetNull(types.StringType)
	}
	elems := make([]attr.Value, len(values))
	for i, s := range values {
		elems[i] = types.StringValue(s)
	}
	return types.SetValueMust(types.StringType, elems)
}

// mapFromWire builds a map of strings from the gateway's answer, with the same rule for empty maps.
func mapFromWire(values map[string]string, prior types.Map) types.Map {
	if len(values) == 0 {
		if !prior.IsNull() && !prior.IsUnknown() && len(prior.Elements()) == 0 {
			return prior
		}
		return types.MapNull(types.StringType)
	}
	elems := make(map[string]attr.Value, len(values))
	for k, s := range values {
		elems[k] = types.StringValue(s)
	}
	return types.MapValueMust(types.StringType, elems)
}

// listToWire reads a list of strings in its order (conditions are named by index); null gives nil.
func listToWire(ctx context.Context, v types.List) ([]string, diag.Diagnostics) {
	if v.IsNull() || v.IsUnknown() {
		return nil, nil
	}
	var out []string
	diags := v.ElementsAs(ctx, &out, false)
	return out, diags
}

// listFromWire builds a list of strings from the gateway's answer, with the same rule for
// empty lists as setFromWire.
func listFromWire(values []string, prior types.List) types.List {
	if len(values) == 0 {
		if !prior.IsNull() && !prior.IsUnknown() && len(prior.Elements()) == 0 {
			return prior
		}
		return types.ListNull(types.StringType)
	}
	elems := make([]attr.Value, len(values))
	for i, s := range values {
		elems[i] = types.StringValue(s)
	}
	return types.ListValueMust(types.StringType, elems)
}

// stringToWire reads an optional string; null gives "".
func stringToWire(v types.String) string {
	if v.IsNull() || v.IsUnknown() {
		return ""
	}
	return v.ValueString()
}

// stringFromWire builds an optional string: "" gives null unless the prior value was "".
func stringFromWire(s string, prior types.String) types.String {
	if s == "" && (prior.IsNull() || prior.IsUnknown()) {
		return types.StringNull()
	}
	return types.StringValue(s)
}

// durationToWire reads a known duration; null gives 0.
func durationToWire(v checkedDurationValue) (adminapi.Duration, diag.Diagnostics) {
	if v.IsNull() || v.IsUnknown() {
		return 0, nil
	}
	d, diags := v.ValueGoDuration()
	return adminapi.Duration(d), diags
}

// wireBody reads a model's values for a request body with the xToWire conversions and
// collects their diagnostics, so that a conversion reads as one struct literal. Read diags
// only after the literal is built.
type wireBody struct {
	ctx   context.Context
	diags diag.Diagnostics
}

func (b *wireBody) strings(v stringCollection) []string {
	out, d := stringsToWire(b.ctx, v)
	b.diags.Append(d...)
	return out
}

func (b *wireBody) list(v types.List) []string {
	out, d := listToWire(b.ctx, v)
	b.diags.Append(d...)
	return out
}

func (b *wireBody) duration(v checkedDurationValue) adminapi.Duration {
	out, d := durationToWire(v)
	b.diags.Append(d...)
	return out
}

// optionalDuration is nil for a null (or unknown) duration, so that the gateway applies its
// default, where 0 would mean none.
func (b *wireBody) optionalDuration(v checkedDurationValue) *adminapi.Duration {
	if v.IsNull() || v.IsUnknown() {
		return nil
	}
	out := b.duration(v)
	return &out
}

// durationFromWire builds a duration and keeps the prior spelling when it is the same length of time. zeroIsNull
// says that the gateway omits a zero duration (meaning "not set").
func durationFromWire(d time.Duration, prior checkedDurationValue, zeroIsNull bool) checkedDurationValue {
	if !prior.IsNull() && !prior.IsUnknown() {
		if p, diags := prior.ValueGoDuration(); !diags.HasError() && p == d {
			return prior
		}
	}
	if d == 0 && zeroIsNull {
		return durationNull()
	}
	return durationOf(d.String())
}

// orDefault, orDefaultString (and leewayFromWire) read an answer that omits a defaulted
// field as the default, so an older gateway that does not echo defaults causes no diff.
func orDefault(values []string, def string) []string {
	if len(values) == 0 {
		return []string{def}
	}
	return values
}

func orDefaultString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// durationDefault spells a default duration in whole seconds ("60s", not Go's "1m0s"): the
// spelling the schema has always declared, and so the one in existing state.
func durationDefault(d time.Duration) string {
	return strconv.FormatInt(int64(d/time.Second), 10) + "s"
}

// durationText spells a bound for a description: Go's form without zero units ("5m", "24h").
func durationText(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
