// Package provider is the Terraform glue of idpgate: the provider, its resources and data
// sources. The protocols live in internal/dcr and internal/adminapi; this package only maps
// Terraform values to them and back.
package provider

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/float64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/dcr"
)

const (
	defaultMaxRetries     = 4
	defaultRequestTimeout = 30 * time.Second
)

var (
	_ provider.Provider                       = &idpgateProvider{}
	_ provider.ProviderWithEphemeralResources = &idpgateProvider{}
)

// New returns a constructor of the provider, as providerserver.Serve wants it.
func New(version, commit string) func() provider.Provider {
	return func() provider.Provider {
		return &idpgateProvider{version: version, commit: commit}
	}
}

type idpgateProvider struct {
	version string
	commit  string
}

// providerModel is the provider block.
type providerModel struct {
	Issuer               types.String         `tfsdk:"issuer"`
	IdPDriver            types.String         `tfsdk:"idp_driver"`
	InitialAccessToken   types.String         `tfsdk:"initial_access_token"`
	RegistrationEndpoint types.String         `tfsdk:"registration_endpoint"`
	GatewayURL           types.String         `tfsdk:"gateway_url"`
	GatewayAdminToken    types.String         `tfsdk:"gateway_admin_token"`
	MaxRetries           types.Int64          `tfsdk:"max_retries"`
	RequestTimeout       checkedDurationValue `tfsdk:"request_timeout"`
	CABundle             types.String         `tfsdk:"ca_bundle"`
	GatewayCABundle      types.String         `tfsdk:"gateway_ca_bundle"`
	GatewayClientCert    types.String         `tfsdk:"gateway_client_cert"`
	GatewayClientKey     types.String         `tfsdk:"gateway_client_key"`
	MaxRequestsPerSecond types.Float64        `tfsdk:"max_requests_per_second"`
	MaxConcurrent        types.Int64          `tfsdk:"max_concurrent_requests"`
	PlanChecks           types.Bool           `tfsdk:"plan_checks"`
}

func (p *idpgateProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "idpgate"
	resp.Version = p.version
}

