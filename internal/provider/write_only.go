package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// Write-only secrets (Terraform 1.11+): <name>_wo is read from the configuration during an
// apply and never stored, so Terraform cannot tell when it changed. <name>_wo_version is
// stored, and a change of it is what sends the value again. An apply that changes anything
// else neither resends nor blanks the secret: the value is only sent on create and when the
// version moves (Keycloak provider bugs #1576 and #1602 are what this avoids).

// writeOnlyAttributes returns the pair <name>_wo and <name>_wo_version for the secret whose
// stored form is the sibling attribute name; what describes it and receiver who gets it.
func writeOnlyAttributes(name, what, receiver string) (schema.StringAttribute, schema.Int64Attribute) {
	sibling := func(n string) path.Expression { return path.MatchRelative().AtParent().AtName(n) }
	wo := schema.StringAttribute{
		MarkdownDescription: fmt.Sprintf("%s, write-only (Terraform 1.11+): sent to %s but never stored in the state or "+
			"the plan. Conflicts with `%s`. It is sent on create and whenever `%s_wo_version` changes, and only then.",
			what, receiver, name, name),
		Optional:  true,
		WriteOnly: true,
		Sensitive: true,
		Validators: []validator.String{
			stringvalidator.LengthAtLeast(1),
			stringvalidator.ConflictsWith(sibling(name)),
			stringvalidator.AlsoRequires(sibling(name + "_wo_version")),
		},
	}
	version := schema.Int64Attribute{
		MarkdownDescription: fmt.Sprintf("Any number; change it to send `%s_wo` again (e.g. after rotating it). "+
			"Required with `%s_wo`. An import cannot know it, so the first apply after an import sends the value once.",
			name, name),
		Optional: true,
		Validators: []validator.Int64{
			int64validator.AlsoRequires(sibling(name + "_wo")),
		},
	}
	return wo, version
}

// writeOnlyToSend reads the write-only value at p from the configuration and says whether to
// send it: always on create, on update only when the version changed.
func writeOnlyToSend(ctx context.Context, config tfsdk.Config, p path.Path, creating bool,
	planVersion, stateVersion types.Int64) (string, bool, diag.Diagnostics) {
	var v types.String
	diags := config.GetAttribute(ctx, p, &v)
	if diags.HasError() || v.IsNull() || v.IsUnknown() {
		return "", false, diags
	}
	if !creating && planVersion.Equal(stateVersion) {
		return "", false, diags
	}
	return v.ValueString(), true, diags
}
