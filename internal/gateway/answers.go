package gateway

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Refusals of the data plane. Bodies carry an RFC 6750 style error code and a description
// that is safe to show to a client; never why a signature or a lookup failed.

const realm = `Bearer realm="idpgate"`

// errorBody is the JSON body of every refusal.
type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

func writeError(w http.ResponseWriter, status int, code, description string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(errorBody{Error: code, Description: description})
}

// answerNoToken is RFC 6750 3.1: a request without credentials gets the challenge but no
// error code.
func answerNoToken(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", realm)
	writeError(w, http.StatusUnauthorized, "invalid_request", "a bearer token is required")
}

func answerInvalidToken(w http.ResponseWriter, description string) {
	if description == "" {
		description = "the access token is invalid"
	}
	w.Header().Set("WWW-Authenticate", realm+`, error="invalid_token", error_description="`+quotable(description)+`"`)
	writeError(w, http.StatusUnauthorized, "invalid_token", description)
}

func answerInsufficientScope(w http.ResponseWriter, scopes []string) {
	challenge := realm + `, error="insufficient_scope"`
	if len(scopes) > 0 {
		challenge += `, scope="` + quotable(strings.Join(scopes, " ")) + `"`
	}
	w.Header().Set("WWW-Authenticate", challenge)
	writeError(w, http.StatusForbidden, "insufficient_scope", "the access token lacks a required scope")
}

func answerAccessDenied(w http.ResponseWriter) {
	writeError(w, http.StatusForbidden, "access_denied", "no access policy grants this client this method and path")
}

func answerUnavailable(w http.ResponseWriter, description string) {
	w.Header().Set("Retry-After", "5")
	writeError(w, http.StatusServiceUnavailable, "temporarily_unavailable", description)
}

// setLimitHeaders writes X-RateLimit-Limit/Remaining/Reset (Reset in seconds from now, as
// GitHub and the IETF RateLimit draft do).
func setLimitHeaders(h http.Header, res *limitResult) {
	v := make([]string, 3) // one allocation for the three values
	v[0] = strconv.FormatInt(res.limit, 10)
	v[1] = strconv.FormatInt(res.remaining, 10)
	v[2] = strconv.FormatInt(ceilSeconds(res.reset), 10)
	h["X-Ratelimit-Limit"], h["X-Ratelimit-Remaining"], h["X-Ratelimit-Reset"] = v[0:1:1], v[1:2:2], v[2:3:3]
}

func answerLimited(w http.ResponseWriter, res *limitResult) {
	setLimitHeaders(w.Header(), res)
	w.Header().Set("Retry-After", strconv.FormatInt(max(1, ceilSeconds(res.retryAfter)), 10))
	desc := "rate limit exceeded"
	if res.exceeded == "quota" {
		desc = "quota exhausted"
	}
	writeError(w, http.StatusTooManyRequests, res.exceeded+"_exceeded", desc)
}

func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64(math.Ceil(d.Seconds()))
}

// quotable makes s safe inside an RFC 9110 quoted-string.
func quotable(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '"' || r == '\\' || r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}
