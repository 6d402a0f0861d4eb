package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

// gatewayObject is how every gateway resource talks to the admin API: create, read (an
// object gone from the gateway leaves the state with a warning, so the next plan creates it
// again), update, delete (one already gone is not an error), import by id, each operation
// under its timeouts block, and the gateway's own checks at plan time (ValidateConfig). A
// resource embeds it and keeps only what is its own, described by a gatewayKind: its schema,
// its model ↔ wire mapping and its plan-time checks (ModifyPlan).
type gatewayObject[M gatewayModel[W], W any] struct {
	data *providerData
	kind *gatewayKind[M, W]
}

// The gateway resources, each a gatewayObject.
var (
	_ resource.ResourceWithConfigure      = &accessPolicyResource{}
	_ resource.ResourceWithImportState    = &accessPolicyResource{}
	_ resource.ResourceWithValidateConfig = &accessPolicyResource{}
	_ resource.ResourceWithModifyPlan     = &accessPolicyResource{}
	_ resource.ResourceWithConfigure      = &protectedAPIResource{}
	_ resource.ResourceWithImportState    = &protectedAPIResource{}
	_ resource.ResourceWithValidateConfig = &protectedAPIResource{}
)

func newGatewayObject[M gatewayModel[W], W any](kind *gatewayKind[M, W]) gatewayObject[M, W] {
	return gatewayObject[M, W]{kind: kind}
}

// gatewayModel is a gateway resource's state: it builds the admin API body and names the
// fields every gateway object has.
type gatewayModel[W any] interface {
	toWire(context.Context) (W, diag.Diagnostics)
	common() gatewayModelCommon
}

// gatewayModelCommon is what every gateway resource's model holds.
type gatewayModelCommon struct {
	Timeouts timeouts.Value
	ID       types.String
	Name     types.String
}

// gatewayKind is what one gateway resource is: its names, its schema, its wire mapping and
// its admin API calls.
type gatewayKind[M gatewayModel[W], W any] struct {
	// typeSuffix follows the provider's type name ("_access_policy").
	typeSuffix string
	// noun names the object in diagnostics ("access policy"), title at their start
	// ("Access policy"), short where the gateway is said to have none ("policy").
	noun, title, short string
	schema             func() schema.Schema
	// fromWire maps the gateway's answer to state; prior (the plan, or the previous state)
	// supplies what the gateway does not return or spells differently.
	fromWire func(w *W, prior *M) M
	// The admin API's calls for this kind (adminapi.Client's methods).
	create   func(c *adminapi.Client, ctx context.Context, w W) (*W, error)
	get      func(c *adminapi.Client, ctx context.Context, id string) (*W, error)
	update   func(c *adminapi.Client, ctx context.Context, id string, w W) (*W, error)
	remove   func(c *adminapi.Client, ctx context.Context, id string) error
	validate func(w *W) error

	// Optional. addWriteOnly puts write-only values from config into the body to send (state
	// is nil on create).
	addWriteOnly func(plan M, ctx context.Context, config tfsdk.Config, w *W, state *M) diag.Diagnostics
	// afterRead corrects the state read back for what the gateway only says about (secrets).
	afterRead func(next *M, w *W)
	// checkable says whether the configuration is whole enough for the gateway's checks at
	// plan time (the schema's validators report what is not); prepareCheck fills in values
	// known only at apply with placeholders the checks accept.
	checkable    func(cfg M) bool
	prepareCheck func(ctx context.Context, config tfsdk.Config, w *W)
}

func (o *gatewayObject[M, W]) typeName() string { return "idpgate" + o.kind.typeSuffix }

func (o *gatewayObject[M, W]) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + o.kind.typeSuffix
}

func (o *gatewayObject[M, W]) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = o.kind.schema()
}

func (o *gatewayObject[M, W]) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	o.data = configuredData(req.ProviderData, &resp.Diagnostics)
}

// ValidateConfig runs the gateway's own checks at plan time (see plan_time_validation.go), so
// a value the gateway would refuse fails the plan rather than the apply. What only the gateway
// knows (other objects) is checked in ModifyPlan (gateway_plan_checks.go).
func (o *gatewayObject[M, W]) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	known, err := configWithPlaceholders(req.Config)
	if err != nil {
		resp.Diagnostics.AddError("Provider bug", "Preparing the plan-time check of the configuration: "+err.Error())
		return
	}
	var cfg M
	resp.Diagnostics.Append(known.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() || (o.kind.checkable != nil && !o.kind.checkable(cfg)) {
		return
	}
	w, diags := cfg.toWire(ctx)
	resp.Diagnostics.Append(diags...)
	if diags.HasError() {
		return
	}
	if o.kind.prepareCheck != nil {
		o.kind.prepareCheck(ctx, req.Config, &w)
	}
	resp.Diagnostics.Append(validationDiags(ctx, o.kind.schema(), o.kind.validate(&w))...)
}

// timeoutOf is one of timeouts.Value's Create, Read, Update and Delete.
type timeoutOf = func(timeouts.Value, context.Context, time.Duration) (time.Duration, diag.Diagnostics)

// begin bounds ctx by the operation's timeout (op, in m's timeouts block) and finds the
// gateway, appending what went wrong to diags.
func (o *gatewayObject[M, W]) begin(ctx context.Context, diags *diag.Diagnostics, m M, op timeoutOf) (context.Context, context.CancelFunc, *adminapi.Client) {
	ctx, cancel, d := withOperationTimeout(ctx, func(ctx context.Context, def time.Duration) (time.Duration, diag.Diagnostics) {
		return op(m.common().Timeouts, ctx, def)
	}, gatewayOperationTimeout)
	diags.Append(d...)
	client, d := o.data.requireGateway(o.typeName())
	diags.Append(d...)
	return ctx, cancel, client
}

