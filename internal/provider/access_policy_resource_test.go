package provider

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

func TestAccessPolicySchemaIsValid(t *testing.T) {
	if diags := accessPolicySchema().ValidateImplementation(context.Background()); diags.HasError() {
		t.Fatalf("schema: %v", diags)
	}
}

func TestAccessPolicyWireRoundTrip(t *testing.T) {
	ctx := context.Background()
	m := accessPolicyModel{
		Name:      types.StringValue("partners"),
		ClientIDs: stringSet("c2", "c1"),
		AccessRights: []accessRightModel{{
			APIID:          types.StringValue("api-1"),
			Methods:        stringSet("GET", "POST"),
			Paths:          types.SetNull(types.StringType),
			RequiredScopes: types.SetValueMust(types.StringType, nil),
		}},
		RateLimit:   &limitModel{Requests: types.Int64Value(5), Per: timetypes.NewGoDurationValueFromStringMust("60s")},
		MaxTokenAge: timetypes.NewGoDurationNull(),
	}
	p, diags := m.toWire(ctx)
	if diags.HasError() {
		t.Fatal(diags)
	}
	if err := p.Validate(); err != nil {
		t.Fatalf("gateway validation refuses the body: %v", err)
	}
	if p.RateLimit.Per.D() != time.Minute || p.RateLimit.Requests != 5 || p.Quota != nil || p.MaxTokenAge != 0 {
		t.Errorf("limits = %+v %+v %s", p.RateLimit, p.Quota, p.MaxTokenAge)
	}
	if len(p.ClientIDs) != 2 || len(p.AccessRights) != 1 || len(p.AccessRights[0].Methods) != 2 || p.AccessRights[0].Paths != nil {
		t.Errorf("policy = %+v", p)
	}

	// What the gateway answers: canonical durations, empty lists left out.
	p.ID = "pol-1"
	p.RateLimit.Per = adminapi.Duration(time.Minute)
	p.AccessRights[0].RequiredScopes = nil
	back := accessPolicyFromWire(&p, &m)
	if back.ID.ValueString() != "pol-1" || back.RateLimit.Per.ValueString() != "60s" {
		t.Errorf("id/per = %s/%s", back.ID, back.RateLimit.Per)
	}
	ar := back.AccessRights[0]
	if !ar.Methods.Equal(m.AccessRights[0].Methods) || !ar.Paths.IsNull() || ar.RequiredScopes.IsNull() {
		t.Errorf("access right = %+v", ar)
	}
	if !back.ClientIDs.Equal(m.ClientIDs) || back.Quota != nil || !back.MaxTokenAge.IsNull() {
		t.Errorf("policy = %+v", back)
	}
}

// A policy the gateway cannot accept is caught at plan time, on the attribute that is wrong.
func TestAccessPolicyValidationNamesAttribute(t *testing.T) {
	ctx := context.Background()
	p := adminapi.Policy{Name: "p", AccessRights: []adminapi.AccessRight{{APIID: "a"}, {APIID: "b", Paths: []string{"items"}}}}
	diags := validationDiags(ctx, accessPolicySchema(), p.Validate())
	if diags.ErrorsCount() != 1 {
		t.Fatalf("diags = %v", diags)
	}
	d, ok := diags.Errors()[0].(diag.DiagnosticWithPath)
	want := path.Root("access_rights").AtListIndex(1).AtName("paths")
	if !ok || !d.Path().Equal(want) {
		t.Fatalf("diagnostic %v, want one on %s", diags.Errors()[0], want)
	}
	if !strings.Contains(d.Detail(), `must start with "/"`) {
		t.Errorf("detail %q does not say what is wrong", d.Detail())
	}
}
