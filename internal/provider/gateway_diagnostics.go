package provider

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

// gatewayErrorDiags turns an admin API failure into diagnostics that tell the user what to
// change: the provider setting for an unreachable gateway or a refused admin token, the
// attribute the gateway named for a rejected value. action reads like "creating protected API
// \"orders\"".
func gatewayErrorDiags(ctx context.Context, s schema.Schema, action string, err error) diag.Diagnostics {
	var diags diag.Diagnostics
	var apiErr *adminapi.Error
	if summary, detail, ok := gatewayTLSProblem(err); ok {
		diags.AddError(summary, fmt.Sprintf("While %s, %s Underlying error: %v", action, detail, err))
		return diags
	}
	if !errors.As(err, &apiErr) {
		diags.AddError("Cannot reach the idpgate gateway",
			fmt.Sprintf("While %s, the gateway's admin API did not answer. Check that gateway_url (or "+
				"IDPGATE_GATEWAY_URL) is the address of the gateway's admin listener (idpgate serve "+
				"--admin-listen) and that the gateway is running. Underlying error: %v", action, err))
		return diags
	}
	switch {
	case apiErr.Status == http.StatusUnauthorized:
		// A provider setting, not an attribute of this resource: no attribute path.
		diags.AddError("Gateway refused the admin token",
			fmt.Sprintf("While %s, the gateway refused the admin token: set gateway_admin_token / "+
				"IDPGATE_GATEWAY_ADMIN_TOKEN to the gateway's IDPGATE_ADMIN_TOKEN.", action))
	case apiErr.Field != "":
		summary := "Gateway rejected " + apiErr.Field
		detail := fmt.Sprintf("While %s, the gateway rejected the value of %s: %s (HTTP %d). Change %s in the "+
			"configuration.", action, apiErr.Field, apiErr.Message, apiErr.Status, apiErr.Field)
		if p, ok := attributePathOf(ctx, s, apiErr.Field); ok {
			diags.AddAttributeError(displayPath(p), summary, detail)
		} else {
			diags.AddError(summary, detail)
		}
	case apiErr.Status == http.StatusConflict:
		diags.AddError("Gateway reported a conflict",
			fmt.Sprintf("While %s, the gateway refused because of other objects it holds: %s (HTTP 409).",
				action, apiErr.Message))
	default:
		diags.AddError("Gateway admin API error",
			fmt.Sprintf("While %s, the gateway answered: %s (HTTP %d).", action, apiErr.Message, apiErr.Status))
	}
	return diags
}

// validationDiags reports the result of an adminapi Validate() call at plan time.
func validationDiags(ctx context.Context, s schema.Schema, err error) diag.Diagnostics {
	var diags diag.Diagnostics
	if err == nil {
		return diags
	}
	var apiErr *adminapi.Error
	if !errors.As(err, &apiErr) || apiErr.Field == "" {
		diags.AddError("Invalid configuration", err.Error())
		return diags
	}
	p, ok := attributePathOf(ctx, s, apiErr.Field)
	if !ok {
		diags.AddError("Invalid "+apiErr.Field, fmt.Sprintf("%s: %s.", apiErr.Field, strings.TrimSuffix(apiErr.Message, ".")))
		return diags
	}
	// Named as the user wrote it: an index into a set (the gateway's, sorted) is left out,
	// the message quotes the element.
	name := fieldLabel(p)
	diags.AddAttributeError(displayPath(p), "Invalid "+name,
		fmt.Sprintf("%s: %s.", name, strings.TrimSuffix(apiErr.Message, ".")))
	return diags
}

// fieldLabel spells an attribute path as the configuration and the admin API name it:
// "access_rights[0].methods", "rate_limit.per", "forward_claims.X-Team". An element of a
// set is left out (it has no index the user wrote).
func fieldLabel(p path.Path) string {
	var b strings.Builder
	for _, step := range p.Steps() {
		switch st := step.(type) {
		case path.PathStepAttributeName:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(string(st))
		case path.PathStepElementKeyInt:
			fmt.Fprintf(&b, "[%d]", int64(st))
		case path.PathStepElementKeyString:
			b.WriteString("." + string(st))
		}
	}
	return b.String()
}

