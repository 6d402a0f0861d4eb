package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-log/tflogtest"
	"github.com/hashicorp/terraform-plugin-testing/echoprovider"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/idpgate/terraform-provider-idpgate/internal/dcr"
	"github.com/idpgate/terraform-provider-idpgate/internal/mockidp"
)

// jwtShape is a compact JWS: three base64url parts.
var jwtShape = regexp.MustCompile(`^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$`)

// tokenTestResource is the ephemeral resource configured against idp as the provider would
// configure it, with fast retries.
func tokenTestResource(t *testing.T, idp *mockidp.Server, maxRetries int) *accessTokenEphemeralResource {
	t.Helper()
	hc := &http.Client{Timeout: 5 * time.Second}
	client, err := dcr.New(dcr.Config{Issuer: idp.URL(), HTTPClient: hc, MaxRetries: maxRetries})
	if err != nil {
		t.Fatal(err)
	}
	return &accessTokenEphemeralResource{data: &providerData{
		HTTPClient: hc,
		MaxRetries: maxRetries,
		IdP:        &idpSettings{Issuer: idp.URL(), Driver: "generic", HTTPClient: hc, MaxRetries: maxRetries, Client: client},
	}}
}

// tokenConfig is the ephemeral resource's configuration as Terraform would hand it over.
func tokenConfig(t *testing.T, clientID, secret string, scopes ...string) accessTokenModel {
	t.Helper()
	cfg := accessTokenModel{
		ClientID:      types.StringValue(clientID),
		ClientSecret:  types.StringValue(secret),
		Scopes:        types.SetNull(types.StringType),
		Audience:      types.StringNull(),
		Resources:     types.SetNull(types.StringType),
		TokenEndpoint: types.StringNull(),
		AuthMethod:    types.StringNull(),
	}
	if scopes != nil {
		cfg.Scopes = stringSet(scopes...)
	}
	return cfg
}

// TestAccessToken_authMethods obtains a token with each client authentication method, the
// token endpoint discovered from the issuer, and checks that auth_method decides where the
// credentials go (their exact encoding is tested in internal/dcr).
func TestAccessToken_authMethods(t *testing.T) {
	for _, method := range []string{"", dcr.AuthMethodClientSecretBasic, dcr.AuthMethodClientSecretPost} {
		t.Run("method="+method, func(t *testing.T) {
			t.Parallel()
			idp := newAccIdP(t, mockidp.FlavorGeneric)
			svc := idp.ServiceClient(t, "orders:read orders:write")
			cfg := tokenConfig(t, svc.ClientID, svc.ClientSecret, "orders:read")
			if method != "" {
				cfg.AuthMethod = types.StringValue(method)
			}
			before := time.Now()
			got, diags := tokenTestResource(t, idp, 1).open(context.Background(), cfg)
			if diags.HasError() {
				t.Fatalf("open: %v", diags)
			}
			wantMethod := method
			if wantMethod == "" {
				wantMethod = dcr.AuthMethodClientSecretBasic
			}
			if got.AuthMethod.ValueString() != wantMethod {
				t.Errorf("auth_method = %s, want %s", got.AuthMethod, wantMethod)
			}
			if got.TokenEndpoint.ValueString() != idp.TokenEndpoint() {
				t.Errorf("token_endpoint = %s, want the discovered %s", got.TokenEndpoint, idp.TokenEndpoint())
			}
			if got.TokenType.ValueString() != "Bearer" || got.ExpiresIn.ValueInt64() != 300 {
				t.Errorf("token_type = %s, expires_in = %s; want Bearer, 300 (the mock's default TTL)", got.TokenType, got.ExpiresIn)
			}
			expiresAt, d := got.ExpiresAt.ValueRFC3339Time()
			if d.HasError() || expiresAt.Before(before.Add(299*time.Second)) || expiresAt.After(time.Now().Add(300*time.Second)) {
				t.Errorf("expires_at = %s, want about now + 300s", got.ExpiresAt)
			}
			if !got.GrantedScopes.Equal(stringSet("orders:read")) {
				t.Errorf("granted_scopes = %s, want [orders:read]", got.GrantedScopes)
			}
			if err := verifyAccessToken(idp, got.AccessToken.ValueString(), svc.ClientID, "orders:read"); err != nil {
				t.Error(err)
			}

			reqs := idp.RequestsTo(http.MethodPost, idp.TokenEndpoint())
			if len(reqs) != 1 {
				t.Fatalf("IdP received %d token requests, want 1", len(reqs))
			}
			form, _ := url.ParseQuery(string(reqs[0].Body))
			if form.Get("grant_type") != "client_credentials" || form.Get("scope") != "orders:read" {
				t.Errorf("token request form = %v", form)
			}
			auth := reqs[0].Header.Get("Authorization")
			if inForm := form.Get("client_secret") == svc.ClientSecret; inForm != (wantMethod == dcr.AuthMethodClientSecretPost) ||
				strings.HasPrefix(auth, "Basic ") == inForm {
				t.Errorf("%s sent Authorization %q and form %v", wantMethod, auth, form)
			}
		})
	}
}

