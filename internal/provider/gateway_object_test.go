package provider

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

// TestGatewayObjectDiagnostics pins what the shared flow of gatewayObject says for each
// gateway resource: the warning of an object deleted outside Terraform (and its removal from
// state), the action each admin API failure names, and a delete of what is already gone.
func TestGatewayObjectDiagnostics(t *testing.T) {
	// want: the warning's title and detail, then how each failure begins (create, read,
	// update, delete).
	type kind struct {
		res   resource.Resource
		state func(t *testing.T) tfsdk.State
		want  [6]string
	}
	policy := accessPolicyFromWire(&adminapi.Policy{ID: "p1", Name: "grant",
		AccessRights: []adminapi.AccessRight{{APIID: "a1"}}}, nil)
	api := protectedAPIFromWire(&adminapi.API{ID: "a1", Name: "orders", ListenPath: "/orders", UpstreamURL: "http://127.0.0.1:1",
		JWT: &adminapi.JWTValidation{Issuer: "https://idp.example", JWKSURI: "https://idp.example/jwks"}}, nil)
	gone := "deleted outside Terraform. Terraform will plan to create it again."
	kinds := map[string]kind{
		"access_policy": {NewAccessPolicyResource(), func(t *testing.T) tfsdk.State { return stateOf(t, accessPolicySchema(), policy) },
			[6]string{"Access policy no longer on the gateway", `The gateway has no policy with id "p1": it was ` + gone,
				`While creating access policy "grant",`, `While reading access policy "p1",`,
				`While updating access policy "grant" (id p1),`, `While deleting access policy "grant" (id p1),`}},
		"protected_api": {NewProtectedAPIResource(), func(t *testing.T) tfsdk.State { return stateOf(t, protectedAPISchema(), api) },
			[6]string{"Protected API no longer on the gateway", `The gateway has no API with id "a1": it was ` + gone,
				`While creating protected API "orders",`, `While reading protected API "a1",`,
				`While updating protected API "orders" (id a1),`, `While deleting protected API "orders" (id a1),`}},
	}
	ctx := context.Background()
	for name, k := range kinds {
		t.Run(name, func(t *testing.T) {
			status := http.StatusNotFound
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(status)
				_, _ = w.Write([]byte(`{"error":"x","message":"boom"}`))
			}))
			defer srv.Close()
			client, err := adminapi.NewClient(srv.URL, "token", srv.Client())
			if err != nil {
				t.Fatal(err)
			}
			r := k.res.(resource.ResourceWithConfigure)
			cresp := &resource.ConfigureResponse{}
			r.Configure(ctx, resource.ConfigureRequest{ProviderData: &providerData{Gateway: client}}, cresp)
			if cresp.Diagnostics.HasError() {
				t.Fatal(cresp.Diagnostics)
			}
			state := k.state(t)
			plan := tfsdk.Plan(state)
			config := tfsdk.Config(state)

			// 404 on read: a warning, and the object leaves the state.
			read := &resource.ReadResponse{State: state}
			r.Read(ctx, resource.ReadRequest{State: state}, read)
			if len(read.Diagnostics) != 1 || read.Diagnostics[0].Severity() != diag.SeverityWarning ||
				read.Diagnostics[0].Summary() != k.want[0] || read.Diagnostics[0].Detail() != k.want[1] {
				t.Errorf("read of a deleted object: %v", read.Diagnostics)
			}
			if !read.State.Raw.IsNull() {
				t.Error("read of a deleted object left it in the state")
			}
			// 404 on delete: already gone, nothing to say.
			del := &resource.DeleteResponse{State: state}
			r.Delete(ctx, resource.DeleteRequest{State: state}, del)
			if len(del.Diagnostics) != 0 {
				t.Errorf("delete of a deleted object: %v", del.Diagnostics)
			}

			// Any other failure names the action.
			status = http.StatusInternalServerError
			wantError := func(op, want string, diags diag.Diagnostics) {
				t.Helper()
				if !diags.HasError() || !strings.HasPrefix(diags.Errors()[0].Detail(), want) {
					t.Errorf("%s: %v, want an error starting %q", op, diags, want)
				}
			}
			create := &resource.CreateResponse{State: tfsdk.State{Schema: state.Schema, Raw: tftypes.NewValue(state.Raw.Type(), nil)}}
			r.Create(ctx, resource.CreateRequest{Plan: plan, Config: config}, create)
			wantError("create", k.want[2], create.Diagnostics)
			if !create.State.Raw.IsNull() {
				t.Error("a failed create set state")
			}
			read = &resource.ReadResponse{State: state}
			r.Read(ctx, resource.ReadRequest{State: state}, read)
			wantError("read", k.want[3], read.Diagnostics)
			update := &resource.UpdateResponse{State: state}
			r.Update(ctx, resource.UpdateRequest{Plan: plan, State: state, Config: config}, update)
			wantError("update", k.want[4], update.Diagnostics)
			del = &resource.DeleteResponse{State: state}
			r.Delete(ctx, resource.DeleteRequest{State: state}, del)
			wantError("delete", k.want[5], del.Diagnostics)
		})
	}
}

// TestGatewayObjectWithoutGateway: every operation of a gateway resource names the settings
// to configure when the provider has no gateway, under the resource's own type name.
func TestGatewayObjectWithoutGateway(t *testing.T) {
	ctx := context.Background()
	policy := accessPolicyFromWire(&adminapi.Policy{ID: "p1", Name: "grant",
		AccessRights: []adminapi.AccessRight{{APIID: "a1"}}}, nil)
	state := stateOf(t, accessPolicySchema(), policy)
	r := NewAccessPolicyResource()
	read := &resource.ReadResponse{State: state}
	r.Read(ctx, resource.ReadRequest{State: state}, read)
	if !read.Diagnostics.HasError() || read.Diagnostics.Errors()[0].Summary() != "Gateway not configured" ||
		!strings.HasPrefix(read.Diagnostics.Errors()[0].Detail(), "idpgate_access_policy needs the idpgate gateway") {
		t.Errorf("read without a gateway: %v", read.Diagnostics)
	}
}

// stateOf is model as state of a resource with schema s.
func stateOf(t *testing.T, s schema.Schema, model any) tfsdk.State {
	t.Helper()
	ctx := context.Background()
	st := tfsdk.State{Schema: s, Raw: tftypes.NewValue(s.Type().TerraformType(ctx), nil)}
	if diags := st.Set(ctx, model); diags.HasError() {
		t.Fatal(diags)
	}
	return st
}
