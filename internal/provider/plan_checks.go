package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/dcr"
)

// Plan-time checks against what the IdP advertises (plan_checks, default on), in ModifyPlan
// as the framework advises for checks that need the configured provider:
//
//   - each idpgate_dcr_client that is created or whose checked metadata changes, against the
//     issuer's discovery document: a grant type, response type or token endpoint auth method
//     the document lists otherwise is an error on that attribute naming what it lists; DPoP-
//     or certificate-bound tokens the document says no to (an empty
//     dpop_signing_alg_values_supported, tls_client_certificate_bound_access_tokens false)
//     are errors too. A scope missing from scopes_supported is a warning (OpenID Connect
//     Discovery lets servers leave scopes out), and so is every check with the okta driver but
//     the auth method: Okta registers applications for the whole org, and the issuer's
//     authorization server is one of several that may serve them.
//   - each idpgate_protected_api created or whose jwt block changes, against the JWKS at its
//     jwks_uri: keys that fit none of allowed_algorithms (RS256 by default) mean every token
//     would be refused, an error on allowed_algorithms.
//
// What the document does not advertise at all is a warning (many IdPs under-advertise), and
// so is an IdP that cannot be reached: plans run offline in some pipelines. Values unknown at
// plan are skipped. Each document is fetched once per provider instance (one plan), without
// retries and within planFetchTimeout, and nothing is ever sent to the registration endpoint.

// planFetchTimeout bounds one fetch at plan time.
const planFetchTimeout = 10 * time.Second

// maxPlanDocumentBytes bounds a JWKS read at plan time.
const maxPlanDocumentBytes = 1 << 20

type planChecks struct {
	issuer string
	http   *http.Client

	discoveryOnce sync.Once
	discovery     map[string]json.RawMessage
	discoveryErr  error

	mu   sync.Mutex
	jwks map[string]*jwksAtPlan
}

type jwksAtPlan struct {
	once sync.Once
	keys []planKey
	err  error
}

// planKey is what a JWK says about the algorithms it verifies.
type planKey struct {
	Kid string `json:"kid"`
	Kty string `json:"kty"`
	Alg string `json:"alg"`
	Use string `json:"use"`
	Crv string `json:"crv"`
}

func newPlanChecks(issuer string, client *http.Client) *planChecks {
	return &planChecks{issuer: issuer, http: client, jwks: map[string]*jwksAtPlan{}}
}

// discoveryDocument is the issuer's discovery document as raw fields, fetched once.
func (c *planChecks) discoveryDocument(ctx context.Context) (map[string]json.RawMessage, error) {
	c.discoveryOnce.Do(func() {
		ctx, cancel := context.WithTimeout(ctx, planFetchTimeout)
		defer cancel()
		client, err := dcr.New(dcr.Config{Issuer: c.issuer, HTTPClient: c.http, MaxRetries: 0, Logger: dcrLogger})
		if err != nil {
			c.discoveryErr = err
			return
		}
		doc, err := client.Discover(ctx)
		if err != nil {
			c.discoveryErr = err
			return
		}
		c.discoveryErr = json.Unmarshal(doc.Raw, &c.discovery)
	})
	return c.discovery, c.discoveryErr
}

// keySet is the JWKS at uri, fetched once per run.
func (c *planChecks) keySet(ctx context.Context, uri string) ([]planKey, error) {
	c.mu.Lock()
	f := c.jwks[uri]
	if f == nil {
		f = &jwksAtPlan{}
		c.jwks[uri] = f
	}
	c.mu.Unlock()
	f.once.Do(func() {
		ctx, cancel := context.WithTimeout(ctx, planFetchTimeout)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
		if err != nil {
			f.err = err
			return
		}
		req.Header.Set("Accept", "application/json")
		resp, err := c.http.Do(req)
		if err != nil {
			f.err = err
			return
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			f.err = fmt.Errorf("HTTP %d", resp.StatusCode)
			return
		}
		var set struct {
			Keys []planKey `json:"keys"`
		}
		if err := json.NewDecoder(io.LimitReader(resp.Body, maxPlanDocumentBytes)).Decode(&set); err != nil {
			f.err = fmt.Errorf("not a JSON Web Key Set: %w", err)
			return
		}
		f.keys = set.Keys
	})
	return f.keys, f.err
}

