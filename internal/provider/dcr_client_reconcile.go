package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-jsontypes/jsontypes"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/idpgate/terraform-provider-idpgate/internal/dcr"
)

// idpgate_dcr_client's model (dcrClientModel, in dcr_client_resource.go) to and from
// internal/dcr's values: the metadata a plan asks for, and the state built from an answer.

// metadata is the desired metadata: every value the plan knows. Values the user left to the
// identity provider are unknown in a plan and not sent, so a full-replacement update lets the
// IdP choose them again.
func (m dcrClientModel) metadata(ctx context.Context) (dcr.Metadata, diag.Diagnostics) {
	var diags diag.Diagnostics
	str := func(v types.String) string {
		if v.IsNull() || v.IsUnknown() {
			return ""
		}
		return v.ValueString()
	}
	list := func(v types.Set) []string {
		if v.IsNull() || v.IsUnknown() {
			return nil
		}
		out := []string{}
		diags.Append(v.ElementsAs(ctx, &out, false)...)
		slices.Sort(out)
		return out
	}
	md := dcr.Metadata{
		ClientName:              str(m.ClientName),
		GrantTypes:              list(m.GrantTypes),
		ResponseTypes:           list(m.ResponseTypes),
		RedirectURIs:            list(m.RedirectURIs),
		TokenEndpointAuthMethod: str(m.TokenEndpointAuthMethod),
		Scope:                   str(m.Scope),
		ApplicationType:         str(m.ApplicationType),
		Contacts:                list(m.Contacts),
		ClientURI:               str(m.ClientURI),
		LogoURI:                 str(m.LogoURI),
		PolicyURI:               str(m.PolicyURI),
		TosURI:                  str(m.TosURI),
		JWKSURI:                 str(m.JWKSURI),
		SoftwareStatement:       str(m.SoftwareStatement),
		TLSClientAuthSubjectDN:  str(m.TLSClientAuthSubjectDN),
	}
	boolean := func(v types.Bool) *bool {
		if v.IsNull() || v.IsUnknown() {
			return nil
		}
		b := v.ValueBool()
		return &b
	}
	md.DPoPBoundAccessTokens = boolean(m.DPoPBoundAccessTokens)
	md.TLSClientCertificateBoundAccessTokens = boolean(m.TLSCertificateBound)
	if s := str(m.JWKS.StringValue); s != "" {
		md.JWKS = json.RawMessage(s)
	}
	if s := str(m.ExtraMetadata.StringValue); s != "" {
		extra, err := parseExtraMetadata(s)
		if err != nil {
			diags.AddAttributeError(path.Root("extra_metadata"), "Invalid extra_metadata", err.Error())
		}
		md.Extra = extra
	}
	if err := md.Validate(); err != nil {
		diags.AddError("Invalid client metadata", err.Error())
	}
	return md, diags
}

// registration is what the state knows of the client's registration: enough to read,
// update or delete it.
func (m dcrClientModel) registration() dcr.Registration {
	return dcr.Registration{
		ClientID:                m.ClientID.ValueString(),
		ClientSecret:            m.ClientSecret.ValueString(),
		ClientIDIssuedAt:        m.ClientIDIssuedAt.ValueInt64(),
		ClientSecretExpiresAt:   m.ClientSecretExpiresAt.ValueInt64(),
		RegistrationClientURI:   m.RegistrationClientURI.ValueString(),
		RegistrationAccessToken: m.RegistrationAccessToken.ValueString(),
	}
}

// reconcileMode says where the prior values come from.
type reconcileMode int

const (
	// afterApply: prior is the plan. Known planned values must be kept (Terraform rejects
	// a different result); where the IdP stored something else, a warning says so.
	afterApply reconcileMode = iota
	// afterRead: prior is the state. The user's value is kept when the IdP holds it in an
	// equivalent form or does not return it; a different value is drift and replaces it.
	afterRead
)