// failed turns an admin API error into diagnostics; action is like `creating access policy "x"`.
func (o *gatewayObject[M, W]) failed(ctx context.Context, action string, err error) diag.Diagnostics {
	return gatewayErrorDiags(ctx, o.kind.schema(), action, err)
}

func (o *gatewayObject[M, W]) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	o.write(ctx, req.Plan, nil, req.Config, &resp.State, &resp.Diagnostics)
}

func (o *gatewayObject[M, W]) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	o.write(ctx, req.Plan, &req.State, req.Config, &resp.State, &resp.Diagnostics)
}

// write creates the planned object (prior nil) or updates the one in prior, and sets out to
// what the gateway answers.
func (o *gatewayObject[M, W]) write(ctx context.Context, planned tfsdk.Plan, prior *tfsdk.State, config tfsdk.Config,
	out *tfsdk.State, diags *diag.Diagnostics) {
	var plan M
	var state *M
	diags.Append(planned.Get(ctx, &plan)...)
	if prior != nil {
		state = new(M)
		diags.Append(prior.Get(ctx, state)...)
	}
	if diags.HasError() {
		return
	}
	op, name := timeouts.Value.Create, plan.common().Name.ValueString()
	action := fmt.Sprintf("creating %s %q", o.kind.noun, name)
	if state != nil {
		op, action = timeouts.Value.Update, fmt.Sprintf("updating %s %q (id %s)", o.kind.noun, name, (*state).common().ID.ValueString())
	}
	ctx, cancel, client := o.begin(ctx, diags, plan, op)
	defer cancel()
	w, d := plan.toWire(ctx)
	diags.Append(d...)
	if o.kind.addWriteOnly != nil {
		diags.Append(o.kind.addWriteOnly(plan, ctx, config, &w, state)...)
	}
	if diags.HasError() {
		return
	}
	var answer *W
	var err error
	if state == nil {
		answer, err = o.kind.create(client, ctx, w)
	} else {
		answer, err = o.kind.update(client, ctx, (*state).common().ID.ValueString(), w)
	}
	if err != nil {
		diags.Append(o.failed(ctx, action, err)...)
		return
	}
	diags.Append(out.Set(ctx, o.kind.fromWire(answer, &plan))...)
}

// open reads the state and begins operation op on it; ok is false when diags hold an error.
func (o *gatewayObject[M, W]) open(ctx context.Context, st tfsdk.State, diags *diag.Diagnostics, op timeoutOf) (
	_ context.Context, cancel context.CancelFunc, client *adminapi.Client, state M, ok bool) {
	diags.Append(st.Get(ctx, &state)...)
	if diags.HasError() {
		return ctx, func() {}, nil, state, false
	}
	ctx, cancel, client = o.begin(ctx, diags, state, op)
	return ctx, cancel, client, state, !diags.HasError()
}

func (o *gatewayObject[M, W]) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	ctx, cancel, client, state, ok := o.open(ctx, req.State, &resp.Diagnostics, timeouts.Value.Read)
	defer cancel()
	if !ok {
		return
	}
	id := state.common().ID.ValueString()
	w, err := o.kind.get(client, ctx, id)
	if adminapi.IsNotFound(err) {
		resp.Diagnostics.AddWarning(o.kind.title+" no longer on the gateway",
			fmt.Sprintf("The gateway has no %s with id %q: it was deleted outside Terraform. Terraform "+
				"will plan to create it again.", o.kind.short, id))
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.Append(o.failed(ctx, fmt.Sprintf("reading %s %q", o.kind.noun, id), err)...)
		return
	}
	next := o.kind.fromWire(w, &state)
	if o.kind.afterRead != nil {
		o.kind.afterRead(&next, w)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, next)...)
}

func (o *gatewayObject[M, W]) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	ctx, cancel, client, state, ok := o.open(ctx, req.State, &resp.Diagnostics, timeouts.Value.Delete)
	defer cancel()
	if !ok {
		return
	}
	c := state.common()
	err := o.kind.remove(client, ctx, c.ID.ValueString())
	if err != nil && !adminapi.IsNotFound(err) {
		resp.Diagnostics.Append(o.failed(ctx,
			fmt.Sprintf("deleting %s %q (id %s)", o.kind.noun, c.Name.ValueString(), c.ID.ValueString()), err)...)
	}
}

func (o *gatewayObject[M, W]) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resource.ImportStatePassthroughID(ctx, path.Root("id"), req, resp)
}

// gatewaySchema is a gateway resource's schema: its description and its own attributes, with
// what every gateway object has: the id the gateway assigns (idDesc), a unique name
// (nameDesc) and the timeouts block.
func gatewaySchema(description, idDesc, nameDesc string, attrs map[string]schema.Attribute) schema.Schema {
	attrs["id"] = schema.StringAttribute{
		MarkdownDescription: idDesc,
		Computed:            true,
		PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
	}
	attrs["name"] = schema.StringAttribute{
		MarkdownDescription: nameDesc,
		Required:            true,
		Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
	}
	return schema.Schema{
		Blocks:              map[string]schema.Block{"timeouts": timeoutsBlock(context.Background(), gatewayOperationTimeout)},
		MarkdownDescription: description,
		Attributes:          attrs,
	}
}
