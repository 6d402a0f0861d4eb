package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-jsontypes/jsontypes"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/idpgate/terraform-provider-idpgate/internal/dcr"
)

var (
	_ datasource.DataSource              = &openIDConfigurationDataSource{}
	_ datasource.DataSourceWithConfigure = &openIDConfigurationDataSource{}
)

// NewOpenIDConfigurationDataSource is the idpgate_openid_configuration data source: an
// issuer's discovery document, e.g. to feed the gateway's jwks_uri.
func NewOpenIDConfigurationDataSource() datasource.DataSource {
	return &openIDConfigurationDataSource{providerDataSource{typeSuffix: "_openid_configuration"}}
}

type openIDConfigurationDataSource struct{ providerDataSource }

type openIDConfigurationModel struct {
	Issuer                            types.String         `tfsdk:"issuer"`
	DocumentURL                       types.String         `tfsdk:"document_url"`
	AuthorizationEndpoint             types.String         `tfsdk:"authorization_endpoint"`
	TokenEndpoint                     types.String         `tfsdk:"token_endpoint"`
	JWKSURI                           types.String         `tfsdk:"jwks_uri"`
	RegistrationEndpoint              types.String         `tfsdk:"registration_endpoint"`
	IntrospectionEndpoint             types.String         `tfsdk:"introspection_endpoint"`
	RevocationEndpoint                types.String         `tfsdk:"revocation_endpoint"`
	UserinfoEndpoint                  types.String         `tfsdk:"userinfo_endpoint"`
	EndSessionEndpoint                types.String         `tfsdk:"end_session_endpoint"`
	ScopesSupported                   types.List           `tfsdk:"scopes_supported"`
	ResponseTypesSupported            types.List           `tfsdk:"response_types_supported"`
	GrantTypesSupported               types.List           `tfsdk:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported types.List           `tfsdk:"token_endpoint_auth_methods_supported"`
	IDTokenSigningAlgValuesSupported  types.List           `tfsdk:"id_token_signing_alg_values_supported"`
	CodeChallengeMethodsSupported     types.List           `tfsdk:"code_challenge_methods_supported"`
	Document                          jsontypes.Normalized `tfsdk:"document"`
}

func (d *openIDConfigurationDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	str := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{MarkdownDescription: desc, Computed: true}
	}
	list := func(desc string) schema.ListAttribute {
		return schema.ListAttribute{MarkdownDescription: desc, Computed: true, ElementType: types.StringType}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "An identity provider's discovery document (OpenID Connect Discovery, falling back to " +
			"RFC 8414 authorization server metadata). The document's issuer must equal the one asked for.",
		Attributes: map[string]schema.Attribute{
			"issuer": schema.StringAttribute{
				MarkdownDescription: "Issuer to discover. Defaults to the provider's `issuer`.",
				Optional:            true,
				Computed:            true,
				Validators:          []validator.String{absoluteURL()},
			},
			"document_url":                          str("Where the document was found."),
			"authorization_endpoint":                str("The authorization endpoint."),
			"token_endpoint":                        str("The token endpoint."),
			"jwks_uri":                              str("The JSON Web Key Set of the issuer's signing keys."),
			"registration_endpoint":                 str("The dynamic client registration endpoint (RFC 7591), if offered."),
			"introspection_endpoint":                str("The token introspection endpoint (RFC 7662), if offered."),
			"revocation_endpoint":                   str("The token revocation endpoint (RFC 7009), if offered."),
			"userinfo_endpoint":                     str("The OpenID Connect userinfo endpoint, if offered."),
			"end_session_endpoint":                  str("The OpenID Connect end-session endpoint, if offered."),
			"scopes_supported":                      list("Scopes the issuer supports."),
			"response_types_supported":              list("Response types the issuer supports."),
			"grant_types_supported":                 list("Grant types the issuer supports."),
			"token_endpoint_auth_methods_supported": list("Client authentication methods of the token endpoint."),
			"id_token_signing_alg_values_supported": list("Signing algorithms of ID tokens."),
			"code_challenge_methods_supported":      list("PKCE code challenge methods."),
			"document": schema.StringAttribute{
				MarkdownDescription: "The whole document as JSON, for fields without an attribute (use `jsondecode`).",
				CustomType:          jsontypes.NormalizedType{},
				Computed:            true,
			},
		},
	}
}

func (d *openIDConfigurationDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var cfg openIDConfigurationModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	issuer := cfg.Issuer.ValueString()
	if issuer == "" && d.data != nil && d.data.IdP != nil {
		issuer = d.data.IdP.Issuer
	}
	if issuer == "" {
		resp.Diagnostics.AddAttributeError(path.Root("issuer"), "Missing issuer",
			"Set issuer in this data source, or issuer (IDPGATE_ISSUER) in the provider block.")
		return
	}
	var httpCfg dcr.Config
	if d.data != nil {
		httpCfg.HTTPClient, httpCfg.MaxRetries = d.data.HTTPClient, d.data.MaxRetries
	}
	httpCfg.Issuer, httpCfg.Logger = issuer, dcrLogger
	client, err := dcr.New(httpCfg)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("issuer"), "Invalid issuer", err.Error())
		return
	}
	doc, err := client.Discover(ctx)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("issuer"), "Discovery failed",
			fmt.Sprintf("Could not read the discovery document of %s. Check the issuer URL: it must be exactly the "+
				"identity provider's issuer (e.g. https://keycloak.example.com/realms/NAME). Underlying error: %v", issuer, err))
		return
	}

	list := func(v []string) types.List {
		l, d := types.ListValueFrom(ctx, types.StringType, v)
		resp.Diagnostics.Append(d...)
		return l
	}
	state := openIDConfigurationModel{
		Issuer:                            types.StringValue(issuer),
		DocumentURL:                       types.StringValue(doc.DocumentURL),
		AuthorizationEndpoint:             optionalString(doc.AuthorizationEndpoint),
		TokenEndpoint:                     optionalString(doc.TokenEndpoint),
		JWKSURI:                           optionalString(doc.JWKSURI),
		RegistrationEndpoint:              optionalString(doc.RegistrationEndpoint),
		IntrospectionEndpoint:             optionalString(doc.IntrospectionEndpoint),
		RevocationEndpoint:                optionalString(doc.RevocationEndpoint),
		UserinfoEndpoint:                  optionalString(doc.UserinfoEndpoint),
		EndSessionEndpoint:                optionalString(doc.EndSessionEndpoint),
		ScopesSupported:                   list(doc.ScopesSupported),
		ResponseTypesSupported:            list(doc.ResponseTypesSupported),
		GrantTypesSupported:               list(doc.GrantTypesSupported),
		TokenEndpointAuthMethodsSupported: list(doc.TokenEndpointAuthMethodsSupported),
		IDTokenSigningAlgValuesSupported:  list(doc.IDTokenSigningAlgValuesSupported),
		CodeChallengeMethodsSupported:     list(doc.CodeChallengeMethodsSupported),
		Document:                          jsontypes.NewNormalizedValue(string(doc.Raw)),
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}
