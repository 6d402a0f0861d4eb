package provider

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// terraformPathLabel spells a tftypes path as fieldLabel spells the framework's: durationRules
// is keyed by those labels.
func TestTerraformPathLabel(t *testing.T) {
	for want, p := range map[string]*tftypes.AttributePath{
		"jwt.leeway":               tftypes.NewAttributePath().WithAttributeName("jwt").WithAttributeName("leeway"),
		"access_rights[2].methods": tftypes.NewAttributePath().WithAttributeName("access_rights").WithElementKeyInt(2).WithAttributeName("methods"),
		"forward_claims.X-Team":    tftypes.NewAttributePath().WithAttributeName("forward_claims").WithElementKeyString("X-Team"),
		"hosts":                    tftypes.NewAttributePath().WithAttributeName("hosts").WithElementKeyValue(tftypes.NewValue(tftypes.String, "a")),
		"":                         tftypes.NewAttributePath(),
	} {
		if got := terraformPathLabel(p); got != want {
			t.Errorf("terraformPathLabel(%s) = %q, want %q", p, got, want)
		}
	}
}