// reconcile builds the state from prior and the IdP's answer, comparing only what prior
// holds: metadata the IdP adds or normalizes never shows as a difference.
func reconcile(ctx context.Context, prior dcrClientModel, reg dcr.Registration, mode reconcileMode) (dcrClientModel, diag.Diagnostics) {
	r := reconciler{ctx: ctx, mode: mode}
	md := reg.Metadata
	next := dcrClientModel{
		ID:                      types.StringValue(reg.ClientID),
		ClientID:                types.StringValue(reg.ClientID),
		ClientSecret:            optionalString(reg.ClientSecret),
		ClientIDIssuedAt:        types.Int64Value(reg.ClientIDIssuedAt),
		ClientSecretExpiresAt:   types.Int64Value(reg.ClientSecretExpiresAt),
		RegistrationClientURI:   optionalString(reg.RegistrationClientURI),
		RegistrationAccessToken: optionalString(reg.RegistrationAccessToken),
		// Never returned by most IdPs, and a signed statement has no "equivalent form".
		SoftwareStatement:      prior.SoftwareStatement,
		SoftwareStatementWO:    types.StringNull(),
		SoftwareStatementWOVer: prior.SoftwareStatementWOVer,
		// The user's own value; the identity provider never sees it.
		ClientSecretRotationTrigger: prior.ClientSecretRotationTrigger,
		Timeouts:                    timeoutsOrNull(prior.Timeouts),

		ClientName:              r.str("client_name", prior.ClientName, md.ClientName, sameString),
		TokenEndpointAuthMethod: r.str("token_endpoint_auth_method", prior.TokenEndpointAuthMethod, md.TokenEndpointAuthMethod, sameString),
		Scope:                   r.str("scope", prior.Scope, md.Scope, sameScope),
		ApplicationType:         r.str("application_type", prior.ApplicationType, md.ApplicationType, sameString),
		ClientURI:               r.str("client_uri", prior.ClientURI, md.ClientURI, sameString),
		LogoURI:                 r.str("logo_uri", prior.LogoURI, md.LogoURI, sameString),
		PolicyURI:               r.str("policy_uri", prior.PolicyURI, md.PolicyURI, sameString),
		TosURI:                  r.str("tos_uri", prior.TosURI, md.TosURI, sameString),
		JWKSURI:                 r.str("jwks_uri", prior.JWKSURI, md.JWKSURI, sameString),
		GrantTypes:              r.set("grant_types", prior.GrantTypes, md.GrantTypes),
		ResponseTypes:           r.set("response_types", prior.ResponseTypes, md.ResponseTypes),
		RedirectURIs:            r.set("redirect_uris", prior.RedirectURIs, md.RedirectURIs),
		Contacts:                r.set("contacts", prior.Contacts, md.Contacts),
		DPoPBoundAccessTokens:   r.boolean("dpop_bound_access_tokens", prior.DPoPBoundAccessTokens, md.DPoPBoundAccessTokens),
		TLSCertificateBound: r.boolean("tls_client_certificate_bound_access_tokens", prior.TLSCertificateBound,
			md.TLSClientCertificateBoundAccessTokens),
		TLSClientAuthSubjectDN: r.str("tls_client_auth_subject_dn", prior.TLSClientAuthSubjectDN, md.TLSClientAuthSubjectDN, sameString),
	}
	jwks := r.str("jwks", prior.JWKS.StringValue, string(md.JWKS), sameJSON)
	next.JWKS = jsontypes.Normalized{StringValue: jwks}
	next.ExtraMetadata = r.extra(prior.ExtraMetadata, md.Extra)
	return next, r.diags
}

type reconciler struct {
	ctx   context.Context
	mode  reconcileMode
	diags diag.Diagnostics
}

