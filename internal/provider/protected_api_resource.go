package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/resourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/setdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

// The schema declares the defaults the gateway applies when a field is omitted (adminapi's),
// so that what the gateway answers never differs from the plan. The durations are spelled
// as the schema has always declared them.
var (
	defaultJWTLeeway = durationDefault(adminapi.DefaultLeeway)
	defaultCacheTTL  = durationDefault(adminapi.DefaultIntrospectionCacheTTL)
)

var (
	// headerNamePattern: an RFC 9110 field name (token).
	headerNamePattern = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
)

// NewProtectedAPIResource is the idpgate_protected_api resource: an API behind the gateway.
// It talks to the admin API as every gateway resource does (gateway_object.go), with a
// write-only introspection secret, and checks its route and keys at plan (ModifyPlan).
func NewProtectedAPIResource() resource.Resource {
	return &protectedAPIResource{newGatewayObject(&protectedAPIKind)}
}

var _ resource.ResourceWithConfigValidators = &protectedAPIResource{}

type protectedAPIResource struct {
	gatewayObject[protectedAPIModel, adminapi.API]
}

var protectedAPIKind = gatewayKind[protectedAPIModel, adminapi.API]{
	addWriteOnly: protectedAPIModel.addWriteOnlySecret,
	afterRead:    introspectionSecretFromWire,
	// The schema's validators say what is wrong when not exactly one of the two is set.
	checkable: func(cfg protectedAPIModel) bool { return (cfg.JWT == nil) != (cfg.Introspection == nil) },
	prepareCheck: func(ctx context.Context, config tfsdk.Config, api *adminapi.API) {
		if resourceUnknown(ctx, config) { // protected_resource.go
			api.Resource = placeholderResource(api)
		}
	},
	typeSuffix: "_protected_api", noun: "protected API", title: "Protected API", short: "API",
	schema: protectedAPISchema, fromWire: protectedAPIFromWire, validate: (*adminapi.API).Validate,
	create: (*adminapi.Client).CreateAPI, get: (*adminapi.Client).GetAPI,
	update: (*adminapi.Client).UpdateAPI, remove: (*adminapi.Client).DeleteAPI,
}

