package provider

import (
	"context"
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
			diags.AddAttributeError(p, summary, detail)
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
	summary := "Invalid " + apiErr.Field
	detail := fmt.Sprintf("%s: %s.", apiErr.Field, strings.TrimSuffix(apiErr.Message, "."))
	if p, ok := attributePathOf(ctx, s, apiErr.Field); ok {
		diags.AddAttributeError(p, summary, detail)
	} else {
		diags.AddError(summary, detail)
	}
	return diags
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
		if found && isMap(ctx, s, p) {
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
		if !isListOfObjects(ctx, s, p) {
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

func isListOfObjects(ctx context.Context, s schema.Schema, p path.Path) bool {
	a, diags := s.AttributeAtPath(ctx, p)
	if diags.HasError() {
		return false
	}
	_, ok := a.(schema.ListNestedAttribute)
	return ok
}

func isMap(ctx context.Context, s schema.Schema, p path.Path) bool {
	a, diags := s.AttributeAtPath(ctx, p)
	if diags.HasError() {
		return false
	}
	_, ok := a.(schema.MapAttribute)
	return ok
}