func (p *idpgateProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Registers OAuth 2.0 / OpenID Connect clients at an identity provider through " +
			"Dynamic Client Registration (RFC 7591/7592) and configures the idpgate API gateway. " +
			"The identity-provider half and the gateway half are each optional.",
		Attributes: map[string]schema.Attribute{
			"issuer": schema.StringAttribute{
				MarkdownDescription: "Issuer URL of the identity provider. The registration endpoint is discovered from " +
					"`/.well-known/openid-configuration`, falling back to `/.well-known/oauth-authorization-server`. " +
					"Environment variable: `IDPGATE_ISSUER`.",
				Optional: true, // checked with IDPGATE_ISSUER, in Configure, in the same words
			},
			"idp_driver": schema.StringAttribute{
				MarkdownDescription: "How to talk to the identity provider: `generic` (plain RFC 7591/7592, the default), " +
					"`okta`, `keycloak` or `hydra`. Environment variable: `IDPGATE_IDP_DRIVER`.",
				Optional:   true,
				Validators: []validator.String{stringvalidator.OneOf(dcr.Drivers...)},
			},
			"initial_access_token": schema.StringAttribute{
				MarkdownDescription: "Token that authorizes registration: an RFC 7591 initial access token (Keycloak, " +
					"generic IdPs that require one) or, with the `okta` driver, an Okta API token (sent as `SSWS`). " +
					"Environment variable: `IDPGATE_INITIAL_ACCESS_TOKEN`.",
				Optional:  true,
				Sensitive: true,
			},
			"registration_endpoint": schema.StringAttribute{
				MarkdownDescription: "Registration endpoint to use instead of the discovered one. " +
					"Environment variable: `IDPGATE_REGISTRATION_ENDPOINT`.",
				Optional:   true,
				Validators: []validator.String{absoluteURL()},
			},
			"gateway_url": schema.StringAttribute{
				MarkdownDescription: "Base URL of the idpgate gateway's admin API, e.g. `http://127.0.0.1:8081`, or " +
					"`https://gateway.internal:8081` when the admin listener has a certificate (`idpgate serve --admin-tls-cert` " +
					"or `--tls-cert`). Environment variable: `IDPGATE_GATEWAY_URL`.",
				Optional:   true,
				Validators: []validator.String{absoluteURL()},
			},
			"gateway_admin_token": schema.StringAttribute{
				MarkdownDescription: "Token of the gateway's admin API (the gateway's `IDPGATE_ADMIN_TOKEN`). " +
					"Environment variable: `IDPGATE_GATEWAY_ADMIN_TOKEN`.",
				Optional:  true,
				Sensitive: true,
			},
			"max_retries": schema.Int64Attribute{
				MarkdownDescription: "How many times a call answered with 429 or 5xx is retried, with backoff and jitter " +
					"(default `4`). Environment variable: `IDPGATE_MAX_RETRIES`.",
				Optional:   true,
				Validators: []validator.Int64{int64validator.Between(0, 20)},
			},
			"max_requests_per_second": schema.Float64Attribute{
				MarkdownDescription: "Most requests a second sent to the identity provider, shared by every resource, data " +
					"source and ephemeral resource of this provider block; retries and discovery count too, and requests are " +
					"spaced evenly, without bursts. Set it under the IdP's documented limit for its registration and token " +
					"endpoints, so that an apply of hundreds of clients is not answered with 429s (which are still retried). " +
					"Fractions are allowed (`0.5`: one request every two seconds). Default: no cap. " +
					"Environment variable: `IDPGATE_MAX_REQUESTS_PER_SECOND`.",
				Optional:   true,
				Validators: []validator.Float64{float64validator.Between(minRequestsPerSecond, maxRequestsPerSecond)},
			},
			"max_concurrent_requests": schema.Int64Attribute{
				MarkdownDescription: "Most requests in flight to the identity provider at once, shared like " +
					"`max_requests_per_second`, for IdPs that limit concurrent calls. Default: no cap (terraform's " +
					"`-parallelism`, 10, bounds it). Environment variable: `IDPGATE_MAX_CONCURRENT_REQUESTS`.",
				Optional:   true,
				Validators: []validator.Int64{int64validator.Between(1, maxConcurrentRequests)},
			},
			"request_timeout": schema.StringAttribute{
				MarkdownDescription: "Timeout of one HTTP call, as a Go duration (default `30s`). " +
					"Environment variable: `IDPGATE_REQUEST_TIMEOUT`.",
				Optional:   true,
				CustomType: checkedDurationType{},
			},
			"ca_bundle": schema.StringAttribute{
				MarkdownDescription: "PEM certificates to trust, in addition to the system's, for the IdP and the gateway: the " +
					"PEM text itself, e.g. `file(\"ca.pem\")`, not a path. Environment variable: `IDPGATE_CA_BUNDLE`.",
				Optional: true,
			},
			"gateway_ca_bundle": schema.StringAttribute{
				MarkdownDescription: "PEM certificates to trust, in addition to the system's and `ca_bundle`, for an `https://` " +
					"`gateway_url`: the CA that issued the admin listener's certificate, as PEM text (e.g. `file(\"gateway-ca.pem\")`), " +
					"not a path. Environment variable: `IDPGATE_GATEWAY_CA_BUNDLE`.",
				Optional: true,
			},
			"gateway_client_cert": schema.StringAttribute{
				MarkdownDescription: "PEM client certificate (chain included) presented to the gateway's admin listener, for a " +
					"gateway started with `--admin-client-ca`; requires `gateway_client_key`. The admin token is still sent. " +
					"Environment variable: `IDPGATE_GATEWAY_CLIENT_CERT`.",
				Optional: true,
			},
			"gateway_client_key": schema.StringAttribute{
				MarkdownDescription: "PEM private key of `gateway_client_cert`. Environment variable: `IDPGATE_GATEWAY_CLIENT_KEY`.",
				Optional:            true,
				Sensitive:           true,
			},
			"plan_checks": schema.BoolAttribute{
				MarkdownDescription: "Whether plans compare each `idpgate_dcr_client` with the issuer's discovery document and " +
					"each `idpgate_protected_api`'s `jwt` settings with the issuer's JWKS (default `true`): a value the IdP " +
					"lists otherwise is an error at plan, one it does not advertise or an IdP that cannot be reached a " +
					"warning. Likewise `idpgate_protected_api` and `idpgate_access_policy` are checked with the gateway: the admin " +
					"token, that `gateway_url` is the admin listener, that an `api_id` names an API and that a `listen_path` " +
					"is not held by another API. Each document is fetched once per run. `false` plans without asking the " +
					"IdP or the gateway. " +
					"Environment variable: `IDPGATE_PLAN_CHECKS`.",
				Optional: true,
			},
		},
	}
}

