package provider

import (
	"context"
	"math/big"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

// The gateway resources run the admin API's own Validate at plan time. A typical
// configuration refers to values only known after apply (api_id =
// idpgate_protected_api.x.id, client_ids = [idpgate_dcr_client.app.client_id]); rather than
// skip the check then, the unknown values are replaced by placeholders that pass every check,
// so the known values (a rate limit period out of range, a bad path pattern) still fail the
// plan. What the placeholders stand for is checked by the gateway at apply.

// placeholderFor returns a value of the attribute's kind that Validate accepts.
var placeholderFor = map[string]string{
	"listen_path":        "/placeholder",
	"paths":              "/placeholder",
	"upstream_url":       "https://placeholder.invalid",
	"issuer":             "https://placeholder.invalid",
	"jwks_uri":           "https://placeholder.invalid",
	"endpoint":           "https://placeholder.invalid",
	"leeway":             "1s",
	"cache_ttl":          "1s",
	"per":                "1s",
	"max_token_age":      "1s",
	"methods":            "GET",
	"allowed_algorithms": adminapi.DefaultAlgorithm,
	"path_normalization": adminapi.PathNormalizationReject,
	// protected resources (a resource itself: placeholderResource)
	"resource_documentation": "https://placeholder.invalid",
	"authorization_servers":  "https://placeholder.invalid",
	"conditions":             "true",
	"allowed_origins":        "https://placeholder.invalid",
	"allowed_methods":        "GET",
	"max_age":                "1s",
}

// configWithPlaceholders returns the configuration with every unknown string and number
// replaced by a placeholder. Unknown collections and objects become null: nothing inside them
// is known to check.
func configWithPlaceholders(cfg tfsdk.Config) (tfsdk.Config, error) {
	raw, err := tftypes.Transform(cfg.Raw, func(p *tftypes.AttributePath, v tftypes.Value) (tftypes.Value, error) {
		if v.IsKnown() && !badDuration(cfg, p, v) {
			return v, nil
		}
		switch {
		case v.Type().Is(tftypes.String):
			return tftypes.NewValue(tftypes.String, placeholderAt(p)), nil
		case v.Type().Is(tftypes.Number):
			return tftypes.NewValue(tftypes.Number, big.NewFloat(1)), nil
		case v.Type().Is(tftypes.Bool):
			return tftypes.NewValue(tftypes.Bool, false), nil
		default:
			return tftypes.NewValue(v.Type(), nil), nil
		}
	})
	return tfsdk.Config{Raw: raw, Schema: cfg.Schema}, err
}

// badDuration: a duration attribute's own check (checkedDurationValue.ValidateAttribute)
// refuses v, and reports it. A placeholder takes its place, so that reading the
// configuration does not stop at it and the other attributes are still checked.
func badDuration(cfg tfsdk.Config, p *tftypes.AttributePath, v tftypes.Value) bool {
	if v.IsNull() || !v.Type().Is(tftypes.String) {
		return false
	}
	typ, err := cfg.Schema.TypeAtTerraformPath(context.Background(), p)
	if _, ok := typ.(checkedDurationType); err != nil || !ok {
		return false
	}
	var s string
	if v.As(&s) != nil {
		return false
	}
	return durationProblem(terraformPathLabel(p), s) != ""
}

// terraformPathLabel is fieldLabel for a tftypes path.
func terraformPathLabel(p *tftypes.AttributePath) string {
	var fp path.Path
	for _, step := range p.Steps() {
		switch st := step.(type) {
		case tftypes.AttributeName:
			fp = fp.AtName(string(st))
		case tftypes.ElementKeyInt:
			fp = fp.AtListIndex(int(st))
		case tftypes.ElementKeyString:
			fp = fp.AtMapKey(string(st))
		}
	}
	return fieldLabel(fp)
}

// placeholderAt picks the placeholder by the nearest attribute name in the path, so that an
// element of "paths" is a path pattern.
func placeholderAt(p *tftypes.AttributePath) string {
	steps := p.Steps()
	for i := len(steps) - 1; i >= 0; i-- {
		if name, ok := steps[i].(tftypes.AttributeName); ok {
			if v, ok := placeholderFor[string(name)]; ok {
				return v
			}
			break
		}
	}
	return "placeholder"
}
