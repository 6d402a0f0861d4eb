package mockidp

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// apiError is a refused request. By default it is written as an RFC 6749 §5.2 / RFC 7591
// §3.2.2 error object; body replaces that object for IdPs with their own error shape (Okta).
type apiError struct {
	status          int
	code            string
	description     string
	wwwAuthenticate string
	body            map[string]any
}

func (e *apiError) Error() string {
	if e.body != nil {
		return fmt.Sprintf("%d %v: %v", e.status, e.body["errorCode"], e.body["errorSummary"])
	}
	return fmt.Sprintf("%d %s: %s", e.status, e.code, e.description)
}

func (e *apiError) write(w http.ResponseWriter) {
	if e.wwwAuthenticate != "" {
		w.Header().Set("WWW-Authenticate", e.wwwAuthenticate)
	}
	if e.body != nil {
		writeJSON(w, e.status, e.body)
		return
	}
	writeOAuthError(w, e.status, e.code, e.description)
}

func badMetadata(description string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "invalid_client_metadata", description: description}
}

func badRedirectURI(description string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "invalid_redirect_uri", description: description}
}

// invalidRegistrationToken is RFC 7592 §2: an unknown client or a wrong registration access
// token is answered 401 (the server must not reveal which).
func invalidRegistrationToken() *apiError {
	return &apiError{
		status:          http.StatusUnauthorized,
		code:            "invalid_token",
		description:     "the registration access token is not valid for this client",
		wwwAuthenticate: `Bearer error="invalid_token"`,
	}
}

func writeOAuthError(w http.ResponseWriter, status int, code, description string) {
	body := map[string]any{"error": code}
	if description != "" {
		body["error_description"] = description
	}
	writeJSON(w, status, body)
}

// writeJSON answers with a JSON body; every answer may carry credentials, so none is cached.
func writeJSON(w http.ResponseWriter, status int, body any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-store")
		h.Set("Pragma", "no-cache")
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