func protectedAPISchema() schema.Schema {
	jwtAttrs := map[string]schema.Attribute{
		"issuer": schema.StringAttribute{
			MarkdownDescription: "Expected `iss` of the tokens: the identity provider's issuer URL.",
			Required:            true,
		},
		"jwks_uri": schema.StringAttribute{
			MarkdownDescription: "Where the gateway fetches the issuer's signing keys (JWKS). Keys named in a token " +
				"(`jku`, `x5u`, embedded `jwk`) are never trusted.",
			Required: true,
		},
		"audiences": schema.SetAttribute{
			MarkdownDescription: "The token's `aud` must contain one of these. Unset: `aud` is not checked.",
			ElementType:         types.StringType,
			Optional:            true,
			Validators:          []validator.Set{setvalidator.ValueStringsAre(stringvalidator.LengthAtLeast(1))},
		},
		"allowed_algorithms": schema.SetAttribute{
			MarkdownDescription: fmt.Sprintf("JWS algorithms accepted (asymmetric only). Default `[%q]`.", adminapi.DefaultAlgorithm),
			ElementType:         types.StringType,
			Optional:            true,
			Computed:            true,
			Default: setdefault.StaticValue(types.SetValueMust(types.StringType,
				[]attr.Value{types.StringValue(adminapi.DefaultAlgorithm)})),
			Validators: []validator.Set{
				setvalidator.SizeAtLeast(1),
				setvalidator.ValueStringsAre(stringvalidator.OneOf(adminapi.AllowedAlgorithms...)),
			},
		},
		"leeway": schema.StringAttribute{
			MarkdownDescription: fmt.Sprintf("Clock skew tolerated on `exp`, `nbf` and `iat`, as a Go duration. Default `%s`, "+
				"at most `%s`; `0s` tolerates no skew at all.", defaultJWTLeeway, durationText(adminapi.MaxLeeway)),
			CustomType:    checkedDurationType{},
			Optional:      true,
			Computed:      true,
			Default:       stringdefault.StaticString(defaultJWTLeeway),
			PlanModifiers: []planmodifier.String{keepEquivalentDuration()},
		},
	}
	secretWO, secretWOVersion := writeOnlyAttributes("client_secret", "Secret of `client_id`",
		"the gateway (which keeps it until the version changes)")
	introspectionAttrs := map[string]schema.Attribute{
		"endpoint": schema.StringAttribute{
			MarkdownDescription: "The identity provider's RFC 7662 introspection endpoint.",
			Required:            true,
		},
		"client_id": schema.StringAttribute{
			MarkdownDescription: "Client the gateway authenticates as at the introspection endpoint.",
			Required:            true,
			Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
		},
		"client_secret": schema.StringAttribute{
			MarkdownDescription: "Secret of `client_id`, stored in the state; to keep it out, use `client_secret_wo`. " +
				"Exactly one of the two is set. The gateway never returns it, so a change made outside Terraform " +
				"cannot be detected, and an import leaves it unset until the next apply.",
			Optional:  true,
			Sensitive: true,
			Validators: []validator.String{stringvalidator.LengthAtLeast(1),
				stringvalidator.ExactlyOneOf(path.MatchRelative().AtParent().AtName("client_secret_wo"))},
		},
		"client_secret_wo":         secretWO,
		"client_secret_wo_version": secretWOVersion,
		"cache_ttl": schema.StringAttribute{
			MarkdownDescription: fmt.Sprintf("How long an `active` answer is reused (never past the token's `exp`), as a Go "+
				"duration. Default `%s`, at most `%s`; `0s` disables the cache.", defaultCacheTTL, durationText(adminapi.MaxCacheTTL)),
			CustomType:    checkedDurationType{},
			Optional:      true,
			Computed:      true,
			Default:       stringdefault.StaticString(defaultCacheTTL),
			PlanModifiers: []planmodifier.String{keepEquivalentDuration()},
		},
	}
	for name, a := range claimAttributes() {
		jwtAttrs[name] = a
		introspectionAttrs[name] = a
	}

	return gatewaySchema("An API behind the idpgate gateway: requests under `listen_path` carry a bearer token "+
		"from the identity provider, which the gateway checks (with the issuer's JWKS, or by introspection) "+
		"before proxying them to `upstream_url`. Which clients may call it is decided by `idpgate_access_policy`.",
		"Identifier the gateway assigned; access policies refer to the API by it.",
		"Unique name of the API.",
		map[string]schema.Attribute{
			"listen_path": schema.StringAttribute{
				MarkdownDescription: "Path prefix on the gateway, e.g. `/orders/`. The longest matching prefix wins. " +
					"Not under `" + adminapi.ReservedPathPrefix + "` (the gateway's own, where the decision endpoint lives), " +
					"without a backslash, a `;` or a segment ending in `.`.",
				Required: true,
			},
			"hosts": schema.SetAttribute{
				MarkdownDescription: "Serve this API only for requests to these hosts (the `Host` header, or `X-Forwarded-Host` " +
					"in a decision from a trusted proxy), compared without case or port, e.g. `[\"api.example.com\"]` (name " +
					"each without a port). A request " +
					"is matched first among the APIs naming its host, then among those naming none; within each, the longest " +
					"`listen_path` wins. Unset: every host. Two APIs may share a `listen_path` when their hosts do not overlap.",
				ElementType: types.StringType,
				Optional:    true,
				Validators:  []validator.Set{setvalidator.SizeAtLeast(1), setvalidator.ValueStringsAre(stringvalidator.LengthAtLeast(1))},
			},
			"upstream_url": schema.StringAttribute{
				MarkdownDescription: "Where allowed requests are proxied to.",
				Required:            true,
			},
			"strip_listen_path": schema.BoolAttribute{
				MarkdownDescription: "Remove `listen_path` from the request path before proxying. Default `false`.",
				Optional:            true,
				Computed:            true,
				Default:             booldefault.StaticBool(false),
			},
			"jwt": schema.SingleNestedAttribute{
				MarkdownDescription: "Check JWT access tokens locally with the issuer's keys. Exactly one of `jwt` and " +
					"`introspection` is set.",
				Optional:   true,
				Attributes: jwtAttrs,
			},
			"introspection": schema.SingleNestedAttribute{
				MarkdownDescription: "Check tokens (opaque or JWT) at the identity provider's RFC 7662 introspection " +
					"endpoint. Exactly one of `jwt` and `introspection` is set.",
				Optional:   true,
				Attributes: introspectionAttrs,
			},
			"forward_claims": schema.MapAttribute{
				MarkdownDescription: "Upstream request header => token claim whose value it carries, in addition to " +
					identityHeadersText() + ", which are always set. A header may not start with `" + adminapi.HeaderPrefix + "`.",
				ElementType: types.StringType,
				Optional:    true,
				Validators: []validator.Map{
					mapvalidator.KeysAre(stringvalidator.RegexMatches(headerNamePattern, "must be an HTTP header name")),
					mapvalidator.ValueStringsAre(stringvalidator.LengthAtLeast(1)),
				},
			},
			"sender_constraint": schema.StringAttribute{
				MarkdownDescription: "`none` (default), `dpop`, `mtls` or `dpop_or_mtls`: accept only access tokens bound to " +
					"their holder, so that a stolen token is useless without the client's key. `dpop`: bound to a key " +
					"([RFC 9449](https://www.rfc-editor.org/rfc/rfc9449)), each request carrying `Authorization: DPoP <token>` " +
					"and a `DPoP` proof made for its method and URL. `mtls`: bound to a client certificate " +
					"([RFC 8705](https://www.rfc-editor.org/rfc/rfc8705)), each request made over TLS to the gateway with that " +
					"certificate (`idpgate serve -tls-cert`). Whatever the setting, a token the identity provider bound to " +
					"its holder (`cnf`) is checked against its binding and never accepted as a plain Bearer token.",
				Optional:   true,
				Computed:   true,
				Default:    stringdefault.StaticString(adminapi.SenderConstraintNone),
				Validators: []validator.String{stringvalidator.OneOf(adminapi.SenderConstraints...)},
			},
			"resource": schema.StringAttribute{
				MarkdownDescription: "The API's canonical URI, as OAuth clients name it " +
					"([RFC 9728](https://www.rfc-editor.org/rfc/rfc9728), [RFC 8707](https://www.rfc-editor.org/rfc/rfc8707)), " +
					"e.g. `https://mcp.example.com/mcp`: https (http only on a loopback host), no query or fragment, its path " +
					"`listen_path` or below it, its host one of `hosts` when they are set. The gateway then serves the API's " +
					"protected resource metadata without a token at `/.well-known/oauth-protected-resource` followed by the " +
					"resource's path, on the resource's host; names that URL as `resource_metadata` in its 401 and " +
					"`insufficient_scope` challenges; and accepts only tokens whose `aud` contains the resource (besides one of " +
					"`audiences`), unless `require_resource_audience` is `false`. This is what Model Context Protocol clients " +
					"look for. Two APIs cannot claim one resource.",
				Optional:   true,
				Validators: []validator.String{resourceURI()},
			},
			"resource_name": schema.StringAttribute{
				MarkdownDescription: "Human-readable name of the resource, shown to users by clients (`resource_name` in the metadata).",
				Optional:            true,
				Validators:          []validator.String{stringvalidator.LengthBetween(1, adminapi.MaxNameLength)},
			},
			"resource_documentation": schema.StringAttribute{
				MarkdownDescription: "URL of the resource's documentation for developers (`resource_documentation` in the metadata).",
				Optional:            true,
				Validators:          []validator.String{absoluteURL()},
			},
			"scopes_supported": schema.SetAttribute{
				MarkdownDescription: "`scopes_supported` of the metadata. Unset: the `required_scopes` of the API and of every " +
					"access policy's grant of it. MCP clients using client credentials request these scopes, so list the " +
					"scopes a client needs and may be granted.",
				ElementType: types.StringType,
				Optional:    true,
				Validators: []validator.Set{setvalidator.SizeAtLeast(1), setvalidator.ValueStringsAre(stringvalidator.RegexMatches(
					scopeToken, "must be one scope: printable ASCII without spaces, quotes or backslashes"))},
			},
			"authorization_servers": schema.ListAttribute{
				MarkdownDescription: "`authorization_servers` of the metadata: the issuer URLs of the identity providers whose " +
					"tokens the API takes; clients use the first. Unset: `jwt.issuer`. Required with `introspection`.",
				ElementType: types.StringType,
				Optional:    true,
				Validators:  []validator.List{listvalidator.SizeAtLeast(1), listvalidator.ValueStringsAre(absoluteURL())},
			},
			"require_resource_audience": schema.BoolAttribute{
				MarkdownDescription: "Accept only tokens whose `aud` contains `resource`. Default `true`. Set `false` only for an " +
					"identity provider that cannot put the resource in `aud` (see the guide *An MCP server behind your IdP*): " +
					"then a token issued for another API of the same identity provider is accepted here too.",
				Optional: true,
				Computed: true,
				Default:  booldefault.StaticBool(true),
			},
			"cors": corsAttribute(),
			"conditions": conditionsAttribute("Every request to this API, whatever policy grants it, must meet these " +
				"(checked after the token, before the policies)."),
			"forward_override_headers": schema.BoolAttribute{
				MarkdownDescription: "Let `X-HTTP-Method-Override`, `X-HTTP-Method`, `X-Method-Override`, `X-Original-URL` " +
					"and `X-Rewrite-URL` reach the upstream, and requests with a `_method` query parameter through. " +
					"Default `false`: the gateway drops those headers and refuses (400) a `_method` parameter (Laravel, " +
					"Symfony and Rails read it as the method), because the access " +
					"policy decided on the request's own method and path, and an upstream that obeys them would act on " +
					"others (a `DELETE` through a `GET`-only grant). Turn it on only for an upstream that needs them and " +
					"whose every method and path the policies grant alike. A `_method` field in a form body is the " +
					"upstream's to ignore: see the [upstream paths guide](../guides/upstream-paths.md).",
				Optional: true,
				Computed: true,
				Default:  booldefault.StaticBool(false),
			},
			"path_normalization": schema.StringAttribute{
				MarkdownDescription: "What the gateway does with a request path that some upstream reads as another path: " +
					"an empty segment (`//`, also leading), a `;` (raw or `%3B`), a segment ending in `.` or a space " +
					"(raw, `%2E`, `%20`), or a character that Unicode NFKC folds into one of those (`%EF%BC%8F`, the " +
					"fullwidth solidus, is `/`). The path is looked up as sent and in its normal form, and the stricter " +
					"of the two APIs found decides. `" + adminapi.PathNormalizationReject + "` (default): refuse it (400). `" +
					adminapi.PathNormalizationNormalize + "`: decide on, and forward, the normal form (slashes merged, " +
					"`;` parameters and trailing dots and spaces cut from each segment, NFKC applied), as Envoy's " +
					"`merge_slashes` and `normalize_path` do. `" + adminapi.PathNormalizationKeep + "`: treat it as any " +
					"other path, for an upstream that gives those spellings no meaning. The names follow Envoy's " +
					"`path_with_escaped_slashes_action`. Which to choose per upstream: the " +
					"[upstream paths guide](../guides/upstream-paths.md).",
				Optional:   true,
				Computed:   true,
				Default:    stringdefault.StaticString(adminapi.PathNormalizationReject),
				Validators: []validator.String{stringvalidator.OneOf(adminapi.PathNormalizations...)},
			},
			"case_insensitive_paths": schema.BoolAttribute{
				MarkdownDescription: "The upstream reads paths without regard to case (IIS, ASP.NET): `listen_path` " +
					"(then lower case) and the access rights' path patterns (write them in lower case) are matched " +
					"against the lower-cased request path, which otherwise reaches the upstream as sent; a request " +
					"whose lower-cased path is another API's goes to this one when it is the longer match, or is refused " +
					"(400) when it reached this one. Default `false`.",
				Optional: true,
				Computed: true,
				Default:  booldefault.StaticBool(false),
			},
		})
}