// algorithms are the JWS algorithms a key can verify: its alg, else those of its type.
func (k planKey) algorithms() []string {
	if k.Use == "enc" {
		return nil
	}
	if k.Alg != "" {
		return []string{k.Alg}
	}
	switch k.Kty {
	case "RSA":
		return []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
	case "EC":
		return map[string][]string{"P-256": {"ES256"}, "P-384": {"ES384"}, "P-521": {"ES512"}}[k.Crv]
	case "OKP":
		if k.Crv == "Ed25519" {
			return []string{"EdDSA"}
		}
	}
	return nil
}

// --- idpgate_dcr_client ---

// dcrCheckedAttributes are the dcr_client attributes compared with discovery.
var dcrCheckedAttributes = []string{"grant_types", "response_types", "token_endpoint_auth_method", "scope",
	"dpop_bound_access_tokens", "tls_client_certificate_bound_access_tokens"}

// checkClientAgainstIdP compares a planned dcr_client with the issuer's discovery document.
func (r *dcrClientResource) checkClientAgainstIdP(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	d := r.data
	if req.Plan.Raw.IsNull() || d == nil || d.planChecks == nil || d.IdP == nil || d.IdP.Issuer == "" {
		return
	}
	if !req.State.Raw.IsNull() && !changedAny(req.State, req.Plan, dcrCheckedAttributes) {
		return
	}
	if !anythingToCheck(ctx, req.Config) {
		return // nothing set, or nothing known yet: no reason to ask the IdP
	}
	doc, err := d.planChecks.discoveryDocument(ctx)
	if err != nil {
		resp.Diagnostics.AddWarning("Identity provider not checked at plan",
			fmt.Sprintf("The discovery document of %s could not be read, so this client's metadata was not compared with "+
				"what the IdP supports; the plan goes on and the IdP decides at apply. Set plan_checks = false "+
				"(IDPGATE_PLAN_CHECKS=false) to plan without asking the IdP. Underlying error: %v", d.planChecks.issuer, err))
		return
	}
	lenient := d.IdP.Driver == dcr.DriverOkta
	resp.Diagnostics.Append(compareWithDiscovery(ctx, req.Config, doc, d.planChecks.issuer, lenient)...)
}

// anythingToCheck reports whether the configuration sets a checked attribute to a known value.
func anythingToCheck(ctx context.Context, cfg tfsdk.Config) bool {
	if v, ok := knownStrings(ctx, cfg, "grant_types"); ok && len(v) > 0 {
		return true
	}
	if v, ok := knownStrings(ctx, cfg, "response_types"); ok && len(v) > 0 {
		return true
	}
	for _, a := range []string{"token_endpoint_auth_method", "scope"} {
		if v, ok := knownString(ctx, cfg, a); ok && v != "" {
			return true
		}
	}
	for _, a := range []string{"dpop_bound_access_tokens", "tls_client_certificate_bound_access_tokens"} {
		if on, ok := knownBool(ctx, cfg, a); ok && on {
			return true
		}
	}
	return false
}

