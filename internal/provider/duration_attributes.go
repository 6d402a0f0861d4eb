package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

// The gateway answers durations in Go's canonical form ("1m0s") whatever the user wrote
// ("60s"). timetypes.GoDuration's semantic equality keeps the user's spelling after create,
// update and read; the plan modifier below covers the one case it does not: a plan whose prior
// state came from the gateway (after import), which would otherwise show "1m0s" -> "60s".

// keepEquivalentDuration plans the prior state's spelling when the configured duration is
// the same length of time, so an equivalent spelling is never a diff.
func keepEquivalentDuration() planmodifier.String { return keepEquivalentDurationModifier{} }

type keepEquivalentDurationModifier struct{}

func (keepEquivalentDurationModifier) Description(context.Context) string {
	return "an equivalent spelling of the current duration (\"60s\" for \"1m0s\") is not a change"
}

func (m keepEquivalentDurationModifier) MarkdownDescription(ctx context.Context) string {
	return m.Description(ctx)
}

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

// durationAtLeast checks that a Go duration is at least min (or, when exclusive, more than
// min). Whether the value parses at all is timetypes.GoDuration's own check.
func durationAtLeast(min time.Duration, exclusive bool) validator.String {
	return durationAtLeastValidator{min: min, exclusive: exclusive}
}

type durationAtLeastValidator struct {
	min       time.Duration
	exclusive bool
}

func (v durationAtLeastValidator) Description(context.Context) string {
	if v.exclusive {
		return fmt.Sprintf("must be a Go duration longer than %s, such as \"30s\" or \"1h\"", v.min)
	}
	return fmt.Sprintf("must be a Go duration of at least %s, such as \"30s\" or \"1h\"", v.min)
}

func (v durationAtLeastValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (v durationAtLeastValidator) ValidateString(ctx context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	d, err := time.ParseDuration(req.ConfigValue.ValueString())
	if err != nil {
		return
	}
	if d < v.min || (v.exclusive && d == v.min) {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid duration",
			fmt.Sprintf("%q %s.", req.ConfigValue.ValueString(), v.Description(ctx)))
	}
}