// identityHeadersText names the headers the gateway always sets, for descriptions:
// "`A`, `B`, `C` and `D`".
func identityHeadersText() string {
	names := adminapi.IdentityHeaders()
	for i, h := range names {
		names[i] = "`" + h + "`"
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// claimAttributes are the identity and policy settings shared by jwt and introspection.
func claimAttributes() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"identity_claim": schema.StringAttribute{
			MarkdownDescription: fmt.Sprintf("Claim that identifies the caller (forwarded as `%s`). Default `%s`.",
				adminapi.HeaderSubject, adminapi.DefaultIdentityClaim),
			Optional:   true,
			Computed:   true,
			Default:    stringdefault.StaticString(adminapi.DefaultIdentityClaim),
			Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
		},
		"client_id_claim": schema.StringAttribute{
			MarkdownDescription: "Claim that carries the client id policies bind to. Unset: `client_id`, then `cid`, then `azp`.",
			Optional:            true,
			Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
		},
		"policy_claim": schema.StringAttribute{
			MarkdownDescription: "Claim whose value (a string or a list) names access policies by id or name, as " +
				"Tyk's `pol`. Default `" + adminapi.DefaultPolicyClaim + "`.",
			Optional:   true,
			Computed:   true,
			Default:    stringdefault.StaticString(adminapi.DefaultPolicyClaim),
			Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
		},
		"required_scopes": schema.SetAttribute{
			MarkdownDescription: "Scopes every token must carry to reach this API at all.",
			ElementType:         types.StringType,
			Optional:            true,
			Validators:          []validator.Set{setvalidator.ValueStringsAre(stringvalidator.LengthAtLeast(1))},
		},
	}
}