// compareWithDiscovery is the comparison itself, on the configuration's known values.
func compareWithDiscovery(ctx context.Context, cfg tfsdk.Config, doc map[string]json.RawMessage, issuer string, lenient bool) diag.Diagnostics {
	var diags diag.Diagnostics
	listed := func(field string) ([]string, bool) {
		raw, ok := doc[field]
		if !ok {
			return nil, false
		}
		var v []string
		if json.Unmarshal(raw, &v) != nil {
			return nil, false
		}
		return v, true
	}
	report := func(attr string, asWarning bool, summary, detail string) {
		if asWarning {
			diags.AddAttributeWarning(path.Root(attr), summary, detail)
		} else {
			diags.AddAttributeError(path.Root(attr), summary, detail)
		}
	}
	notAdvertised := func(attr, field string) {
		diags.AddAttributeWarning(path.Root(attr), "Not advertised by the identity provider",
			fmt.Sprintf("The discovery document of %s has no %s, so %s could not be checked at plan; the IdP decides at apply.",
				issuer, field, attr))
	}
	// each compares every value of attr with the document's list field.
	each := func(attr, field string, values []string, asWarning bool, same func(a, b string) bool, why string) {
		if len(values) == 0 {
			return
		}
		supported, ok := listed(field)
		if !ok {
			notAdvertised(attr, field)
			return
		}
		var missing []string
		for _, v := range values {
			if !slices.ContainsFunc(supported, func(s string) bool { return same(v, s) }) {
				missing = append(missing, v)
			}
		}
		if len(missing) > 0 {
			report(attr, asWarning, "Not supported by the identity provider",
				fmt.Sprintf("%s %s: the identity provider at %s lists %s = [%s].%s",
					attr, notSupported(missing), issuer, field, strings.Join(supported, ", "), why))
		}
	}
	equal := func(a, b string) bool { return a == b }

	grants, _ := knownStrings(ctx, cfg, "grant_types")
	oktaWhy := ""
	if lenient {
		oktaWhy = " Okta registers the application for the whole org, so this is a warning: tokens for it must come from an authorization server that supports it."
	}
	each("grant_types", "grant_types_supported", grants, lenient, equal, oktaWhy)
	responses, _ := knownStrings(ctx, cfg, "response_types")
	each("response_types", "response_types_supported", responses, lenient, sameWords, oktaWhy)
	if method, ok := knownString(ctx, cfg, "token_endpoint_auth_method"); ok && method != "" {
		each("token_endpoint_auth_method", "token_endpoint_auth_methods_supported", []string{method}, false, equal, "")
	}
	if scope, ok := knownString(ctx, cfg, "scope"); ok {
		each("scope", "scopes_supported", strings.Fields(scope), true, equal,
			" OpenID Connect Discovery lets an IdP leave scopes out of that list, so this is a warning; the IdP decides at apply.")
	}
	if on, ok := knownBool(ctx, cfg, "dpop_bound_access_tokens"); ok && on {
		switch algs, ok := listed("dpop_signing_alg_values_supported"); {
		case !ok:
			notAdvertised("dpop_bound_access_tokens", "dpop_signing_alg_values_supported")
		case len(algs) == 0:
			diags.AddAttributeError(path.Root("dpop_bound_access_tokens"), "Not supported by the identity provider",
				fmt.Sprintf("dpop_bound_access_tokens = true: the identity provider at %s lists no DPoP signing algorithm "+
					"(dpop_signing_alg_values_supported = []), so it cannot bind tokens to a DPoP key.", issuer))
		}
	}
	if on, ok := knownBool(ctx, cfg, "tls_client_certificate_bound_access_tokens"); ok && on {
		raw, present := doc["tls_client_certificate_bound_access_tokens"]
		var advertised bool
		switch {
		case !present:
			notAdvertised("tls_client_certificate_bound_access_tokens", "tls_client_certificate_bound_access_tokens")
		case json.Unmarshal(raw, &advertised) == nil && !advertised:
			diags.AddAttributeError(path.Root("tls_client_certificate_bound_access_tokens"), "Not supported by the identity provider",
				fmt.Sprintf("tls_client_certificate_bound_access_tokens = true: the identity provider at %s says "+
					"tls_client_certificate_bound_access_tokens = false (RFC 8705).", issuer))
		}
	}
	return diags
}

