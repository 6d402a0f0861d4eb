package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/idpgate/terraform-provider-idpgate/internal/dcr"
)

// createErrorDiags explains a failed registration. A lost answer gets its own diagnostic: the
// client may exist at the IdP, and the user must find it before applying again.
func createErrorDiags(idp *idpSettings, plan dcrClientModel, err error) diag.Diagnostics {
	if !errors.Is(err, dcr.ErrOutcomeUnknown) {
		return idpErrorDiags(idp, "registering the client", err)
	}
	var diags diag.Diagnostics
	name := plan.ClientName.ValueString()
	if name == "" {
		name = "(no client_name)"
	}
	importHint := "terraform import idpgate_dcr_client.NAME 'REGISTRATION_CLIENT_URI,REGISTRATION_ACCESS_TOKEN' " +
		"(both come with the identity provider's answer to a registration, which was lost here; without them, delete " +
		"the client in the identity provider's console instead)"
	if idp.Driver == dcr.DriverOkta {
		importHint = "terraform import idpgate_dcr_client.NAME CLIENT_ID (the client_id shown in Okta's admin console)"
	}
	diags.AddError("Client registration outcome unknown",
		fmt.Sprintf("The registration request reached the identity provider but its answer was lost, so a client "+
			"named %s may have been created. The request was not sent again, because a second registration would "+
			"leave an orphaned client. Look for the client at the identity provider: if it exists, either import it with\n"+
			"  %s\nor delete it, then apply again. Underlying error: %v", name, importHint, err))
	return diags
}

// idpErrorDiags turns an identity provider failure into a diagnostic that names the attribute
// to change where the IdP's answer allows, or the provider setting to check. action reads like
// "updating client abc".
func idpErrorDiags(idp *idpSettings, action string, err error) diag.Diagnostics {
	var diags diag.Diagnostics
	var e *dcr.Error
	if !errors.As(err, &e) {
		if errors.Is(err, dcr.ErrOutcomeUnknown) {
			diags.AddError("Identity provider answer lost",
				fmt.Sprintf("While %s, the identity provider's answer was lost. Run terraform apply again; if it "+
					"keeps failing, check the identity provider. Underlying error: %v", action, err))
			return diags
		}
		return append(diags, idpNoAnswerDiag(action, err))
	}

	idpSays := e.Code
	if e.Description != "" {
		idpSays = strings.TrimPrefix(idpSays+": "+e.Description, ": ")
	}
	if idpSays == "" {
		idpSays = http.StatusText(e.StatusCode)
	}
	switch {
	case e.Retryable():
		diags.AddError("Identity provider unavailable",
			fmt.Sprintf("While %s, the identity provider answered HTTP %d (%s) after %d retries. Try again later, or "+
				"raise max_retries (IDPGATE_MAX_RETRIES).", action, e.StatusCode, idpSays, idp.MaxRetries))
	case (e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden) &&
		(e.Op == "register" || idp.Driver == dcr.DriverOkta):
		what := "an initial access token that the identity provider accepts for registration"
		if idp.Driver == dcr.DriverOkta {
			what = "an Okta API token with the okta.clients.manage permission"
		}
		diags.AddAttributeError(path.Root("initial_access_token"), "Identity provider refused the credentials",
			fmt.Sprintf("While %s, the identity provider answered HTTP %d: %s. Check initial_access_token "+
				"(IDPGATE_INITIAL_ACCESS_TOKEN): it must be %s.", action, e.StatusCode, idpSays, what))
	case e.Op == "register" && (e.StatusCode == http.StatusNotFound || e.StatusCode == http.StatusMethodNotAllowed):
		// Nothing at that URL takes registrations: the endpoint is wrong, not the client.
		diags.AddAttributeError(path.Root("registration_endpoint"), "No registration endpoint at that URL",
			fmt.Sprintf("While %s, %s answered HTTP %d: %s. Set registration_endpoint (IDPGATE_REGISTRATION_ENDPOINT) "+
				"to the identity provider's dynamic client registration URL, check that dynamic registration is "+
				"enabled there, and that idp_driver matches the identity provider.", action, e.URL, e.StatusCode, idpSays))
	case e.StatusCode == http.StatusForbidden:
		diags.AddAttributeError(path.Root("registration_access_token"), "Identity provider refused the registration access token",
			fmt.Sprintf("While %s, the identity provider answered HTTP 403: %s. The stored registration access token "+
				"may not manage this client any more: import the client again with a current token.", action, idpSays))
	default:
		attr := e.Field()
		if attr == "" {
			attr = attributeNamedIn(e.Description)
		}
		if attr != "" {
			diags.AddAttributeError(path.Root(attr), "Identity provider rejected "+attr,
				fmt.Sprintf("The identity provider rejected %s: %s (HTTP %d, while %s). Change %s to a value the "+
					"identity provider accepts.", attr, idpSays, e.StatusCode, action, attr))
			return diags
		}
		diags.AddError("Identity provider rejected the client",
			fmt.Sprintf("While %s, the identity provider answered HTTP %d: %s. Change the client's attributes as "+
				"the message says.", action, e.StatusCode, idpSays))
	}
	return diags
}