func (r *protectedAPIResource) ConfigValidators(context.Context) []resource.ConfigValidator {
	return []resource.ConfigValidator{
		resourcevalidator.ExactlyOneOf(path.MatchRoot("jwt"), path.MatchRoot("introspection")),
	}
}

// introspectionSecretFromWire: the gateway never returns the introspection secret, but it says
// whether one is set: a secret removed out of band is drift that the next apply repairs.
func introspectionSecretFromWire(next *protectedAPIModel, api *adminapi.API) {
	if next.Introspection != nil && api.Introspection != nil && !api.Introspection.ClientSecretSet {
		next.Introspection.ClientSecret = types.StringNull()
		// A write-only secret cannot be compared; forgetting its version makes the next plan send it again.
		next.Introspection.SecretVersion = types.Int64Null()
	}
}

// protectedAPIModel is the resource's state.
type protectedAPIModel struct {
	Timeouts               timeouts.Value      `tfsdk:"timeouts"`
	ID                     types.String        `tfsdk:"id"`
	Name                   types.String        `tfsdk:"name"`
	ListenPath             types.String        `tfsdk:"listen_path"`
	UpstreamURL            types.String        `tfsdk:"upstream_url"`
	StripListenPath        types.Bool          `tfsdk:"strip_listen_path"`
	JWT                    *jwtValidationModel `tfsdk:"jwt"`
	Introspection          *introspectionModel `tfsdk:"introspection"`
	ForwardClaims          types.Map           `tfsdk:"forward_claims"`
	ForwardOverrideHeaders types.Bool          `tfsdk:"forward_override_headers"`
	Hosts                  types.Set           `tfsdk:"hosts"`
	SenderConstraint       types.String        `tfsdk:"sender_constraint"`
	PathNormalization      types.String        `tfsdk:"path_normalization"`
	CaseInsensitivePaths   types.Bool          `tfsdk:"case_insensitive_paths"`
	Conditions             types.List          `tfsdk:"conditions"`
	CORS                   *corsModel          `tfsdk:"cors"`
	protectedResourceModel
}

