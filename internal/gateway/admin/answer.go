package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/store"
)

// MaxBody bounds an admin request body; a policy or API is a few KiB at most.
const MaxBody = 1 << 20

// done answers a call that did not go through and reports whether it went through: err is
// the store's (storeError); applyErr, a write's, says it is stored but that the gateway
// could not load it (a reload failed; it has logged why), answered with a 500 instead of an
// acknowledgement while the previous snapshot keeps serving; the next successful reload,
// after any change or a restart, applies it.
func (h *handler) done(w http.ResponseWriter, err, applyErr error) bool {
	if err != nil {
		h.storeError(w, err)
		return false
	}
	if applyErr != nil {
		writeError(w, &adminapi.Error{Status: http.StatusInternalServerError, Code: adminapi.CodeInternal,
			Message: "the change is stored, but the gateway could not load its configuration and still serves the previous one; see its log"})
		return false
	}
	return true
}

// storeError answers an *adminapi.Error (404, 409) as it is and anything else as a 500
// whose details go to the log only.
func (h *handler) storeError(w http.ResponseWriter, err error) {
	var ae *adminapi.Error
	if errors.As(err, &ae) {
		writeError(w, ae)
		return
	}
	h.internalError(w, err)
}

// storeUnavailable is the answer to any admin call while the shared store (Redis) cannot be
// reached: nothing was changed, and the caller (Terraform retries 5xx) may try again.
func storeUnavailable(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "5")
	writeError(w, &adminapi.Error{Status: http.StatusServiceUnavailable, Code: adminapi.CodeUnavailable,
		Message: "the configuration store (Redis) is unreachable; nothing was changed, try again once it is back"})
}

func (h *handler) internalError(w http.ResponseWriter, err error) {
	if errors.Is(err, store.ErrUnavailable) {
		h.log.Warn("admin API call refused: configuration store unreachable", "error", err)
		storeUnavailable(w)
		return
	}
	h.log.Error("admin API store failure", "error", err)
	writeError(w, &adminapi.Error{Status: http.StatusInternalServerError, Code: adminapi.CodeInternal, Message: "the gateway could not access its store"})
}

// valid answers err, when there is one, as a 400 (or as the *adminapi.Error it is) and
// reports whether there was none.
func valid(w http.ResponseWriter, err error) bool {
	if err == nil {
		return true
	}
	var ae *adminapi.Error
	if !errors.As(err, &ae) {
		ae = &adminapi.Error{Status: http.StatusBadRequest, Code: adminapi.CodeInvalidField, Message: err.Error()}
	}
	writeError(w, ae)
	return false
}

// decodeBody reads one JSON object into v, refusing unknown fields, trailing data and bodies
// over MaxBody, and answers a 400 (413) that names the offending field.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, &adminapi.Error{Status: http.StatusRequestEntityTooLarge, Code: adminapi.CodeInvalidField,
				Message: fmt.Sprintf("request body larger than %d bytes", MaxBody)})
		} else {
			writeError(w, adminapi.FieldError("", "reading request body: %v", err))
		}
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, decodeError(raw, err))
		return false
	}
	if _, err := dec.Token(); err != io.EOF {
		writeError(w, adminapi.FieldError("", "request body must hold exactly one JSON object"))
		return false
	}
	return true
}

// decodeError turns an encoding/json error into a 400 naming the field.
func decodeError(raw []byte, err error) *adminapi.Error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return adminapi.FieldError(typeErr.Field, "must be a JSON %s", jsonKind(typeErr.Type.Kind().String()))
	case errors.As(err, &typeErr):
		return adminapi.FieldError("", "request body must be a JSON object")
	case errors.As(err, &syntaxErr), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return adminapi.FieldError("", "request body is not valid JSON: %v", err)
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return adminapi.FieldError(name, "unknown field %q", name)
	}
	// The remaining errors come from adminapi.Duration, whose message encoding/json does
	// not locate: find the duration that does not parse.
	return adminapi.FieldError(badDurationField(raw), "%s", strings.TrimPrefix(err.Error(), "json: "))
}

func jsonKind(goKind string) string {
	switch goKind {
	case "slice", "array":
		return "array"
	case "struct", "map", "ptr":
		return "object"
	case "int", "int64", "float64", "uint", "uint64":
		return "number"
	case "bool":
		return "boolean"
	}
	return goKind
}

// badDurationField returns the path of the first duration field in raw that does not hold a
// valid Go duration string.
func badDurationField(raw []byte) string {
	var doc map[string]any
	if json.Unmarshal(raw, &doc) != nil {
		return ""
	}
	for _, path := range [][]string{
		{"jwt", "leeway"}, {"introspection", "cache_ttl"}, {"rate_limit", "per"}, {"quota", "per"}, {"max_token_age"},
	} {
		var cur any = doc
		for _, k := range path {
			m, ok := cur.(map[string]any)
			if !ok {
				cur = nil
				break
			}
			cur = m[k]
		}
		if cur == nil {
			continue
		}
		var d adminapi.Duration
		b, _ := json.Marshal(cur)
		if d.UnmarshalJSON(b) != nil {
			return strings.Join(path, ".")
		}
	}
	return ""
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, e *adminapi.Error) {
	writeJSON(w, e.Status, e)
}