// idpNoAnswerDiag explains a failure that is not an error answer of the IdP. Only an IdP that
// never answered is "unreachable"; one that answered without what registration needs is told
// apart, so that the user looks at the right setting.
func idpNoAnswerDiag(action string, err error) diag.Diagnostic {
	switch {
	case errors.Is(err, dcr.ErrNoRegistrationEndpoint):
		return diag.NewAttributeErrorDiagnostic(path.Root("registration_endpoint"),
			"Identity provider advertises no registration endpoint",
			fmt.Sprintf("While %s: the identity provider's discovery document names no registration_endpoint, and "+
				"the driver knows no documented default. Set registration_endpoint (IDPGATE_REGISTRATION_ENDPOINT) to "+
				"the identity provider's dynamic client registration URL, and check that dynamic registration is "+
				"enabled there; with Ory Hydra, set idp_driver = \"hydra\". Underlying error: %v", action, err))
	case errors.Is(err, dcr.ErrDiscovery):
		return diag.NewAttributeErrorDiagnostic(path.Root("issuer"), "Identity provider discovery failed",
			fmt.Sprintf("While %s: the identity provider answered, but no usable discovery document was found for "+
				"the issuer. Set issuer (IDPGATE_ISSUER) exactly as the identity provider publishes it, or give "+
				"registration_endpoint (IDPGATE_REGISTRATION_ENDPOINT). Underlying error: %v", action, err))
	case errors.Is(err, dcr.ErrInvalidMetadata):
		return diag.NewErrorDiagnostic("Invalid client metadata",
			fmt.Sprintf("While %s: %v. Nothing was sent to the identity provider; change the attribute the "+
				"message names.", action, err))
	case errors.Is(err, dcr.ErrUnreachable), errors.Is(err, context.DeadlineExceeded):
		return diag.NewErrorDiagnostic("Cannot reach the identity provider",
			fmt.Sprintf("While %s, the identity provider did not answer (in time). Check issuer (IDPGATE_ISSUER), "+
				"registration_endpoint (IDPGATE_REGISTRATION_ENDPOINT), ca_bundle, request_timeout and the resource's "+
				"timeouts block. Underlying error: %v", action, err))
	}
	// Anything else came back from the IdP in a form the protocol does not allow (an answer
	// that is not the JSON the RFC prescribes, a client without registration_client_uri).
	return diag.NewErrorDiagnostic("Unexpected answer from the identity provider",
		fmt.Sprintf("While %s, the identity provider's answer could not be used. Check that idp_driver matches the "+
			"identity provider and that registration_endpoint (IDPGATE_REGISTRATION_ENDPOINT) is its registration "+
			"URL. Underlying error: %v", action, err))
}

// attributeNamedIn finds the metadata attribute an IdP's error description is about, e.g.
// "application_type: The 'client_credentials' grant type can only be used alone by ...".
func attributeNamedIn(description string) string {
	best, at := "", len(description)
	for _, a := range dcrMetadataAttributes {
		if i := strings.Index(description, a); i >= 0 && (i < at || (i == at && len(a) > len(best))) {
			best, at = a, i
		}
	}
	return best
}
