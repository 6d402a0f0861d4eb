package adminapi

import (
	"errors"
	"fmt"
	"net/http"
)

// Error codes carried in Error.Code.
const (
	CodeInvalidField     = "invalid_field"
	CodeUnauthorized     = "unauthorized"
	CodeNotFound         = "not_found"
	CodeMethodNotAllowed = "method_not_allowed"
	CodeConflict         = "conflict"
	CodeInternal         = "internal_error"
	// CodeUnavailable: the shared configuration store (Redis) is unreachable; nothing changed.
	CodeUnavailable = "store_unavailable"
)

// Error is the body of every admin API error answer. The client returns it (with Status set
// from the HTTP answer) as the error of a failed call.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"error"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("gateway admin API: %s: %s (HTTP %d)", e.Field, e.Message, e.Status)
	}
	return fmt.Sprintf("gateway admin API: %s (HTTP %d)", e.Message, e.Status)
}

// FieldError builds a 400 answer about one field.
func FieldError(field, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalidField, Field: field, Message: fmt.Sprintf(format, args...)}
}

// IsNotFound reports whether err is a 404 from the admin API.
func IsNotFound(err error) bool { return hasStatus(err, http.StatusNotFound) }

// IsConflict reports whether err is a 409 from the admin API.
func IsConflict(err error) bool { return hasStatus(err, http.StatusConflict) }

// IsUnauthorized reports whether err is a 401 from the admin API.
func IsUnauthorized(err error) bool { return hasStatus(err, http.StatusUnauthorized) }

func hasStatus(err error, status int) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == status
}
