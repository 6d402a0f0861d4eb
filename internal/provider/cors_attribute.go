package provider

import (
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

// corsModel is idpgate_protected_api's cors (adminapi.CORS).
type corsModel struct {
	AllowedOrigins   types.Set            `tfsdk:"allowed_origins"`
	AllowedMethods   types.Set            `tfsdk:"allowed_methods"`
	AllowedHeaders   types.Set            `tfsdk:"allowed_headers"`
	ExposedHeaders   types.Set            `tfsdk:"exposed_headers"`
	AllowCredentials types.Bool           `tfsdk:"allow_credentials"`
	MaxAge           checkedDurationValue `tfsdk:"max_age"`
}

func corsAttribute() schema.SingleNestedAttribute {
	return schema.SingleNestedAttribute{
		MarkdownDescription: "Let browser applications on other origins call the API. The gateway answers their " +
			"preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) itself, without a token: `204` with " +
			"the `Access-Control-Allow-*` headers when the origin, method and request headers are allowed, `403` without " +
			"them otherwise. Every other answer to an allowed origin, `401`, `403` and `429` included, carries " +
			"`Access-Control-Allow-Origin` and exposes `WWW-Authenticate`, `Retry-After` and `X-RateLimit-*`, so the " +
			"application can read why it was refused; the upstream's own `Access-Control-*` headers are replaced. " +
			"Unset: no CORS (a preflight then needs a token like any request).",
		Optional: true,
		Attributes: map[string]schema.Attribute{
			"allowed_origins": schema.SetAttribute{
				MarkdownDescription: "Origins allowed to call the API: `https://app.example.com`, `http://localhost:3000` " +
					"(scheme, host, optional port; no path, not even `/`), `https://*.example.com` (any subdomain of " +
					"`example.com` at any depth, not `example.com` itself), or `*` alone (any origin; not with " +
					"`allow_credentials`).",
				ElementType: types.StringType,
				Required:    true,
				Validators:  []validator.Set{setvalidator.SizeAtLeast(1), setvalidator.ValueStringsAre(stringvalidator.LengthAtLeast(1))},
			},
			"allowed_methods": schema.SetAttribute{
				MarkdownDescription: "Methods the application may use. Unset: any.",
				ElementType:         types.StringType,
				Optional:            true,
				Validators:          []validator.Set{setvalidator.ValueStringsAre(stringvalidator.OneOf(adminapi.Methods...))},
			},
			"allowed_headers": schema.SetAttribute{
				MarkdownDescription: "Request headers the application may send besides `Authorization` and `DPoP` (always " +
					"allowed) and the CORS-safelisted ones, e.g. `[\"Content-Type\"]` for JSON bodies; `[\"*\"]` allows any.",
				ElementType: types.StringType,
				Optional:    true,
				Validators:  []validator.Set{setvalidator.ValueStringsAre(stringvalidator.LengthAtLeast(1))},
			},
			"exposed_headers": schema.SetAttribute{
				MarkdownDescription: "Headers of the upstream's answers the application may read, besides the CORS-safelisted " +
					"ones and the gateway's `WWW-Authenticate`, `Retry-After` and `X-RateLimit-*`.",
				ElementType: types.StringType,
				Optional:    true,
				Validators:  []validator.Set{setvalidator.ValueStringsAre(stringvalidator.LengthAtLeast(1))},
			},
			"allow_credentials": schema.BoolAttribute{
				MarkdownDescription: "Let the browser send cookies or client certificates along and read the answer " +
					"(`Access-Control-Allow-Credentials: true`). Default `false`; a bearer token in `Authorization` needs " +
					"no credentials.",
				Optional: true,
				Computed: true,
				Default:  booldefault.StaticBool(false),
			},
			"max_age": schema.StringAttribute{
				MarkdownDescription: fmt.Sprintf("How long a browser may reuse a preflight's answer, as a Go duration, at "+
					"most `%s` (Chromium keeps it two hours at most). Unset: browsers ask again after 5 seconds.",
					durationText(adminapi.MaxCORSMaxAge)),
				CustomType:    checkedDurationType{},
				Optional:      true,
				PlanModifiers: []planmodifier.String{keepEquivalentDuration()},
			},
		},
	}
}

func (c *corsModel) toWire(b *wireBody) *adminapi.CORS {
	if c == nil {
		return nil
	}
	return &adminapi.CORS{
		AllowedOrigins:   b.strings(c.AllowedOrigins),
		AllowedMethods:   b.strings(c.AllowedMethods),
		AllowedHeaders:   b.strings(c.AllowedHeaders),
		ExposedHeaders:   b.strings(c.ExposedHeaders),
		AllowCredentials: c.AllowCredentials.ValueBool(),
		MaxAge:           b.duration(c.MaxAge),
	}
}

func corsFromWire(w *adminapi.CORS, prior *corsModel) *corsModel {
	if w == nil {
		return nil
	}
	if prior == nil {
		prior = &corsModel{}
	}
	return &corsModel{
		AllowedOrigins:   setFromWire(w.AllowedOrigins, prior.AllowedOrigins),
		AllowedMethods:   setFromWire(w.AllowedMethods, prior.AllowedMethods),
		AllowedHeaders:   setFromWire(w.AllowedHeaders, prior.AllowedHeaders),
		ExposedHeaders:   setFromWire(w.ExposedHeaders, prior.ExposedHeaders),
		AllowCredentials: types.BoolValue(w.AllowCredentials),
		MaxAge:           durationFromWire(w.MaxAge.D(), prior.MaxAge, true),
	}
}
