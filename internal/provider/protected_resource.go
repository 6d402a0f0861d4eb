package provider

import (
	"context"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

// The protected-resource attributes of idpgate_protected_api (RFC 9728, RFC 8707): resource
// and its metadata fields, mapped to and from adminapi.API. adminapi/resource.go holds the
// rules; internal/gateway/request's resource.go what it serves.

func (m protectedResourceModel) toWire(ctx context.Context, api *adminapi.API) diag.Diagnostics {
	b := wireBody{ctx: ctx}
	api.Resource = stringToWire(m.Resource)
	api.ResourceName = stringToWire(m.ResourceName)
	api.ResourceDocumentation = stringToWire(m.ResourceDocumentation)
	api.ScopesSupported = b.strings(m.ScopesSupported)
	api.AuthorizationServers = b.list(m.AuthorizationServers) // in order: clients use the first
	if !m.RequireResourceAudience.IsNull() && !m.RequireResourceAudience.IsUnknown() && !m.RequireResourceAudience.ValueBool() {
		no := false
		api.RequireResourceAudience = &no
	}
	return b.diags
}

func protectedResourceFromWire(api *adminapi.API, prior protectedResourceModel) protectedResourceModel {
	m := protectedResourceModel{
		Resource:                stringFromWire(api.Resource, prior.Resource),
		ResourceName:            stringFromWire(api.ResourceName, prior.ResourceName),
		ResourceDocumentation:   stringFromWire(api.ResourceDocumentation, prior.ResourceDocumentation),
		ScopesSupported:         setFromWire(api.ScopesSupported, prior.ScopesSupported),
		AuthorizationServers:    types.ListNull(types.StringType),
		RequireResourceAudience: types.BoolValue(api.RequireResourceAudience == nil || *api.RequireResourceAudience),
	}
	if len(api.AuthorizationServers) > 0 {
		elems := make([]attr.Value, len(api.AuthorizationServers))
		for i, s := range api.AuthorizationServers {
			elems[i] = types.StringValue(s)
		}
		m.AuthorizationServers = types.ListValueMust(types.StringType, elems)
	}
	return m
}

// resourceUnknown reports whether the configuration's resource is known only after apply.
func resourceUnknown(ctx context.Context, cfg tfsdk.Config) bool {
	var v types.String
	cfg.GetAttribute(ctx, path.Root("resource"), &v)
	return v.IsUnknown()
}

// placeholderResource stands for a resource known only after apply, in the plan-time check:
// one that fits the API's listen path and hosts, so the check of everything else goes on.
func placeholderResource(api *adminapi.API) string {
	host := "placeholder.invalid"
	if len(api.Hosts) > 0 {
		host = adminapi.NormalizeHost(api.Hosts[0])
	}
	p := adminapi.NormalizeListenPath(api.ListenPath)
	if p == "/" {
		p = ""
	}
	return "https://" + host + p
}

func resourceURI() validator.String {
	return knownStringCheck{
		describedAs: "must be an absolute https URI without query or fragment (http only on a loopback host)",
		check: func(p path.Path, value string, diags *diag.Diagnostics) {
			if err := adminapi.CheckResource(value); err != nil {
				diags.AddAttributeError(p, "Invalid resource",
					strings.ToUpper(err.Error()[:1])+err.Error()[1:]+". The resource is the URI clients call the API by, "+
						"such as https://mcp.example.com/mcp.")
			}
		},
	}
}
