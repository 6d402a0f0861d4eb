package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
)

// providerDataSource is what every data source embeds: its type name, and the provider's data
// that Configure hands it.
type providerDataSource struct {
	typeSuffix string // after the provider's type name: "_access_decision"
	data       *providerData
}

func (d *providerDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + d.typeSuffix
}

func (d *providerDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = configuredData(req.ProviderData, &resp.Diagnostics)
}