// protectedResourceModel is the RFC 9728 / RFC 8707 part of protectedAPIModel.
type protectedResourceModel struct {
	Resource                types.String `tfsdk:"resource"`
	ResourceName            types.String `tfsdk:"resource_name"`
	ResourceDocumentation   types.String `tfsdk:"resource_documentation"`
	ScopesSupported         types.Set    `tfsdk:"scopes_supported"`
	AuthorizationServers    types.List   `tfsdk:"authorization_servers"`
	RequireResourceAudience types.Bool   `tfsdk:"require_resource_audience"`
}

type jwtValidationModel struct {
	Issuer            types.String         `tfsdk:"issuer"`
	JWKSURI           types.String         `tfsdk:"jwks_uri"`
	Audiences         types.Set            `tfsdk:"audiences"`
	AllowedAlgorithms types.Set            `tfsdk:"allowed_algorithms"`
	Leeway            checkedDurationValue `tfsdk:"leeway"`
	claimsModel
}

type introspectionModel struct {
	Endpoint       types.String         `tfsdk:"endpoint"`
	ClientID       types.String         `tfsdk:"client_id"`
	ClientSecret   types.String         `tfsdk:"client_secret"`
	ClientSecretWO types.String         `tfsdk:"client_secret_wo"` // always null: write-only
	SecretVersion  types.Int64          `tfsdk:"client_secret_wo_version"`
	CacheTTL       checkedDurationValue `tfsdk:"cache_ttl"`
	claimsModel
}

// claimsModel is the part of jwt and introspection that claimAttributes declares.
type claimsModel struct {
	IdentityClaim  types.String `tfsdk:"identity_claim"`
	ClientIDClaim  types.String `tfsdk:"client_id_claim"`
	PolicyClaim    types.String `tfsdk:"policy_claim"`
	RequiredScopes types.Set    `tfsdk:"required_scopes"`
}

