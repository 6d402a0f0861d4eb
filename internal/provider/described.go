package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

// describedAs gives a validator or a plan modifier its Description and MarkdownDescription,
// the same plain text.
type describedAs string

func (d describedAs) Description(context.Context) string { return string(d) }

func (d describedAs) MarkdownDescription(context.Context) string { return string(d) }

// knownStringCheck is a string validator that leaves null and unknown values alone and hands
// a known one to check, which reports what is wrong with it at p.
type knownStringCheck struct {
	describedAs
	check func(p path.Path, value string, diags *diag.Diagnostics)
}

func (c knownStringCheck) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	c.check(req.Path, req.ConfigValue.ValueString(), &resp.Diagnostics)
}
