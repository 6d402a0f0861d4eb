package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

// At plan time the gateway resources check what only the gateway knows, so that a mistake
// fails the plan rather than an apply that has already created other resources: that
// gateway_url is the admin listener and the admin token is accepted, that an access right's
// api_id names an API, that a listen_path is not held by an API this resource does not
// manage. One listing of the APIs per provider run serves every resource (GET /v1/apis:
// only the admin listener answers it, and only with the admin token). A gateway that cannot
// be reached at plan time is a warning: the plan goes on, and the apply will say.

// gatewayPlanCheckTimeout bounds the listing at plan time.
const gatewayPlanCheckTimeout = 10 * time.Second

// gatewayPlanView is the gateway as the plan saw it, listed once per provider run.
type gatewayPlanView struct {
	mu     sync.Mutex
	listed bool
	apis   []adminapi.API
	err    error
	// reported: the listing's failure has been reported (once per run, not per resource).
	reported bool
}

// gatewayAPIsAtPlan lists the gateway's APIs, once per run; fresh lists again (an API created
// earlier in this apply is not in the first listing). ok is false when the plan cannot use
// the listing; diags then say why, once per run.
func (d *providerData) gatewayAPIsAtPlan(ctx context.Context, fresh bool) (apis []adminapi.API, ok bool, diags diag.Diagnostics) {
	if d == nil || d.Gateway == nil || d.unknown || d.planChecks == nil {
		return nil, false, nil // not configured, only known at apply, or plan_checks = false: the apply checks
	}
	v := &d.planView
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.listed || (fresh && v.err == nil) {
		ctx, cancel := context.WithTimeout(ctx, gatewayPlanCheckTimeout)
		defer cancel()
		v.apis, v.err = d.Gateway.ListAPIs(ctx)
		v.listed = true
	}
	if v.err == nil {
		return v.apis, true, nil
	}
	if !v.reported {
		v.reported = true
		diags.Append(gatewayPlanCheckDiag(v.err))
	}
	return nil, false, diags
}

// gatewayPlanCheckDiag: a refused token, a listener that is not the admin one and a TLS
// mistake are errors (the apply would fail the same way); anything else is a warning.
func gatewayPlanCheckDiag(err error) diag.Diagnostic {
	var apiErr *adminapi.Error
	if summary, detail, ok := gatewayTLSProblem(err); ok {
		return diag.NewErrorDiagnostic(summary, "At plan time, "+detail+" Underlying error: "+err.Error())
	}
	switch {
	case errors.As(err, &apiErr) && apiErr.Status == http.StatusUnauthorized:
		return diag.NewErrorDiagnostic("Gateway refused the admin token",
			"At plan time, the gateway refused the admin token: set gateway_admin_token (or "+
				"IDPGATE_GATEWAY_ADMIN_TOKEN) to the gateway's IDPGATE_ADMIN_TOKEN.")
	case errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound:
		return diag.NewErrorDiagnostic("gateway_url is not the admin listener",
			"At plan time, gateway_url (or IDPGATE_GATEWAY_URL) answered 404 Not Found to the admin API's GET "+
				"/v1/apis: this is not the gateway's admin listener (the proxy listener, or another server). Set "+
				"gateway_url to the address idpgate serve listens on with -admin-listen (default 127.0.0.1:8081).")
	case errors.As(err, &apiErr):
		return diag.NewWarningDiagnostic("Gateway not checked at plan time",
			fmt.Sprintf("The gateway's admin API answered GET /v1/apis with %s (HTTP %d), so whether the gateway "+
				"accepts this plan was not checked; the apply will tell.", apiErr.Message, apiErr.Status))
	}
	return diag.NewWarningDiagnostic("Gateway not reachable at plan time",
		"The gateway's admin API did not answer (gateway_url, or IDPGATE_GATEWAY_URL), so whether it accepts "+
			"this plan was not checked; the apply will tell unless the gateway is up by then. Underlying error: "+
			err.Error())
}