// claimsFromWire reads the claim settings of the gateway's jwt or introspection; an omitted
// claim name is the default.
func claimsFromWire(identityClaim, clientIDClaim, policyClaim string, requiredScopes []string,
	prior claimsModel) claimsModel {
	return claimsModel{
		IdentityClaim:  types.StringValue(orDefaultString(identityClaim, adminapi.DefaultIdentityClaim)),
		ClientIDClaim:  stringFromWire(clientIDClaim, prior.ClientIDClaim),
		PolicyClaim:    types.StringValue(orDefaultString(policyClaim, adminapi.DefaultPolicyClaim)),
		RequiredScopes: setFromWire(requiredScopes, prior.RequiredScopes),
	}
}

func (m protectedAPIModel) common() gatewayModelCommon {
	return gatewayModelCommon{Timeouts: m.Timeouts, ID: m.ID, Name: m.Name}
}

// toWire builds the admin API body. Null optional values are omitted, so the gateway applies
// its defaults (the same ones the schema declares).
func (m protectedAPIModel) toWire(ctx context.Context) (adminapi.API, diag.Diagnostics) {
	b := wireBody{ctx: ctx}
	api := adminapi.API{
		Name:                   m.Name.ValueString(),
		ListenPath:             m.ListenPath.ValueString(),
		UpstreamURL:            m.UpstreamURL.ValueString(),
		StripListenPath:        m.StripListenPath.ValueBool(),
		ForwardOverrideHeaders: m.ForwardOverrideHeaders.ValueBool(),
		SenderConstraint:       m.SenderConstraint.ValueString(),
		PathNormalization:      m.PathNormalization.ValueString(),
		CaseInsensitivePaths:   m.CaseInsensitivePaths.ValueBool(),
		Hosts:                  b.strings(m.Hosts),
		Conditions:             b.list(m.Conditions),
		CORS:                   m.CORS.toWire(&b),
	}
	if !m.ForwardClaims.IsNull() && !m.ForwardClaims.IsUnknown() {
		b.diags.Append(m.ForwardClaims.ElementsAs(ctx, &api.ForwardClaims, false)...)
	}
	b.diags.Append(m.protectedResourceModel.toWire(ctx, &api)...)
	if j := m.JWT; j != nil {
		api.JWT = &adminapi.JWTValidation{
			Issuer:            j.Issuer.ValueString(),
			JWKSURI:           j.JWKSURI.ValueString(),
			IdentityClaim:     stringToWire(j.IdentityClaim),
			ClientIDClaim:     stringToWire(j.ClientIDClaim),
			PolicyClaim:       stringToWire(j.PolicyClaim),
			Audiences:         b.strings(j.Audiences),
			AllowedAlgorithms: b.strings(j.AllowedAlgorithms),
			RequiredScopes:    b.strings(j.RequiredScopes),
			Leeway:            b.optionalDuration(j.Leeway),
		}
	}
	if in := m.Introspection; in != nil {
		api.Introspection = &adminapi.Introspection{
			Endpoint:       in.Endpoint.ValueString(),
			ClientID:       in.ClientID.ValueString(),
			ClientSecret:   in.ClientSecret.ValueString(),
			IdentityClaim:  stringToWire(in.IdentityClaim),
			ClientIDClaim:  stringToWire(in.ClientIDClaim),
			PolicyClaim:    stringToWire(in.PolicyClaim),
			RequiredScopes: b.strings(in.RequiredScopes),
			CacheTTL:       b.optionalDuration(in.CacheTTL),
		}
	}
	return api, b.diags
}

// addWriteOnlySecret puts introspection.client_secret_wo into api when it is to be sent: on
// create (state nil), and on update when client_secret_wo_version changed. Otherwise the
// body carries no secret and the gateway keeps the one it holds.
func (m protectedAPIModel) addWriteOnlySecret(ctx context.Context, config tfsdk.Config, api *adminapi.API,
	state *protectedAPIModel) diag.Diagnostics {
	if m.Introspection == nil || api.Introspection == nil {
		return nil
	}
	stateVersion := types.Int64Null()
	if state != nil && state.Introspection != nil {
		stateVersion = state.Introspection.SecretVersion
	}
	secret, send, diags := writeOnlyToSend(ctx, config, path.Root("introspection").AtName("client_secret_wo"),
		state == nil, m.Introspection.SecretVersion, stateVersion)
	if send {
		api.Introspection.ClientSecret = secret
	}
	return diags
}

