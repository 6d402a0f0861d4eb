package dcr

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrNotFound means the identity provider no longer knows the client: it answered 404, or the
// 401 that RFC 7592 §2.1 prescribes for a client that does not exist (Okta: 401
// invalid_client). A 5xx never yields ErrNotFound.
var ErrNotFound = errors.New("client not found at the identity provider")

// ErrUnknownDriver means Config.Driver names no driver; New's other errors are about the
// issuer or the registration endpoint.
var ErrUnknownDriver = errors.New("unknown identity provider driver")

// ErrOutcomeUnknown means a request was sent but its answer was lost (connection dropped,
// timeout after the request was written, a gateway error). For a registration that means a
// client may exist at the IdP that the caller does not know about; it is never re-sent.
var ErrOutcomeUnknown = errors.New("the identity provider may have processed the request, but its answer was lost")

// ErrUnreachable means no answer came from the identity provider at all: the connection was
// refused, the name did not resolve, TLS failed, or every attempt timed out before a request
// was written. Only this error means "check the address".
var ErrUnreachable = errors.New("the identity provider could not be reached")

// ErrDiscovery means the identity provider answered, but no usable discovery document was
// found at the issuer: none at the well-known paths, one that is not JSON, or one naming
// another issuer.
var ErrDiscovery = errors.New("no usable discovery document at the issuer")

// ErrNoRegistrationEndpoint means the discovery document advertises no registration_endpoint
// and the driver knows no documented default: registration_endpoint must be given.
var ErrNoRegistrationEndpoint = errors.New("the identity provider advertises no registration_endpoint")

// ErrInvalidMetadata means the client metadata was refused before anything was sent.
var ErrInvalidMetadata = errors.New("invalid client metadata")

// Error is an answer of the identity provider that is not a success. Code and Description
// are the RFC 7591 §3.2.2 / RFC 6749 error fields when the IdP sent them.
type Error struct {
	Op          string // register, read, update, delete, discover
	Method      string
	URL         string
	StatusCode  int
	Code        string // e.g. invalid_redirect_uri, invalid_client_metadata
	Description string
	// outcomeUnknown marks gateway errors to a registration, after which the client may exist.
	outcomeUnknown bool
	notFound       bool
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s %s: HTTP %d", e.Op, e.Method, e.URL, e.StatusCode)
	if e.Code != "" {
		fmt.Fprintf(&b, ": %s", e.Code)
	}
	if e.Description != "" {
		fmt.Fprintf(&b, ": %s", e.Description)
	}
	return b.String()
}

// Is lets errors.Is(err, ErrNotFound) and errors.Is(err, ErrOutcomeUnknown) see through Error.
func (e *Error) Is(target error) bool {
	return (target == ErrNotFound && e.notFound) || (target == ErrOutcomeUnknown && e.outcomeUnknown)
}

// Retryable reports whether the IdP was only temporarily unable to answer (429, 5xx).
func (e *Error) Retryable() bool {
	return e.StatusCode == 429 || e.StatusCode >= 500
}

// Field names the client metadata field an RFC 7591 error code is about, or "" when the code
// does not say. The description often names the field too, so the caller shows both.
func (e *Error) Field() string {
	switch e.Code {
	case "invalid_redirect_uri":
		return "redirect_uris"
	case "invalid_software_statement", "unapproved_software_statement":
		return "software_statement"
	}
	return ""
}

// errorBody is the RFC 7591 §3.2.2 error response; Okta adds errorCode/errorSummary.
type errorBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	OktaCode         string `json:"errorCode"`
	OktaSummary      string `json:"errorSummary"`
	OktaCauses       []struct {
		Summary string `json:"errorSummary"`
	} `json:"errorCauses"`
}

// newError builds an Error from an answer body, keeping only the error fields: bodies of
// failed management calls may echo credentials and are never copied into the error.
func newError(op, method, url string, status int, body []byte) *Error {
	e := &Error{Op: op, Method: method, URL: url, StatusCode: status}
	var eb errorBody
	if json.Unmarshal(body, &eb) == nil {
		e.Code, e.Description = eb.Error, eb.ErrorDescription
		if e.Code == "" && eb.OktaCode != "" {
			e.Code, e.Description = eb.OktaCode, eb.OktaSummary
			// "Api validation failed: x" says little; the causes say why.
			for _, cause := range eb.OktaCauses {
				if cause.Summary != "" {
					e.Description += "; " + cause.Summary
				}
			}
		}
	}
	e.Description = truncate(e.Description, 500)
	return e
}

// truncate keeps the first n runes of s, so that a cut never splits a UTF-8 sequence.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