// sameWords compares response types as sets of words ("code id_token" is "id_token code").
func sameWords(a, b string) bool {
	x, y := strings.Fields(a), strings.Fields(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

func notSupported(values []string) string {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = fmt.Sprintf("%q", v)
	}
	if len(q) == 1 {
		return q[0] + " is not supported"
	}
	return strings.Join(q, ", ") + " are not supported"
}

// --- idpgate_protected_api ---

var _ resource.ResourceWithModifyPlan = &protectedAPIResource{}

// ModifyPlan checks the plan against the gateway, and compares the jwt block with the issuer's
// JWKS (see the top of this file).
func (r *protectedAPIResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	r.checkAtPlan(ctx, req, resp) // against the gateway: gateway_plan_checks.go
	d := r.data
	if req.Plan.Raw.IsNull() || d == nil || d.planChecks == nil {
		return
	}
	if !req.State.Raw.IsNull() && !changedAny(req.State, req.Plan, []string{"jwt"}) {
		return
	}
	uri, ok := knownStringAt(ctx, req.Config, path.Root("jwt").AtName("jwks_uri"))
	if !ok || uri == "" || adminapi.CheckHTTPURL(uri) != nil {
		return
	}
	algsPath := path.Root("jwt").AtName("allowed_algorithms")
	var algs types.Set
	if diags := req.Config.GetAttribute(ctx, algsPath, &algs); diags.HasError() || algs.IsUnknown() {
		return
	}
	allowed := adminapi.DefaultAllowedAlgorithms()
	if !algs.IsNull() {
		allowed = nil
		for _, e := range algs.Elements() {
			s, ok := e.(types.String)
			if !ok || s.IsUnknown() {
				return
			}
			allowed = append(allowed, s.ValueString())
		}
	}
	keys, err := d.planChecks.keySet(ctx, uri)
	if err != nil {
		resp.Diagnostics.AddAttributeWarning(path.Root("jwt").AtName("jwks_uri"), "JWKS not checked at plan",
			fmt.Sprintf("The JWKS at %s could not be read, so allowed_algorithms was not compared with the issuer's keys; "+
				"the plan goes on. Set plan_checks = false (IDPGATE_PLAN_CHECKS=false) to plan without fetching it. "+
				"Underlying error: %v", uri, err))
		return
	}
	resp.Diagnostics.Append(compareWithKeys(keys, allowed, uri, algs.IsNull())...)
}

// compareWithKeys: an error when no key fits any allowed algorithm.
func compareWithKeys(keys []planKey, allowed []string, uri string, defaulted bool) diag.Diagnostics {
	var diags diag.Diagnostics
	at := path.Root("jwt").AtName("allowed_algorithms")
	if len(keys) == 0 {
		diags.AddAttributeWarning(at, "The issuer's JWKS has no keys",
			fmt.Sprintf("The JWKS at %s holds no keys right now, so no token can be checked until the issuer publishes one.", uri))
		return diags
	}
	var offered []string
	for _, k := range keys {
		for _, a := range k.algorithms() {
			if slices.Contains(allowed, a) {
				return diags
			}
			if !slices.Contains(offered, a) {
				offered = append(offered, a)
			}
		}
	}
	setting := fmt.Sprintf("allowed_algorithms = [%s]", strings.Join(allowed, ", "))
	if defaulted {
		setting = fmt.Sprintf("allowed_algorithms (unset: %s)", adminapi.DefaultAlgorithm)
	}
	diags.AddAttributeError(at, "No key of the issuer fits allowed_algorithms",
		fmt.Sprintf("%s, but the JWKS at %s has keys for [%s] only: the gateway would refuse every token. "+
			"Allow one of those algorithms, or check jwks_uri.", setting, uri, strings.Join(offered, ", ")))
	return diags
}

// --- reading known values ---

// changedAny reports whether any of attrs differs between state and plan.
func changedAny(state tfsdk.State, plan tfsdk.Plan, attrs []string) bool {
	for _, a := range attrs {
		p := tftypes.NewAttributePath().WithAttributeName(a)
		before, _, errBefore := tftypes.WalkAttributePath(state.Raw, p)
		after, _, errAfter := tftypes.WalkAttributePath(plan.Raw, p)
		b, okB := before.(tftypes.Value)
		c, okC := after.(tftypes.Value)
		if errBefore != nil || errAfter != nil || !okB || !okC || !b.Equal(c) {
			return true
		}
	}
	return false
}

func knownString(ctx context.Context, cfg tfsdk.Config, attr string) (string, bool) {
	return knownStringAt(ctx, cfg, path.Root(attr))
}

func knownStringAt(ctx context.Context, cfg tfsdk.Config, p path.Path) (string, bool) {
	var v types.String
	if cfg.GetAttribute(ctx, p, &v).HasError() || v.IsNull() || v.IsUnknown() {
		return "", false
	}
	return v.ValueString(), true
}

func knownBool(ctx context.Context, cfg tfsdk.Config, attr string) (bool, bool) {
	var v types.Bool
	if cfg.GetAttribute(ctx, path.Root(attr), &v).HasError() || v.IsNull() || v.IsUnknown() {
		return false, false
	}
	return v.ValueBool(), true
}

// knownStrings are the known elements of a set or list of strings; unknown ones are skipped.
func knownStrings(ctx context.Context, cfg tfsdk.Config, attr string) ([]string, bool) {
	var v types.Set
	if cfg.GetAttribute(ctx, path.Root(attr), &v).HasError() || v.IsNull() || v.IsUnknown() {
		return nil, false
	}
	var out []string
	for _, e := range v.Elements() {
		if s, ok := e.(types.String); ok && !s.IsNull() && !s.IsUnknown() {
			out = append(out, s.ValueString())
		}
	}
	return out, true
}