// protectedAPIFromWire maps the gateway's answer to state. prior (the plan or the previous
// state; its fields may be null after an import) supplies what the gateway does not return
// or spells differently: the introspection secret, empty collections, duration spellings.
func protectedAPIFromWire(api *adminapi.API, prior *protectedAPIModel) protectedAPIModel {
	if prior == nil {
		prior = &protectedAPIModel{}
	}
	m := protectedAPIModel{
		ID:                     types.StringValue(api.ID),
		Name:                   types.StringValue(api.Name),
		ListenPath:             listenPathFromWire(api.ListenPath, prior.ListenPath),
		UpstreamURL:            types.StringValue(api.UpstreamURL),
		StripListenPath:        types.BoolValue(api.StripListenPath),
		ForwardClaims:          mapFromWire(api.ForwardClaims, prior.ForwardClaims),
		ForwardOverrideHeaders: types.BoolValue(api.ForwardOverrideHeaders),
		Hosts:                  setFromWire(api.Hosts, prior.Hosts),
		SenderConstraint:       types.StringValue(senderConstraintFromWire(api.SenderConstraint)),
		PathNormalization:      types.StringValue(orDefaultString(api.PathNormalization, adminapi.PathNormalizationReject)),
		CaseInsensitivePaths:   types.BoolValue(api.CaseInsensitivePaths),
		Conditions:             listFromWire(api.Conditions, prior.Conditions),
		CORS:                   corsFromWire(api.CORS, prior.CORS),
		Timeouts:               timeoutsOrNull(prior.Timeouts),
		protectedResourceModel: protectedResourceFromWire(api, prior.protectedResourceModel),
	}
	if w := api.JWT; w != nil {
		p := prior.JWT
		if p == nil {
			p = &jwtValidationModel{}
		}
		m.JWT = &jwtValidationModel{
			Issuer:            types.StringValue(w.Issuer),
			JWKSURI:           types.StringValue(w.JWKSURI),
			Audiences:         setFromWire(w.Audiences, p.Audiences),
			AllowedAlgorithms: setFromWire(orDefault(w.AllowedAlgorithms, adminapi.DefaultAlgorithm), p.AllowedAlgorithms),
			Leeway:            durationFromWire(leewayFromWire(w.Leeway), p.Leeway, false),
			claimsModel:       claimsFromWire(w.IdentityClaim, w.ClientIDClaim, w.PolicyClaim, w.RequiredScopes, p.claimsModel),
		}
	}
	if w := api.Introspection; w != nil {
		p := prior.Introspection
		if p == nil {
			p = &introspectionModel{ClientSecret: types.StringNull(), SecretVersion: types.Int64Null()}
		}
		ttl := adminapi.DefaultIntrospectionCacheTTL
		if w.CacheTTL != nil {
			ttl = w.CacheTTL.D()
		}
		m.Introspection = &introspectionModel{
			Endpoint:       types.StringValue(w.Endpoint),
			ClientID:       types.StringValue(w.ClientID),
			ClientSecret:   p.ClientSecret,
			ClientSecretWO: types.StringNull(),
			SecretVersion:  p.SecretVersion,
			CacheTTL:       durationFromWire(ttl, p.CacheTTL, false),
			claimsModel:    claimsFromWire(w.IdentityClaim, w.ClientIDClaim, w.PolicyClaim, w.RequiredScopes, p.claimsModel),
		}
	}
	return m
}

// listenPathFromWire keeps the user's spelling when the gateway normalized it ("/orders/"
// is routed as "/orders").
func listenPathFromWire(wire string, prior types.String) types.String {
	if !prior.IsNull() && !prior.IsUnknown() &&
		adminapi.NormalizeListenPath(prior.ValueString()) == adminapi.NormalizeListenPath(wire) {
		return prior
	}
	return types.StringValue(wire)
}

// leewayFromWire reads the gateway's leeway: none given is the default, 0s is no leeway.
func leewayFromWire(d *adminapi.Duration) time.Duration {
	if d == nil {
		return adminapi.DefaultLeeway
	}
	return d.D()
}

// senderConstraintFromWire spells the gateway's default ("") as the schema's default.
func senderConstraintFromWire(v string) string {
	if v == "" {
		return adminapi.SenderConstraintNone
	}
	return v
}
