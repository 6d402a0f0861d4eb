package provider

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// The string validators check known values only (null and unknown ones are the other
// validators' and the apply's business) and name the attribute they found wrong.
func TestKnownStringChecks(t *testing.T) {
	ctx := context.Background()
	for name, tc := range map[string]struct {
		v       validator.String
		value   types.String
		summary string // "" when the value passes
	}{
		"url null":         {absoluteURL(), types.StringNull(), ""},
		"url unknown":      {absoluteURL(), types.StringUnknown(), ""},
		"url good":         {absoluteURL(), types.StringValue("https://idp.example.com"), ""},
		"url relative":     {absoluteURL(), types.StringValue("/idp"), "Invalid URL"},
		"resource null":    {resourceURI(), types.StringNull(), ""},
		"resource unknown": {resourceURI(), types.StringUnknown(), ""},
		"resource good":    {resourceURI(), types.StringValue("https://mcp.example.com/mcp"), ""},
		"resource http":    {resourceURI(), types.StringValue("http://mcp.example.com/mcp"), "Invalid resource"},
	} {
		t.Run(name, func(t *testing.T) {
			p := path.Root("attr")
			var resp validator.StringResponse
			tc.v.ValidateString(ctx, validator.StringRequest{Path: p, ConfigValue: tc.value}, &resp)
			if tc.summary == "" {
				if resp.Diagnostics.HasError() {
					t.Fatalf("%v: %v", tc.value, resp.Diagnostics)
				}
				return
			}
			if resp.Diagnostics.ErrorsCount() != 1 || resp.Diagnostics[0].Summary() != tc.summary {
				t.Fatalf("%v: want one %q error, got %v", tc.value, tc.summary, resp.Diagnostics)
			}
			if d, ok := resp.Diagnostics[0].(interface{ Path() path.Path }); !ok || !d.Path().Equal(p) {
				t.Errorf("%v: the error is not at %s", tc.value, p)
			}
		})
	}
	if got := absoluteURL().MarkdownDescription(ctx); got != "must be an absolute http or https URL" {
		t.Errorf("absoluteURL's description: %q", got)
	}
	if got := keepEquivalentDuration().Description(ctx); !strings.Contains(got, "equivalent spelling") {
		t.Errorf("keepEquivalentDuration's description: %q", got)
	}
}