// Configure resolves every setting from the block, then the environment, and hands the
// resources a providerData. Values unknown at plan time leave the halves unconfigured; the
// resources say so only when they actually need them.
func (p *idpgateProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var cfg providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}

	data := &providerData{}
	settings := resolveSettings(cfg)
	for _, s := range []*setting{&settings.issuer, &settings.driver, &settings.initialAccessToken, &settings.registrationEndpoint,
		&settings.gatewayURL, &settings.gatewayAdminToken, &settings.maxRetries, &settings.requestTimeout, &settings.caBundle,
		&settings.gatewayCABundle, &settings.gatewayClientCert, &settings.gatewayClientKey, &settings.maxRequestsPerSecond,
		&settings.maxConcurrent} {
		if s.unknown {
			tflog.Debug(ctx, "provider setting unknown until apply", map[string]any{"attribute": s.attribute})
			data.unknown = true
		}
	}
	// No credential is masked here: a mask lives on one request's context, and nothing in
	// Configure logs a value. Each resource masks the credentials it holds (maskCredentials)
	// on the context of the call that could log them; TestAccSecretsNeverLogged checks it.

	httpClient, diags := settings.httpClient()
	resp.Diagnostics.Append(diags...)
	gatewayHTTPClient, diags := settings.gatewayHTTPClient(httpClient.Timeout)
	resp.Diagnostics.Append(diags...)
	maxRetries, diags := settings.retries()
	resp.Diagnostics.Append(diags...)
	requestCap, diags := settings.requestCap()
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	if requestCap != nil {
		// Every call to the IdP, from every resource of this provider instance, waits its turn.
		httpClient = requestCap.Client(httpClient.Transport, httpClient.Timeout)
	}

	data.HTTPClient, data.MaxRetries = httpClient, maxRetries
	checks, diags := settings.planChecksOn()
	resp.Diagnostics.Append(diags...)
	if checks {
		data.planChecks = newPlanChecks(settings.issuer.value, httpClient) // plan_checks.go
	}
	if settings.issuer.value != "" || settings.registrationEndpoint.value != "" {
		data.IdP = &idpSettings{
			Issuer:               settings.issuer.value,
			Driver:               settings.driver.valueOr(dcr.DriverGeneric),
			InitialAccessToken:   settings.initialAccessToken.value,
			RegistrationEndpoint: settings.registrationEndpoint.value,
			HTTPClient:           httpClient,
			MaxRetries:           maxRetries,
		}
		resp.Diagnostics.Append(data.IdP.validate()...)
		if !resp.Diagnostics.HasError() {
			resp.Diagnostics.Append(data.IdP.connect(settings.issuer, settings.driver, "terraform-provider-idpgate/"+p.version)...)
		}
	}

	if settings.gatewayURL.value != "" {
		if settings.gatewayAdminToken.value == "" && !settings.gatewayAdminToken.unknown {
			resp.Diagnostics.AddAttributeError(path.Root("gateway_admin_token"), "Missing gateway admin token",
				"gateway_url is set but no admin token is: set gateway_admin_token in the provider block or the "+
					"IDPGATE_GATEWAY_ADMIN_TOKEN environment variable to the gateway's IDPGATE_ADMIN_TOKEN.")
		} else if settings.gatewayAdminToken.value != "" {
			client, err := adminapi.NewClient(settings.gatewayURL.value, settings.gatewayAdminToken.value, gatewayHTTPClient)
			if err != nil {
				resp.Diagnostics.AddAttributeError(path.Root("gateway_url"), "Invalid gateway URL",
					"Set gateway_url (or IDPGATE_GATEWAY_URL) to the gateway's admin address: "+err.Error())
			}
			data.Gateway = client
		}
	}
	if resp.Diagnostics.HasError() {
		return
	}

	resp.DataSourceData = data
	resp.ResourceData = data
	resp.EphemeralResourceData = data
}