// TestAccessToken_requestParameters: audience and RFC 8707 resources reach the token
// endpoint, and a configured token_endpoint is used without discovery.
func TestAccessToken_requestParameters(t *testing.T) {
	t.Parallel()
	idp := newAccIdP(t, mockidp.FlavorGeneric)
	svc := idp.ServiceClient(t, "orders:read")
	cfg := tokenConfig(t, svc.ClientID, svc.ClientSecret)
	cfg.TokenEndpoint = types.StringValue(idp.TokenEndpoint())
	cfg.Audience = types.StringValue("https://orders.example.com")
	cfg.Resources = stringSet("https://b.example.com/", "https://a.example.com/")
	got, diags := tokenTestResource(t, idp, 0).open(context.Background(), cfg)
	if diags.HasError() {
		t.Fatalf("open: %v", diags)
	}
	// The mock grants the registered scope when none is requested, and says so.
	if !got.GrantedScopes.Equal(stringSet("orders:read")) {
		t.Errorf("granted_scopes = %s, want the registered [orders:read]", got.GrantedScopes)
	}
	for _, r := range idp.Requests() {
		if strings.Contains(r.Path, ".well-known") {
			t.Errorf("discovery (%s) although token_endpoint is set", r.Path)
		}
	}
	reqs := idp.RequestsTo(http.MethodPost, idp.TokenEndpoint())
	if len(reqs) != 1 {
		t.Fatalf("IdP received %d token requests, want 1", len(reqs))
	}
	form, _ := url.ParseQuery(string(reqs[0].Body))
	if form.Has("scope") || form.Get("audience") != "https://orders.example.com" ||
		!slices.Equal(form["resource"], []string{"https://a.example.com/", "https://b.example.com/"}) {
		t.Errorf("token request form = %v", form)
	}
}

// TestAccessToken_errors: each refusal of the token endpoint names the attribute to change,
// quotes the IdP's error code, and never the secret.
func TestAccessToken_errors(t *testing.T) {
	idp := newAccIdP(t, mockidp.FlavorGeneric)
	svc := idp.ServiceClient(t, "orders:read")
	web, err := idp.RegisterClient(map[string]any{"client_name": "web", "grant_types": []any{"authorization_code"},
		"response_types": []any{"code"}, "redirect_uris": []any{"https://app.example.com/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	wrongSecret := svc.ClientSecret + "-wrong"
	cases := map[string]struct {
		cfg       accessTokenModel
		attribute string
		words     string
	}{
		"wrong secret":   {tokenConfig(t, svc.ClientID, wrongSecret), "client_secret", "HTTP 401: invalid_client"},
		"unknown client": {tokenConfig(t, "nobody", svc.ClientSecret), "client_secret", "invalid_client"},
		"scope not registered": {tokenConfig(t, svc.ClientID, svc.ClientSecret, "orders:write"), "scopes",
			"invalid_scope"},
		"grant not registered": {tokenConfig(t, web.ClientID, web.ClientSecret), "client_id", "unauthorized_client"},
		"not a token endpoint": {func() accessTokenModel {
			c := tokenConfig(t, svc.ClientID, svc.ClientSecret)
			c.TokenEndpoint = types.StringValue(idp.URL() + "/no-such-path")
			return c
		}(), "token_endpoint", "HTTP 404"},
	}
	r := tokenTestResource(t, idp, 0)
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, diags := r.open(context.Background(), tc.cfg)
			checkSingleError(t, diags, tc.attribute, tc.words)
			for _, d := range diags {
				for _, secret := range []string{svc.ClientSecret, web.ClientSecret} {
					if strings.Contains(d.Detail(), secret) || strings.Contains(d.Summary(), secret) {
						t.Errorf("diagnostic quotes a client secret: %s", d.Detail())
					}
				}
			}
		})
	}
}

