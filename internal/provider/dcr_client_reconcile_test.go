package provider

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework-jsontypes/jsontypes"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/idpgate/terraform-provider-idpgate/internal/dcr"
)

func TestDCRClientReconcile_AfterRead(t *testing.T) {
	ctx := context.Background()
	prior := dcrClientModel{
		ClientName:    types.StringValue("app"),
		Scope:         types.StringValue("b a"),
		GrantTypes:    stringSet("client_credentials"),
		ResponseTypes: stringSet(),
		RedirectURIs:  stringSet("https://a/cb"),
		LogoURI:       types.StringValue("https://a/logo.png"),
		TosURI:        types.StringNull(),
		ExtraMetadata: jsontypes.NewNormalizedValue(`{"x": [1, 2], "y": "keep"}`),
		ClientSecret:  types.StringValue("old-secret"),
	}
	reg := dcr.Registration{ClientID: "c1", ClientSecret: "old-secret", RegistrationAccessToken: "rat-2",
		Metadata: dcr.Metadata{
			ClientName:    "app",
			Scope:         "a b",                          // reordered: equivalent
			GrantTypes:    []string{"client_credentials"}, // same
			ResponseTypes: nil,                            // not returned: keep []
			RedirectURIs:  []string{"https://b/cb"},       // changed out of band: drift
			LogoURI:       "",                             // not returned: keep
			TosURI:        "https://a/tos",                // added by the IdP, user never set it
			Extra:         map[string]json.RawMessage{"x": json.RawMessage(`[1,2]`), "z": json.RawMessage(`true`)},
		}}
	next, diags := reconcile(ctx, prior, reg, afterRead)
	if diags.HasError() || diags.WarningsCount() != 0 {
		t.Fatalf("diags = %v", diags)
	}
	if !next.Scope.Equal(prior.Scope) || !next.ResponseTypes.Equal(prior.ResponseTypes) || !next.LogoURI.Equal(prior.LogoURI) ||
		!next.GrantTypes.Equal(prior.GrantTypes) {
		t.Errorf("equivalent or absent values not kept: %+v", next)
	}
	if !next.RedirectURIs.Equal(stringSet("https://b/cb")) {
		t.Errorf("drift hidden: redirect_uris = %v", next.RedirectURIs)
	}
	if next.TosURI.ValueString() != "https://a/tos" {
		t.Errorf("IdP-added tos_uri = %v", next.TosURI)
	}
	if next.ExtraMetadata.ValueString() != prior.ExtraMetadata.ValueString() {
		t.Errorf("extra_metadata = %s, want the user's keys only, as written", next.ExtraMetadata.ValueString())
	}
	if next.RegistrationAccessToken.ValueString() != "rat-2" || next.ID.ValueString() != "c1" {
		t.Errorf("issued fields = %+v", next)
	}
}

func TestDCRClientReconcile_AfterApplyKeepsPlanAndWarns(t *testing.T) {
	plan := dcrClientModel{
		ClientName:              types.StringValue("app"),
		TokenEndpointAuthMethod: types.StringUnknown(),
		Scope:                   types.StringValue("a"),
		GrantTypes:              types.SetUnknown(types.StringType),
	}
	reg := dcr.Registration{ClientID: "c1", Metadata: dcr.Metadata{
		ClientName: "app", TokenEndpointAuthMethod: "client_secret_basic", Scope: "a extra",
		GrantTypes: []string{"authorization_code"},
	}}
	next, diags := reconcile(context.Background(), plan, reg, afterApply)
	if next.Scope.ValueString() != "a" {
		t.Errorf("planned scope not kept: %v", next.Scope)
	}
	if diags.WarningsCount() != 1 {
		t.Errorf("want one warning about scope, got %v", diags)
	}
	if next.TokenEndpointAuthMethod.ValueString() != "client_secret_basic" || !next.GrantTypes.Equal(stringSet("authorization_code")) {
		t.Errorf("unknown planned values not taken from the IdP: %+v", next)
	}
}