// displayPath is the part of p that Terraform (and OpenTofu) can find in the configuration:
// a top-level attribute, and one index or key into it. Terraform looks no further into a
// nested attribute: given all of "rate_limit.per" it shows the resource's first line; given
// "rate_limit" it shows the rate_limit attribute, and given "access_rights[1]" the element
// the user wrote. The diagnostic's text names the full attribute (fieldLabel).
func displayPath(p path.Path) path.Path {
	steps := p.Steps()
	if len(steps) <= 1 {
		return p
	}
	name, ok := steps[0].(path.PathStepAttributeName)
	if !ok {
		return p
	}
	out := path.Root(string(name))
	switch st := steps[1].(type) {
	case path.PathStepElementKeyInt:
		return out.AtListIndex(int(st))
	case path.PathStepElementKeyString:
		return out.AtMapKey(string(st))
	}
	return out
}

var fieldSegment = regexp.MustCompile(`^([A-Za-z0-9_]+)((?:\[[^\]]*\])*)$`)

// attributePathOf maps an admin API field name ("rate_limit.per", "access_rights[0].api_id",
// "forward_claims.X-Team") to the Terraform attribute path. The wire names are the attribute
// names, so only collections need care: an index into a list of objects becomes a list step,
// one into a set ends the path at the set, and what follows a map's name is its key. It
// returns false when no prefix of the field is an attribute.
func attributePathOf(ctx context.Context, s schema.Schema, field string) (path.Path, bool) {
	var p path.Path
	found := false
	segs := strings.Split(field, ".")
	for i, seg := range segs {
		if found && attributeIs[schema.MapAttribute](ctx, s, p) {
			return p.AtMapKey(strings.Join(segs[i:], ".")), true
		}
		m := fieldSegment.FindStringSubmatch(seg)
		if m == nil {
			break
		}
		next := appendName(p, found, m[1])
		if _, diags := s.AttributeAtPath(ctx, next); diags.HasError() {
			break
		}
		p, found = next, true
		indexes := strings.TrimSuffix(strings.TrimPrefix(m[2], "["), "]")
		if indexes == "" {
			continue
		}
		idx, err := strconv.Atoi(strings.Split(indexes, "][")[0])
		if err != nil {
			return p, true
		}
		if attributeIs[schema.ListAttribute](ctx, s, p) {
			return p.AtListIndex(idx), true // an element of a list (conditions[1]): the diagnostic points at it
		}
		if !attributeIs[schema.ListNestedAttribute](ctx, s, p) {
			return p, true
		}
		p = p.AtListIndex(idx)
	}
	return p, found
}

func appendName(p path.Path, started bool, name string) path.Path {
	if !started {
		return path.Root(name)
	}
	return p.AtName(name)
}

// attributeIs reports whether s has an attribute of kind A at p.
func attributeIs[A schema.Attribute](ctx context.Context, s schema.Schema, p path.Path) bool {
	a, diags := s.AttributeAtPath(ctx, p)
	if diags.HasError() {
		return false
	}
	_, ok := a.(A)
	return ok
}

// gatewayTLSProblem recognizes a failed TLS handshake with the admin listener and says which
// provider setting fixes it.
func gatewayTLSProblem(err error) (summary, detail string, ok bool) {
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	switch {
	case errors.As(err, &unknownCA):
		return "Gateway certificate not trusted", "the gateway's admin listener presented a certificate signed by a CA " +
			"the provider does not trust: set gateway_ca_bundle (or IDPGATE_GATEWAY_CA_BUNDLE) to the PEM text of the CA " +
			"that issued it.", true
	case errors.As(err, &hostname):
		return "Gateway certificate does not match gateway_url", "the certificate of the gateway's admin listener is " +
			"not valid for the host in gateway_url (or IDPGATE_GATEWAY_URL): use a name or address the certificate " +
			"lists, or issue it for that host.", true
	case strings.Contains(err.Error(), "remote error: tls:"):
		return "Gateway refused the TLS handshake", "the gateway's admin listener refused the TLS handshake; when it " +
			"requires client certificates (idpgate serve --admin-client-ca), set gateway_client_cert and " +
			"gateway_client_key (or IDPGATE_GATEWAY_CLIENT_CERT and IDPGATE_GATEWAY_CLIENT_KEY) to a certificate " +
			"issued by that CA and its key.", true
	case strings.Contains(err.Error(), "HTTP request to an HTTPS server"):
		return "Gateway admin listener speaks HTTPS", "gateway_url (or IDPGATE_GATEWAY_URL) is http:// but the admin " +
			"listener has a certificate: use https://, and set gateway_ca_bundle (or IDPGATE_GATEWAY_CA_BUNDLE) when " +
			"its CA is not one the system trusts.", true
	case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return "Gateway admin listener speaks plain HTTP", "gateway_url (or IDPGATE_GATEWAY_URL) is https:// but the " +
			"admin listener has no certificate: use http://, or start idpgate serve with --admin-tls-cert.", true
	}
	return "", "", false
}
