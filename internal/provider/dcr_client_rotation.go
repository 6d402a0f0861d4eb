package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/idpgate/terraform-provider-idpgate/internal/dcr"
)

// Secret rotation: a change of client_secret_rotation_trigger gives the client a new secret,
// the way its driver allows (internal/dcr/rotation.go): in place through Okta's secrets API,
// through an RFC 7592 update (or a replacement inside the same apply) for generic, and by a
// planned replacement for hydra and keycloak.

const rotationTriggerAttr = "client_secret_rotation_trigger"

// oktaSecretIDKey is the private state key holding the id of the Okta secret the state's
// client_secret is, so that the next rotation knows which of two secrets to leave alone
// (Okta never shows a secret again after creating it).
const oktaSecretIDKey = "okta_client_secret_id"

func rotationTriggerAttribute() schema.StringAttribute {
	return schema.StringAttribute{
		MarkdownDescription: "Any value; changing it rotates the client secret (e.g. `time_rotating.secret.id`). " +
			"Its first value, at creation or added later, and its removal rotate nothing. How the secret is " +
			"rotated depends on `idp_driver`; see \"Secret rotation\" above.",
		Optional: true,
	}
}

// rotationRequested: the trigger had a value and now has another (or one known only at apply).
func rotationRequested(prior, planned types.String) bool {
	if prior.IsNull() || prior.IsUnknown() || planned.IsNull() {
		return false
	}
	return planned.IsUnknown() || planned.ValueString() != prior.ValueString()
}

// secretRotation is how the configured driver rotates; when the provider configuration is
// not known yet, the widest plan (an update that may replace the client) is assumed.
func (r *dcrClientResource) secretRotation() dcr.SecretRotation {
	if r.data == nil || r.data.IdP == nil || r.data.IdP.Client == nil {
		return dcr.RotateByUpdate
	}
	return r.data.IdP.Client.SecretRotation()
}

// planRotation marks what a rotation changes: a replacement for the drivers that can only
// rotate that way, otherwise the secret (and with generic the whole registration, which a
// replacement inside the update renews) as known only after apply.
func (r *dcrClientResource) planRotation(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	var prior, planned types.String
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root(rotationTriggerAttr), &prior)...)
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root(rotationTriggerAttr), &planned)...)
	if resp.Diagnostics.HasError() || !rotationRequested(prior, planned) {
		return
	}
	mode := r.secretRotation()
	tflog.Debug(ctx, "client_secret_rotation_trigger changed; planning a secret rotation", map[string]any{"mode": int(mode)})
	var unknown []string
	switch mode {
	case dcr.RotateByReplacement:
		resp.RequiresReplace = append(resp.RequiresReplace, path.Root(rotationTriggerAttr))
		return
	case dcr.RotateWithSecretsAPI:
		unknown = []string{"client_secret", "client_secret_expires_at"}
	default:
		unknown = []string{"client_secret", "client_secret_expires_at", "registration_access_token",
			"id", "client_id", "client_id_issued_at", "registration_client_uri"}
	}
	for _, name := range unknown {
		resp.Diagnostics.Append(setUnknown(ctx, &resp.Plan, path.Root(name))...)
	}
}

