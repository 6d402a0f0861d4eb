package token

// Code is the error code of a refused token: an RFC 6750 §3.1 code, or
// temporarily_unavailable for an IdP or JWKS that cannot be reached.
type Code string

const (
	// CodeInvalid: the token is malformed, forged, expired or revoked (answered with 401).
	CodeInvalid Code = "invalid_token"
	// CodeInsufficientScope: the token is valid but lacks a scope the API requires
	// (answered with 403; Error.Scopes lists the API's required scopes).
	CodeInsufficientScope Code = "insufficient_scope"
	// CodeUnavailable: the token could not be checked because the IdP, its JWKS or its
	// introspection endpoint cannot be reached (answered with 503).
	CodeUnavailable Code = "temporarily_unavailable"
)

// Error is a refused token. Description is safe to send to the client (RFC 6750
// error_description); Reason is for logs and metrics only and must never reach a response
// body (it may say why a signature failed).
type Error struct {
	Code        Code
	Description string
	Reason      string
	// Scopes, for CodeInsufficientScope, are the scopes the API requires (all of them, for
	// the scope attribute of the RFC 6750 challenge). Read-only: it may be shared.
	Scopes []string
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Reason }

// invalid refuses a token; reason is for logs only (it may say why a signature failed).
func invalid(reason string) *Error {
	return &Error{Code: CodeInvalid, Description: "The access token is invalid.", Reason: reason}
}

// notForResource refuses a token whose aud lacks the API's resource (RFC 8707): issued for
// another API, it must not be replayed here.
func notForResource() *Error {
	return &Error{Code: CodeInvalid, Description: "The access token was not issued for this resource (aud).",
		Reason: "aud does not contain the resource"}
}

func expired() *Error {
	return &Error{Code: CodeInvalid, Description: "The access token expired.", Reason: "token expired"}
}

func unavailable(reason string) *Error {
	return &Error{Code: CodeUnavailable, Description: "The token issuer cannot be reached; retry later.", Reason: reason}
}

// checkScopes passes id when it carries every required scope, and otherwise refuses it with
// insufficient_scope naming the first missing scope in the reason and all required scopes in
// Scopes.
func checkScopes(id *Identity, required []string) (*Identity, error) {
	for _, s := range required {
		if !id.HasScope(s) {
			return nil, &Error{
				Code:        CodeInsufficientScope,
				Description: "The access token lacks a scope this API requires.",
				Reason:      "missing scope " + s,
				Scopes:      required,
			}
		}
	}
	return id, nil
}