// checkSingleError wants exactly one error, on attribute ("" for none), whose detail says words.
func checkSingleError(t *testing.T, diags diag.Diagnostics, attribute, words string) {
	t.Helper()
	errs := diags.Errors()
	if len(errs) != 1 {
		t.Fatalf("want 1 error, got %v", diags)
	}
	if !strings.Contains(errs[0].Detail(), words) {
		t.Errorf("error detail %q does not say %q", errs[0].Detail(), words)
	}
	withPath, ok := errs[0].(diag.DiagnosticWithPath)
	switch {
	case attribute == "" && ok:
		t.Errorf("error names attribute %s, want none", withPath.Path())
	case attribute != "" && (!ok || !withPath.Path().Equal(path.Root(attribute))):
		t.Errorf("error %q does not name attribute %s", errs[0].Summary(), attribute)
	}
}

// TestAccessToken_retries: the provider's max_retries reaches the token request; a
// persistent failure says to raise max_retries after exactly 1+max_retries attempts; a
// Retry-After beyond two minutes is not waited for. Which answers are retried, and how, is
// tested in internal/dcr.
func TestAccessToken_retries(t *testing.T) {
	cases := map[string]struct {
		faults       mockidp.Faults
		maxRetries   int
		wantAttempts int
		wantError    string
	}{
		"one 503": {mockidp.Faults{Status: http.StatusServiceUnavailable, Next: 1}, 2, 2, ""},
		"500 until retries run out": {mockidp.Faults{Status: http.StatusInternalServerError}, 1, 2,
			"answered HTTP 500: server_error: injected fault. The request was sent 2 times"},
		"429 asking for 10 minutes": {mockidp.Faults{Status: http.StatusTooManyRequests, RetryAfter: 10 * time.Minute}, 3, 1,
			"HTTP 429: temporarily_unavailable: injected fault. It asked to wait 10m0s"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			idp := newAccIdP(t, mockidp.FlavorGeneric)
			svc := idp.ServiceClient(t, "orders:read")
			cfg := tokenConfig(t, svc.ClientID, svc.ClientSecret)
			cfg.TokenEndpoint = types.StringValue(idp.TokenEndpoint())
			tc.faults.PathPrefix, tc.faults.Method = "/token", http.MethodPost
			idp.SetFaults(tc.faults)
			got, diags := tokenTestResource(t, idp, tc.maxRetries).open(context.Background(), cfg)
			if n := len(idp.RequestsTo(http.MethodPost, idp.TokenEndpoint())); n != tc.wantAttempts {
				t.Errorf("IdP received %d token requests, want %d", n, tc.wantAttempts)
			}
			if tc.wantError != "" {
				checkSingleError(t, diags, "", tc.wantError)
				return
			}
			if diags.HasError() {
				t.Fatalf("open: %v", diags)
			}
			if !jwtShape.MatchString(got.AccessToken.ValueString()) {
				t.Errorf("access_token %q is not a JWT", got.AccessToken.ValueString())
			}
		})
	}
}