// checkAtPlan: the planned listen_path (and hosts) is not held by another API.
func (r *protectedAPIResource) checkAtPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return // destroy
	}
	var listenPath, id types.String
	var hosts types.Set
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("listen_path"), &listenPath)...)
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("hosts"), &hosts)...)
	if !req.State.Raw.IsNull() { // this resource's API, even when the plan replaces it
		resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("id"), &id)...)
	}
	if resp.Diagnostics.HasError() || listenPath.IsUnknown() || listenPath.IsNull() || hosts.IsUnknown() {
		return
	}
	wantHosts, diags := stringsToWire(ctx, hosts)
	if diags.HasError() || slices.ContainsFunc(hosts.Elements(), func(v attr.Value) bool { return v.IsUnknown() }) {
		return
	}
	apis, ok, diags := r.data.gatewayAPIsAtPlan(ctx, false)
	resp.Diagnostics.Append(diags...)
	if !ok {
		return
	}
	mine := adminapi.API{ListenPath: listenPath.ValueString(), Hosts: wantHosts}
	for _, other := range apis {
		if other.ID == id.ValueString() || !sameRoute(mine, other) {
			continue
		}
		at, where := path.Root("listen_path"), ""
		if len(wantHosts) > 0 {
			at, where = path.Root("hosts"), fmt.Sprintf(" on hosts %v", other.Hosts)
		}
		resp.Diagnostics.AddAttributeError(at, "Listen path already used",
			fmt.Sprintf("listen_path %q%s is already used on the gateway by API %q (id %s), which this resource does "+
				"not manage. Choose another listen_path or hosts that do not overlap, or import that API "+
				"(terraform import <address> %s) to manage it here.", listenPath.ValueString(), where, other.Name, other.ID, other.ID))
		return
	}
}

// sameRoute: two APIs would be served for the same requests (the gateway's route index:
// the same listen path, and no hosts on either, or a host in common).
func sameRoute(a, b adminapi.API) bool {
	if adminapi.NormalizeListenPath(a.ListenPath) != adminapi.NormalizeListenPath(b.ListenPath) {
		return false
	}
	if len(a.Hosts) == 0 || len(b.Hosts) == 0 {
		return len(a.Hosts) == len(b.Hosts)
	}
	for _, h := range a.Hosts {
		for _, g := range b.Hosts {
			if adminapi.NormalizeHost(h) == adminapi.NormalizeHost(g) {
				return true
			}
		}
	}
	return false
}

// checkAtPlan: every api_id known at plan time names an API on the gateway.
func (r *accessPolicyResource) checkAtPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return // destroy
	}
	var rights types.List
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("access_rights"), &rights)...)
	if resp.Diagnostics.HasError() || rights.IsUnknown() || rights.IsNull() {
		return
	}
	ids := map[int]string{}
	for i, el := range rights.Elements() {
		obj, ok := el.(types.Object)
		if !ok || obj.IsUnknown() || obj.IsNull() {
			continue
		}
		if v, ok := obj.Attributes()["api_id"].(types.String); ok && !v.IsUnknown() && !v.IsNull() {
			ids[i] = v.ValueString()
		}
	}
	if len(ids) == 0 {
		return
	}
	for fresh := false; ; fresh = true {
		apis, ok, diags := r.data.gatewayAPIsAtPlan(ctx, fresh)
		resp.Diagnostics.Append(diags...)
		if !ok {
			return
		}
		missing := missingAPIs(ids, apis)
		if len(missing) == 0 {
			return
		}
		if fresh {
			for _, i := range missing {
				resp.Diagnostics.AddAttributeError(path.Root("access_rights").AtListIndex(i), "Unknown API",
					fmt.Sprintf("access_rights[%d].api_id: the gateway has no API with id %q. Use the id of an "+
						"idpgate_protected_api, such as idpgate_protected_api.orders.id.", i, ids[i]))
			}
			return
		}
		// An API created earlier in this apply is not in the first listing: list again.
	}
}

func missingAPIs(ids map[int]string, apis []adminapi.API) []int {
	var missing []int
	for i, id := range ids {
		if !slices.ContainsFunc(apis, func(a adminapi.API) bool { return a.ID == id }) {
			missing = append(missing, i)
		}
	}
	slices.Sort(missing)
	return missing
}