func (p *idpgateProvider) Resources(_ context.Context) []func() resource.Resource {
	return []func() resource.Resource{NewDCRClientResource, NewProtectedAPIResource, NewAccessPolicyResource}
}

func (p *idpgateProvider) DataSources(_ context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{NewOpenIDConfigurationDataSource, NewAccessDecisionDataSource}
}

func (p *idpgateProvider) EphemeralResources(_ context.Context) []func() ephemeral.EphemeralResource {
	return []func() ephemeral.EphemeralResource{NewAccessTokenEphemeralResource}
}

// setting is one provider attribute resolved from the block or its environment variable.
type setting struct {
	attribute string
	envVar    string
	value     string
	unknown   bool
}

func (s setting) valueOr(def string) string {
	if s.value == "" {
		return def
	}
	return s.value
}

type resolvedSettings struct {
	issuer, driver, initialAccessToken, registrationEndpoint setting
	gatewayURL, gatewayAdminToken                            setting
	maxRetries, requestTimeout, caBundle                     setting
	gatewayCABundle, gatewayClientCert, gatewayClientKey     setting
	planChecks                                               setting
	maxRequestsPerSecond, maxConcurrent                      setting
}

func resolveSettings(cfg providerModel) resolvedSettings {
	str := func(attr, env string, v types.String) setting {
		s := setting{attribute: attr, envVar: env, unknown: v.IsUnknown()}
		if !v.IsNull() && !v.IsUnknown() {
			s.value = v.ValueString()
		} else if !v.IsUnknown() {
			s.value = os.Getenv(env)
		}
		return s
	}
	retries := setting{attribute: "max_retries", envVar: "IDPGATE_MAX_RETRIES", unknown: cfg.MaxRetries.IsUnknown()}
	if !cfg.MaxRetries.IsNull() && !cfg.MaxRetries.IsUnknown() {
		retries.value = strconv.FormatInt(cfg.MaxRetries.ValueInt64(), 10)
	} else if !retries.unknown {
		retries.value = os.Getenv(retries.envVar)
	}
	perSecond := setting{attribute: "max_requests_per_second", envVar: "IDPGATE_MAX_REQUESTS_PER_SECOND",
		unknown: cfg.MaxRequestsPerSecond.IsUnknown()}
	if !cfg.MaxRequestsPerSecond.IsNull() && !cfg.MaxRequestsPerSecond.IsUnknown() {
		perSecond.value = strconv.FormatFloat(cfg.MaxRequestsPerSecond.ValueFloat64(), 'g', -1, 64)
	} else if !perSecond.unknown {
		perSecond.value = os.Getenv(perSecond.envVar)
	}
	concurrent := setting{attribute: "max_concurrent_requests", envVar: "IDPGATE_MAX_CONCURRENT_REQUESTS",
		unknown: cfg.MaxConcurrent.IsUnknown()}
	if !cfg.MaxConcurrent.IsNull() && !cfg.MaxConcurrent.IsUnknown() {
		concurrent.value = strconv.FormatInt(cfg.MaxConcurrent.ValueInt64(), 10)
	} else if !concurrent.unknown {
		concurrent.value = os.Getenv(concurrent.envVar)
	}
	return resolvedSettings{
		maxRequestsPerSecond: perSecond,
		maxConcurrent:        concurrent,
		issuer:               str("issuer", "IDPGATE_ISSUER", cfg.Issuer),
		driver:               str("idp_driver", "IDPGATE_IDP_DRIVER", cfg.IdPDriver),
		initialAccessToken:   str("initial_access_token", "IDPGATE_INITIAL_ACCESS_TOKEN", cfg.InitialAccessToken),
		registrationEndpoint: str("registration_endpoint", "IDPGATE_REGISTRATION_ENDPOINT", cfg.RegistrationEndpoint),
		gatewayURL:           str("gateway_url", "IDPGATE_GATEWAY_URL", cfg.GatewayURL),
		gatewayAdminToken:    str("gateway_admin_token", "IDPGATE_GATEWAY_ADMIN_TOKEN", cfg.GatewayAdminToken),
		maxRetries:           retries,
		requestTimeout:       str("request_timeout", "IDPGATE_REQUEST_TIMEOUT", cfg.RequestTimeout.StringValue),
		caBundle:             str("ca_bundle", "IDPGATE_CA_BUNDLE", cfg.CABundle),
		gatewayCABundle:      str("gateway_ca_bundle", "IDPGATE_GATEWAY_CA_BUNDLE", cfg.GatewayCABundle),
		gatewayClientCert:    str("gateway_client_cert", "IDPGATE_GATEWAY_CLIENT_CERT", cfg.GatewayClientCert),
		gatewayClientKey:     str("gateway_client_key", "IDPGATE_GATEWAY_CLIENT_KEY", cfg.GatewayClientKey),
		planChecks:           boolSetting("plan_checks", "IDPGATE_PLAN_CHECKS", cfg.PlanChecks),
	}
}