// updateRotating is Update when the trigger changed: the metadata update and the rotation,
// keeping whatever the identity provider now holds even when the rotation stops part way.
func (r *dcrClientResource) updateRotating(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse,
	idp *idpSettings, state, plan dcrClientModel, metadata dcr.Metadata) {
	var rot dcr.Rotation
	var err error
	switch idp.Client.SecretRotation() {
	case dcr.RotateWithSecretsAPI:
		var updated dcr.Registration
		updated, err = idp.Client.Update(ctx, state.registration(), metadata)
		if err != nil {
			break
		}
		secretID, diags := oktaSecretID(ctx, req.Private)
		resp.Diagnostics.Append(diags...)
		rot, err = idp.Client.RotateSecret(ctx, updated, secretID)
		if rot.Registration.ClientID == "" {
			rot.Registration = updated
		}
	default:
		// hydra and keycloak are planned as a replacement; they only get here when the
		// provider configuration was unknown at plan time, and a replacement inside the
		// update serves them as it does generic.
		rot, err = idp.Client.UpdateRotatingSecret(ctx, state.registration(), metadata)
	}
	ctx = maskCredentials(ctx, rot.Registration.ClientSecret, rot.Registration.RegistrationAccessToken)
	if err != nil {
		resp.Diagnostics.Append(rotationErrorDiags(idp, state.ClientID.ValueString(), err)...)
	}
	if rot.Registration.ClientID == "" {
		// Nothing changed at the identity provider: the prior state, trigger included, stays,
		// so the next apply retries (the response's state is the plan, unknowns and all).
		resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
		return
	}
	if rot.Replaced != "" {
		tflog.Info(ctx, "rotated the client secret by replacing the client",
			map[string]any{"client_id": rot.Registration.ClientID, "replaced": rot.Replaced})
	} else if rot.Rotated {
		tflog.Info(ctx, "rotated the client secret", map[string]any{"client_id": rot.Registration.ClientID})
	}

	next, diags := reconcile(ctx, plan, rot.Registration, afterApply)
	resp.Diagnostics.Append(diags...)
	if !rot.Rotated {
		// The next apply sees the trigger's change again and retries the rotation.
		next.ClientSecretRotationTrigger = state.ClientSecretRotationTrigger
	}
	setDiags := resp.State.Set(ctx, &next)
	resp.Diagnostics.Append(setDiags...)
	if setDiags.HasError() && rot.Rotated {
		resp.Diagnostics.AddError("Rotated secret not saved", rotationNotSavedDetail(state, rot))
		return
	}
	if rot.SecretID != "" {
		resp.Diagnostics.Append(setOktaSecretID(ctx, resp.Private, rot.SecretID)...)
	}
	resp.Diagnostics.Append(recordConfiguredMetadata(ctx, req.Config, resp.Private)...)
}

// rotationErrorDiags: a rotation that stopped part way says what exists and what to do (the
// error text, from internal/dcr); any other failure is an identity provider error.
func rotationErrorDiags(idp *idpSettings, clientID string, err error) diag.Diagnostics {
	if errors.Is(err, dcr.ErrRotationIncomplete) {
		var diags diag.Diagnostics
		diags.AddError("Client secret rotation incomplete", err.Error())
		return diags
	}
	return idpErrorDiags(idp, "rotating the secret of client "+clientID, err)
}

// rotationNotSavedDetail explains a rotation whose result the state could not take.
func rotationNotSavedDetail(state dcrClientModel, rot dcr.Rotation) string {
	old := state.ClientID.ValueString()
	if rot.Replaced != "" || rot.Registration.ClientID != old {
		return fmt.Sprintf("Client %s was registered to replace client %s (deleted: %t), but the state could not be "+
			"written, so Terraform does not know the new client. Import it with its registration_client_uri and "+
			"registration_access_token, or delete it at the identity provider and apply again.",
			rot.Registration.ClientID, old, rot.Replaced != "")
	}
	return fmt.Sprintf("The identity provider now holds a new secret for client %s (secret id %q), but the state could "+
		"not be written, so its value is lost; the secret in the state still works. Apply again: with the okta "+
		"driver the next rotation deactivates and deletes the secret whose value was lost.", old, rot.SecretID)
}

func oktaSecretID(ctx context.Context, private privateState) (string, diag.Diagnostics) {
	raw, diags := private.GetKey(ctx, oktaSecretIDKey)
	if diags.HasError() || len(raw) == 0 {
		return "", diags
	}
	var id string
	if err := json.Unmarshal(raw, &id); err != nil {
		diags.AddWarning("Unreadable private state", fmt.Sprintf("The recorded Okta secret id is not readable (%v); "+
			"the rotation goes on without it.", err))
	}
	return id, diags
}

func setOktaSecretID(ctx context.Context, private privateState, id string) diag.Diagnostics {
	b, err := json.Marshal(id)
	if err != nil {
		var diags diag.Diagnostics
		diags.AddError("Recording the Okta secret id", err.Error())
		return diags
	}
	return private.SetKey(ctx, oktaSecretIDKey, b)
}