// keepPrior decides between the prior value and the IdP's ("" / nil: not returned).
func (r *reconciler) keepPrior(attr string, priorKnown bool, returned, same bool, show func() (string, string)) bool {
	if !priorKnown {
		return false
	}
	if !returned || same {
		return true
	}
	if r.mode == afterApply {
		want, got := show()
		r.diags.AddAttributeWarning(path.Root(attr), "Identity provider changed "+attr,
			fmt.Sprintf("The identity provider stored %s as %s instead of %s, so the next plan will show a difference. "+
				"Set %s to a value the identity provider keeps.", attr, got, want, attr))
		return true
	}
	return false
}

func (r *reconciler) str(attr string, prior types.String, got string, same func(a, b string) bool) types.String {
	priorKnown := !prior.IsUnknown() && (r.mode == afterApply || !prior.IsNull())
	if r.keepPrior(attr, priorKnown, got != "", prior.IsNull() || same(prior.ValueString(), got),
		func() (string, string) { return fmt.Sprintf("%q", prior.ValueString()), fmt.Sprintf("%q", got) }) {
		return prior
	}
	return optionalString(got)
}

// boolean is str for a flag the IdP may leave out (nil).
func (r *reconciler) boolean(attr string, prior types.Bool, got *bool) types.Bool {
	priorKnown := !prior.IsUnknown() && (r.mode == afterApply || !prior.IsNull())
	if r.keepPrior(attr, priorKnown, got != nil, prior.IsNull() || got != nil && prior.ValueBool() == *got,
		func() (string, string) { return fmt.Sprint(prior.ValueBool()), fmt.Sprint(*got) }) {
		return prior
	}
	if got == nil {
		return types.BoolNull()
	}
	return types.BoolValue(*got)
}

func (r *reconciler) set(attr string, prior types.Set, got []string) types.Set {
	var priorList []string
	if !prior.IsNull() && !prior.IsUnknown() {
		r.diags.Append(prior.ElementsAs(r.ctx, &priorList, false)...)
	}
	priorKnown := !prior.IsUnknown() && (r.mode == afterApply || !prior.IsNull())
	if r.keepPrior(attr, priorKnown, got != nil, prior.IsNull() || sameSet(priorList, got),
		func() (string, string) { return fmt.Sprintf("%q", priorList), fmt.Sprintf("%q", got) }) {
		return prior
	}
	if got == nil {
		return types.SetNull(types.StringType)
	}
	v, d := types.SetValueFrom(r.ctx, types.StringType, got)
	r.diags.Append(d...)
	return v
}

// extra keeps the user's keys only: for each, the IdP's value unless equivalent or absent.
func (r *reconciler) extra(prior jsontypes.Normalized, got map[string]json.RawMessage) jsontypes.Normalized {
	if prior.IsNull() || prior.IsUnknown() {
		return jsontypes.NewNormalizedNull()
	}
	fields, err := parseExtraMetadata(prior.ValueString())
	if err != nil {
		return prior
	}
	changed := false
	for k, want := range fields {
		have, ok := got[k]
		if !ok || sameJSON(string(want), string(have)) {
			continue
		}
		if r.mode == afterApply {
			r.diags.AddAttributeWarning(path.Root("extra_metadata"), "Identity provider changed extra_metadata",
				fmt.Sprintf("The identity provider stored %s as %s instead of %s, so the next plan will show a difference.",
					k, have, want))
			continue
		}
		fields[k], changed = have, true
	}
	if !changed {
		return prior
	}
	b, err := json.Marshal(fields)
	if err != nil {
		return prior
	}
	return jsontypes.NewNormalizedValue(string(b))
}

func optionalString(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}

func sameString(a, b string) bool { return a == b }

// sameScope compares space-separated scope lists as sets (RFC 6749 §3.3: order does not matter).
func sameScope(a, b string) bool { return sameSet(strings.Fields(a), strings.Fields(b)) }

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

func sameJSON(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return a == b
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

func isNotFound(err error) bool { return errors.Is(err, dcr.ErrNotFound) }