func boolSetting(attr, env string, v types.Bool) setting {
	s := setting{attribute: attr, envVar: env, unknown: v.IsUnknown()}
	if !v.IsNull() && !v.IsUnknown() {
		s.value = strconv.FormatBool(v.ValueBool())
	} else if !s.unknown {
		s.value = os.Getenv(env)
	}
	return s
}

// planChecksOn reports whether plans ask the IdP (plan_checks, default true; unknown: no).
func (s resolvedSettings) planChecksOn() (bool, diagList) {
	if s.planChecks.unknown {
		return false, nil
	}
	if s.planChecks.value == "" {
		return true, nil
	}
	on, err := strconv.ParseBool(s.planChecks.value)
	if err != nil {
		return false, diagList{attrError(s.planChecks, "Invalid plan_checks", "must be true or false, got "+strconv.Quote(s.planChecks.value))}
	}
	return on, nil
}

func (s resolvedSettings) retries() (int, diagList) {
	if s.maxRetries.value == "" {
		return defaultMaxRetries, nil
	}
	n, err := strconv.Atoi(s.maxRetries.value)
	if err != nil || n < 0 || n > 20 {
		return 0, diagList{attrError(s.maxRetries, "Invalid max_retries",
			"must be a whole number between 0 and 20, got "+strconv.Quote(s.maxRetries.value))}
	}
	return n, nil
}

// Bounds of the request caps: below a request a minute and above ten thousand a second are
// typing mistakes, not limits of an IdP.
const (
	minRequestsPerSecond  = 1.0 / 60
	maxRequestsPerSecond  = 10000
	maxConcurrentRequests = 1000
)

// requestCap is the cap on calls to the IdP that max_requests_per_second and
// max_concurrent_requests ask for; nil when neither is set.
func (s resolvedSettings) requestCap() (*dcr.RequestCap, diagList) {
	var diags diagList
	var perSecond float64
	var concurrent int64
	if v := s.maxRequestsPerSecond.value; v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f >= minRequestsPerSecond && f <= maxRequestsPerSecond) { // NaN too
			diags = append(diags, attrError(s.maxRequestsPerSecond, "Invalid max_requests_per_second",
				fmt.Sprintf("must be a number of requests a second between %.4g (one a minute) and %d, got %q",
					float64(minRequestsPerSecond), maxRequestsPerSecond, v)))
		}
		perSecond = f
	}
	if v := s.maxConcurrent.value; v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 || n > maxConcurrentRequests {
			diags = append(diags, attrError(s.maxConcurrent, "Invalid max_concurrent_requests",
				fmt.Sprintf("must be a whole number between 1 and %d, got %q", maxConcurrentRequests, v)))
		}
		concurrent = n
	}
	if diags.HasError() || (perSecond == 0 && concurrent == 0) {
		return nil, diags
	}
	c, err := dcr.NewRequestCap(perSecond, int(concurrent))
	if err != nil {
		diags = append(diags, attrError(s.maxRequestsPerSecond, "Invalid request cap", err.Error()))
	}
	return c, diags
}