// TestAccessToken_rateLimitResetTooFar: Okta's X-Rate-Limit-Reset, like Retry-After, is
// not waited for beyond two minutes, and the diagnostic says how long the IdP asked for.
func TestAccessToken_rateLimitResetTooFar(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("X-Rate-Limit-Reset", strconv.FormatInt(time.Now().Add(10*time.Minute+time.Second).Unix(), 10))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"errorCode":"E0000047","errorSummary":"API call exceeded rate limit due to too many requests."}`))
	}))
	t.Cleanup(srv.Close)
	cfg := tokenConfig(t, "svc", "s3cret")
	cfg.TokenEndpoint = types.StringValue(srv.URL)
	r := &accessTokenEphemeralResource{data: &providerData{HTTPClient: srv.Client(), MaxRetries: 3}}
	_, diags := r.open(context.Background(), cfg)
	checkSingleError(t, diags, "", "HTTP 429: E0000047: API call exceeded rate limit due to too many requests. It asked to wait 10m")
	if n := hits.Load(); n != 1 {
		t.Errorf("token endpoint received %d requests, want 1", n)
	}
}

// TestAccessToken_answerForms: how an answer maps to expires_in, expires_at and
// granted_scopes, and that an answer that is no token response names token_endpoint. The
// forms real token endpoints send are parsed (and tested) in internal/dcr.
func TestAccessToken_answerForms(t *testing.T) {
	cases := map[string]struct {
		answer      string
		wantIn      int64 // -1: null
		wantScopes  []string
		wantErrWord string
	}{
		"scope absent: the requested scopes": {`{"access_token":"a.b.c","token_type":"Bearer","expires_in":"3600"}`, 3600,
			[]string{"orders:read"}, ""},
		"no expires_in, scope narrowed": {`{"access_token":"a.b.c","token_type":"Bearer","scope":""}`, -1, []string{}, ""},
		"no access_token":               {`{"token_type":"Bearer"}`, 0, nil, "carries no access_token"},
		"not JSON":                      {`<html>login</html>`, 0, nil, "not a token response"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(tc.answer))
			}))
			t.Cleanup(srv.Close)
			cfg := tokenConfig(t, "svc", "s3cret", "orders:read")
			cfg.TokenEndpoint = types.StringValue(srv.URL)
			r := &accessTokenEphemeralResource{data: &providerData{HTTPClient: srv.Client()}}
			got, diags := r.open(context.Background(), cfg)
			if tc.wantErrWord != "" {
				checkSingleError(t, diags, "token_endpoint", tc.wantErrWord)
				return
			}
			if diags.HasError() {
				t.Fatalf("open: %v", diags)
			}
			if (tc.wantIn == -1) != got.ExpiresIn.IsNull() || (tc.wantIn != -1 && got.ExpiresIn.ValueInt64() != tc.wantIn) ||
				got.ExpiresIn.IsNull() != got.ExpiresAt.IsNull() {
				t.Errorf("expires_in = %s, expires_at = %s; want %d", got.ExpiresIn, got.ExpiresAt, tc.wantIn)
			}
			if !got.GrantedScopes.Equal(stringSet(tc.wantScopes...)) {
				t.Errorf("granted_scopes = %s, want %v", got.GrantedScopes, tc.wantScopes)
			}
		})
	}
}

// TestAccessToken_missingEndpoint: without token_endpoint and without a known issuer, the
// error says what to set.
func TestAccessToken_missingEndpoint(t *testing.T) {
	cases := map[string]struct {
		data  *providerData
		words string
	}{
		"registration endpoint only": {&providerData{IdP: &idpSettings{RegistrationEndpoint: "https://idp.example.com/register"}},
			"Set token_endpoint, or issuer (IDPGATE_ISSUER)"},
		"no identity provider": {&providerData{}, "Set token_endpoint, or issuer (IDPGATE_ISSUER)"},
		"issuer known after apply": {&providerData{unknown: true},
			"The provider's issuer is known only after apply"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := &accessTokenEphemeralResource{data: tc.data}
			_, diags := r.open(context.Background(), tokenConfig(t, "svc", "s3cret"))
			checkSingleError(t, diags, "token_endpoint", tc.words)
		})
	}
}

// unreachable fails every request before it leaves, as a refused connection does.
type unreachable struct{}

func (unreachable) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, fmt.Errorf("dial tcp: connection refused")
}

// TestAccessToken_unreachableAndPlainHTTP: a token endpoint that does not answer is named as
// the attribute to check, and plain http to a remote host draws a warning.
func TestAccessToken_unreachableAndPlainHTTP(t *testing.T) {
	r := &accessTokenEphemeralResource{data: &providerData{HTTPClient: &http.Client{Transport: unreachable{}}, MaxRetries: 0}}
	cfg := tokenConfig(t, "svc", "s3cret")
	cfg.TokenEndpoint = types.StringValue("http://idp.example.com/token")
	_, diags := r.open(context.Background(), cfg)
	checkSingleError(t, diags, "token_endpoint", "did not answer. Check token_endpoint")
	warnings := diags.Warnings()
	if len(warnings) != 1 || !strings.Contains(warnings[0].Detail(), "unencrypted") {
		t.Errorf("want one warning about plain http, got %v", warnings)
	}
}

// TestAccessToken_logsMaskCredentials: the debug log shows the token request, but neither
// the client secret nor the access token.
func TestAccessToken_logsMaskCredentials(t *testing.T) {
	t.Parallel()
	idp := newAccIdP(t, mockidp.FlavorGeneric)
	svc := idp.ServiceClient(t, "orders:read")
	var logs bytes.Buffer
	ctx := tflogtest.RootLogger(context.Background(), &logs)
	got, diags := tokenTestResource(t, idp, 0).open(ctx, tokenConfig(t, svc.ClientID, svc.ClientSecret))
	if diags.HasError() {
		t.Fatalf("open: %v", diags)
	}
	text := logs.String()
	if !strings.Contains(text, "token request") || !strings.Contains(text, "access token obtained") {
		t.Fatalf("the log lacks the token request and its outcome:\n%s", text)
	}
	for what, secret := range map[string]string{"client secret": svc.ClientSecret, "access token": got.AccessToken.ValueString()} {
		if strings.Contains(text, secret) {
			t.Errorf("the log shows the %s", what)
		}
	}
}

// verifyAccessToken checks token's signature with the IdP's JWKS and its claims.
func verifyAccessToken(idp *mockidp.Server, token, clientID, scope string) error {
	gotClient, gotScope, err := accessTokenClaims(idp, token)
	if err != nil {
		return err
	}
	if gotClient != clientID || gotScope != scope {
		return fmt.Errorf("access token carries client_id %q scope %q, want %q %q", gotClient, gotScope, clientID, scope)
	}
	return nil
}

// accessTokenClaims checks token's signature with the IdP's JWKS and its registered claims,
// and returns its client_id and scope.
func accessTokenClaims(idp *mockidp.Server, token string) (clientID, scope string, err error) {
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(idp.JWKSURI())
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	var keys jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&keys); err != nil {
		return "", "", fmt.Errorf("JWKS: %w", err)
	}
	parsed, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return "", "", fmt.Errorf("access token: %w", err)
	}
	var claims jwt.Claims
	var custom struct {
		ClientID string `json:"client_id"`
		Scope    string `json:"scope"`
	}
	if err := parsed.Claims(keys, &claims, &custom); err != nil {
		return "", "", fmt.Errorf("access token signature does not verify with the IdP's JWKS: %w", err)
	}
	if err := claims.ValidateWithLeeway(jwt.Expected{Issuer: idp.URL(), Time: time.Now()}, time.Minute); err != nil {
		return "", "", fmt.Errorf("access token claims: %w", err)
	}
	return custom.ClientID, custom.Scope, nil
}

// echoFactories adds the echo provider, which copies an ephemeral value into a test-only
// resource so that a test can look at it.
var echoFactories = map[string]func() (tfprotov6.ProviderServer, error){
	"idpgate": providerserver.NewProtocol6WithError(New("test", "none")()),
	"echo":    echoprovider.NewProviderServer(),
}

func accessTokenConfig(idp *mockidp.Server, secretSuffix string) string {
	return idpProviderBlock(idp, "") + fmt.Sprintf(`
