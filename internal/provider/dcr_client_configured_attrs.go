package provider

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-log/tflog"
)

// Metadata attributes are Optional+Computed, so removing one from the configuration would
// plan no change and leave the last value at the identity provider. The private state
// remembers which ones the user set at the last apply; ModifyPlan turns a removed one into
// an update that lets the identity provider choose it again.

// configuredMetadataKey is the private state key: a JSON array of attribute names.
const configuredMetadataKey = "configured_metadata"

// dcrUpdateAnswers are the computed attributes an update answers anew: unknown in any
// planned update, so they are in one this file plans too.
var dcrUpdateAnswers = []string{"client_secret", "client_secret_expires_at", "registration_access_token"}

// privateState is the part of the framework's private state data this file uses.
type privateState interface {
	GetKey(ctx context.Context, key string) ([]byte, diag.Diagnostics)
	SetKey(ctx context.Context, key string, value []byte) diag.Diagnostics
}

// configuredMetadata is the metadata attributes set (non-null, possibly unknown) in config.
func configuredMetadata(ctx context.Context, config tfsdk.Config) ([]string, diag.Diagnostics) {
	var diags diag.Diagnostics
	var names []string
	for _, name := range dcrMetadataAttributes {
		var v attr.Value
		diags.Append(config.GetAttribute(ctx, path.Root(name), &v)...)
		if v != nil && !v.IsNull() {
			names = append(names, name)
		}
	}
	return names, diags
}

// recordConfiguredMetadata stores, after an apply, which metadata attributes config sets.
func recordConfiguredMetadata(ctx context.Context, config tfsdk.Config, private privateState) diag.Diagnostics {
	names, diags := configuredMetadata(ctx, config)
	if diags.HasError() {
		return diags
	}
	b, err := json.Marshal(names)
	if err != nil {
		diags.AddError("Recording configured attributes", err.Error())
		return diags
	}
	return append(diags, private.SetKey(ctx, configuredMetadataKey, b)...)
}

// removedMetadata is the attributes configured at the last apply and absent from config now.
// A state written before this key existed (or by import) has no record: nothing is removed.
func removedMetadata(ctx context.Context, config tfsdk.Config, private privateState) ([]string, diag.Diagnostics) {
	raw, diags := private.GetKey(ctx, configuredMetadataKey)
	if diags.HasError() || len(raw) == 0 {
		return nil, diags
	}
	var before []string
	if err := json.Unmarshal(raw, &before); err != nil {
		diags.AddError("Reading configured attributes", err.Error())
		return nil, diags
	}
	now, d := configuredMetadata(ctx, config)
	diags.Append(d...)
	return slices.DeleteFunc(before, func(name string) bool { return slices.Contains(now, name) }), diags
}

// ModifyPlan plans an update when the user removed a metadata attribute, with the same
// unknowns as any update: every computed attribute the config leaves out, so the
// full-replacement PUT does not send it and the IdP chooses it again.
func (r *dcrClientResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	r.checkClientAgainstIdP(ctx, req, resp) // plan_checks.go
	if resp.Diagnostics.HasError() || req.State.Raw.IsNull() || req.Plan.Raw.IsNull() {
		return // create or destroy
	}
	r.planRotation(ctx, req, resp) // dcr_client_rotation.go
	if resp.Diagnostics.HasError() {
		return
	}
	removed, diags := removedMetadata(ctx, req.Config, req.Private)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() || len(removed) == 0 {
		return
	}
	tflog.Debug(ctx, "metadata removed from the configuration; planning an update", map[string]any{"attributes": removed})

	configured, diags := configuredMetadata(ctx, req.Config)
	resp.Diagnostics.Append(diags...)
	unknown := slices.Clone(dcrUpdateAnswers)
	for _, name := range dcrMetadataAttributes {
		if !slices.Contains(configured, name) && req.Plan.Schema.GetAttributes()[name].IsComputed() {
			unknown = append(unknown, name)
		}
	}
	for _, name := range unknown {
		resp.Diagnostics.Append(setUnknown(ctx, &resp.Plan, path.Root(name))...)
	}
}

// setUnknown sets the planned value at p to unknown, whatever its type.
func setUnknown(ctx context.Context, plan *tfsdk.Plan, p path.Path) diag.Diagnostics {
	typ, diags := plan.Schema.TypeAtPath(ctx, p)
	if diags.HasError() {
		return diags
	}
	v, err := typ.ValueFromTerraform(ctx, tftypes.NewValue(typ.TerraformType(ctx), tftypes.UnknownValue))
	if err != nil {
		diags.AddAttributeError(p, "Planning an unknown value", err.Error())
		return diags
	}
	return append(diags, plan.SetAttribute(ctx, p, v)...)
}