// httpClient builds the client shared by the IdP and gateway halves: its own transport
// (cloned from the default, never the shared one), the timeout and the CA bundle.
func (s resolvedSettings) httpClient() (*http.Client, diagList) {
	var diags diagList
	timeout := defaultRequestTimeout
	if s.requestTimeout.value != "" {
		d, err := time.ParseDuration(s.requestTimeout.value)
		if err != nil || d <= 0 {
			diags = append(diags, attrError(s.requestTimeout, "Invalid request_timeout",
				"must be a positive Go duration such as \"30s\" or \"2m\", got "+strconv.Quote(s.requestTimeout.value)))
		} else {
			timeout = d
		}
	}
	transport := newTransport()
	pool, poolDiags := trustPool(s.caBundle)
	transport.TLSClientConfig.RootCAs = pool
	return &http.Client{Transport: transport, Timeout: timeout}, append(diags, poolDiags...)
}

// gatewayHTTPClient builds the admin API's client: its own transport, trusting the system's
// certificates, ca_bundle and gateway_ca_bundle, and presenting the client certificate when
// one is set. Certificate and key go together; that is checked here, at plan time.
func (s resolvedSettings) gatewayHTTPClient(timeout time.Duration) (*http.Client, diagList) {
	transport := newTransport()
	pool, diags := trustPool(s.caBundle, s.gatewayCABundle)
	transport.TLSClientConfig.RootCAs = pool
	cert, key := s.gatewayClientCert, s.gatewayClientKey
	switch {
	case cert.unknown || key.unknown:
	case cert.value != "" && key.value == "":
		diags = append(diags, attrError(key, "Missing gateway_client_key",
			"must be set with gateway_client_cert: give the PEM private key of the client certificate"))
	case cert.value == "" && key.value != "":
		diags = append(diags, attrError(cert, "Missing gateway_client_cert",
			"must be set with gateway_client_key: give the PEM client certificate"))
	case cert.value != "":
		pair, err := tls.X509KeyPair([]byte(cert.value), []byte(key.value))
		if err != nil {
			diags = append(diags, attrError(cert, "Invalid gateway_client_cert",
				"and gateway_client_key (or IDPGATE_GATEWAY_CLIENT_KEY) must be a PEM certificate and its PEM private key "+
					"(the text, e.g. file(\"client.pem\"), not a path): "+err.Error()))
		}
		transport.TLSClientConfig.Certificates = []tls.Certificate{pair}
	}
	return &http.Client{Transport: transport, Timeout: timeout}, diags
}

// maxIdleConnsPerHost keeps a connection per concurrent call alive between calls. The
// default, 2, closes the others after every answer when terraform works on 10 resources at
// once (more with -parallelism): a new TCP (and TLS) handshake for most calls of an apply.
const maxIdleConnsPerHost = 64

// newTransport is a transport of one provider instance, cloned from the default, never the
// shared one.
func newTransport() *http.Transport {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = maxIdleConnsPerHost
	if transport.TLSClientConfig == nil {
		transport.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return transport
}

// trustPool is the system's certificates plus those of the bundles that are set; nil (the
// system's alone) when none is.
func trustPool(bundles ...setting) (*x509.CertPool, diagList) {
	var pool *x509.CertPool
	var diags diagList
	for _, b := range bundles {
		if b.value == "" {
			continue
		}
		if pool == nil {
			var err error
			if pool, err = x509.SystemCertPool(); err != nil || pool == nil {
				pool = x509.NewCertPool()
			}
		}
		if !pool.AppendCertsFromPEM([]byte(b.value)) {
			diags = append(diags, attrError(b, "Invalid "+b.attribute,
				"contains no PEM certificate; give the PEM text (e.g. file(\"ca.pem\")), not a path"))
		}
	}
	return pool, diags
}

// absoluteURL checks that a string attribute is an absolute http(s) URL, with the admin API's
// own check (adminapi.CheckHTTPURL), so a URL the provider accepts is one the gateway accepts.
func absoluteURL() validator.String {
	return knownStringCheck{
		describedAs: "must be an absolute http or https URL",
		check: func(p path.Path, value string, diags *diag.Diagnostics) {
			if err := adminapi.CheckHTTPURL(value); err != nil {
				diags.AddAttributeError(p, "Invalid URL", err.Error())
			}
		},
	}
}