resource "idpgate_dcr_client" "app" {
  client_name = "token-test"
  grant_types = ["client_credentials"]
  scope       = "orders:read orders:write"
}

ephemeral "idpgate_access_token" "t" {
  client_id     = idpgate_dcr_client.app.client_id
  client_secret = "${idpgate_dcr_client.app.client_secret}%s"
  scopes        = ["orders:read"]
}

provider "echo" {
  data = ephemeral.idpgate_access_token.t
}

resource "echo" "test" {}
`, secretSuffix)
}

// TestAccAccessToken_echo registers a client, opens a token for it, and checks through the
// echo provider that the token is a real one of the IdP, while the idpgate resources' state
// holds no trace of it.
func TestAccAccessToken_echo(t *testing.T) {
	t.Parallel()
	idp := newAccIdP(t, mockidp.FlavorGeneric)
	data := tfjsonpath.New("data")
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{ephemeralResources},
		ProtoV6ProviderFactories: echoFactories,
		CheckDestroy:             checkClientsGoneAt(idp),
		Steps: []resource.TestStep{{
			Config: accessTokenConfig(idp, ""),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("echo.test", data.AtMapKey("token_type"), knownvalue.StringExact("Bearer")),
				statecheck.ExpectKnownValue("echo.test", data.AtMapKey("access_token"), knownvalue.StringRegexp(jwtShape)),
				statecheck.ExpectKnownValue("echo.test", data.AtMapKey("expires_in"), knownvalue.Int64Exact(300)),
				statecheck.ExpectKnownValue("echo.test", data.AtMapKey("token_endpoint"), knownvalue.StringExact(idp.TokenEndpoint())),
				statecheck.ExpectKnownValue("echo.test", data.AtMapKey("auth_method"), knownvalue.StringExact(dcr.AuthMethodClientSecretBasic)),
				statecheck.ExpectKnownValue("echo.test", data.AtMapKey("granted_scopes"),
					knownvalue.SetExact([]knownvalue.Check{knownvalue.StringExact("orders:read")})),
			},
			Check: func(s *terraform.State) error {
				token := s.RootModule().Resources["echo.test"].Primary.Attributes["data.access_token"]
				if token == "" {
					return fmt.Errorf("echo.test holds no access token")
				}
				clientID, _ := stateAttr(s, appAddr, "client_id")
				if err := verifyAccessToken(idp, token, clientID, "orders:read"); err != nil {
					return err
				}
				for name, rs := range s.RootModule().Resources {
					if !strings.HasPrefix(rs.Type, "idpgate_") {
						continue
					}
					for attr, v := range rs.Primary.Attributes {
						if strings.Contains(v, token) {
							return fmt.Errorf("the state of %s holds the access token in %s", name, attr)
						}
					}
				}
				ok := 0
				for _, r := range idp.RequestsTo(http.MethodPost, idp.TokenEndpoint()) {
					if r.Status == http.StatusOK {
						ok++
					}
				}
				if ok == 0 {
					return fmt.Errorf("the IdP issued no token at %s", idp.TokenEndpoint())
				}
				return nil
			},
		}},
	})
}

// TestAccAccessToken_wrongSecret: two scopes in one string fail at plan time; a refused
// secret fails the apply with the IdP's words.
func TestAccAccessToken_wrongSecret(t *testing.T) {
	t.Parallel()
	idp := newAccIdP(t, mockidp.FlavorGeneric)
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{ephemeralResources},
		ProtoV6ProviderFactories: echoFactories,
		CheckDestroy:             checkClientsGoneAt(idp),
		Steps: []resource.TestStep{
			{
				Config: strings.Replace(accessTokenConfig(idp, ""), `scopes        = ["orders:read"]`,
					`scopes        = ["orders:read orders:write"]`, 1),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)scopes.*must be one scope`),
			},
			{
				Config:      accessTokenConfig(idp, "-wrong"),
				ExpectError: regexp.MustCompile(`(?s)refused the client credentials.*HTTP 401:\s+invalid_client`),
			},
		},
	})
	if n := len(idp.RequestsTo(http.MethodPost, idp.TokenEndpoint())); n == 0 {
		t.Errorf("the IdP received no token request")
	}
}
