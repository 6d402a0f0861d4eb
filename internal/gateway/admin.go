package gateway

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/config"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/store"
)

// maxAdminBody bounds an admin request body; a policy or API is a few KiB at most.
const maxAdminBody = 1 << 20

// adminRoutes serves the routes documented in package adminapi, behind the admin token.
func (g *Gateway) adminRoutes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/apis", g.listAPIs)
	mux.HandleFunc("POST /v1/apis", g.createAPI)
	mux.HandleFunc("GET /v1/apis/{id}", g.getAPI)
	mux.HandleFunc("PUT /v1/apis/{id}", g.replaceAPI)
	mux.HandleFunc("DELETE /v1/apis/{id}", g.deleteAPI)
	mux.HandleFunc("GET /v1/policies", g.listPolicies)
	mux.HandleFunc("POST /v1/policies", g.createPolicy)
	mux.HandleFunc("GET /v1/policies/{id}", g.getPolicy)
	mux.HandleFunc("PUT /v1/policies/{id}", g.replacePolicy)
	mux.HandleFunc("DELETE /v1/policies/{id}", g.deletePolicy)
	mux.HandleFunc("POST /v1/decisions", g.decide) // admin_decision.go
	// A known path with another method is a 405 naming the methods it has (the method-less
	// patterns are less specific than the ones above, so they only catch the rest).
	for path, allow := range map[string]string{
		"/v1/apis": "GET, HEAD, POST", "/v1/apis/{id}": "GET, HEAD, PUT, DELETE",
		"/v1/policies": "GET, HEAD, POST", "/v1/policies/{id}": "GET, HEAD, PUT, DELETE",
		"/v1/decisions": "POST",
	} {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			writeAdminError(w, &adminapi.Error{Status: http.StatusMethodNotAllowed, Code: adminapi.CodeMethodNotAllowed,
				Message: fmt.Sprintf("%s is not allowed on %s; use %s", r.Method, r.URL.Path, allow)})
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeAdminError(w, &adminapi.Error{Status: http.StatusNotFound, Code: adminapi.CodeNotFound,
			Message: fmt.Sprintf("no admin API route %s %s", r.Method, r.URL.Path)})
	})
	return g.requireAdminToken(mux)
}

// requireAdminToken lets a request through only with "Authorization: Bearer <admin token>".
// Both sides are hashed first so the constant-time compare does not leak the length.
func (g *Gateway) requireAdminToken(next http.Handler) http.Handler {
	want := sha256.Sum256([]byte(g.adminToken))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, _ := bearerToken(r.Header.Get("Authorization"))
		got := sha256.Sum256([]byte(token))
		if token == "" || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="idpgate-admin"`)
			writeAdminError(w, &adminapi.Error{Status: http.StatusUnauthorized, Code: adminapi.CodeUnauthorized,
				Message: "a valid admin token is required (Authorization: Bearer <IDPGATE_ADMIN_TOKEN>)"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (g *Gateway) listAPIs(w http.ResponseWriter, r *http.Request) {
	after, limit, ok := pageParams(w, r)
	if !ok {
		return
	}
	apis, next, err := g.store.ListAPIs(after, limit)
	if err != nil {
		g.internalError(w, err)
		return
	}
	for i := range apis {
		redact(&apis[i])
	}
	writeJSON(w, http.StatusOK, adminapi.APIList{APIs: apis, NextAfter: next})
}

// pageParams reads ?limit= (default adminapi.DefaultPageSize, at most adminapi.MaxPageSize)
// and ?after= (the id the page starts after), or answers a 400 naming the bad one.
func pageParams(w http.ResponseWriter, r *http.Request) (after string, limit int, ok bool) {
	q := r.URL.Query()
	limit = adminapi.DefaultPageSize
	if raw := q.Get("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > adminapi.MaxPageSize {
			writeAdminError(w, adminapi.FieldError("limit", "limit %q must be a whole number from 1 to %d", raw, adminapi.MaxPageSize))
			return "", 0, false
		}
		limit = n
	}
	return q.Get("after"), limit, true
}

func (g *Gateway) getAPI(w http.ResponseWriter, r *http.Request) {
	api, err := g.store.GetAPI(r.PathValue("id"))
	g.answerAPI(w, http.StatusOK, api, err, nil)
}

func (g *Gateway) createAPI(w http.ResponseWriter, r *http.Request) {
	var in adminapi.API
	if !decodeBody(w, r, &in) || !valid(w, in.Validate()) || !valid(w, g.checkAPIPlacement(&in)) {
		return
	}
	var api *adminapi.API
	err, applyErr := g.config.Commit(func() (c config.Change, err error) {
		var v int64
		api, v, err = g.store.CreateAPI(in)
		return apiChange(v, api), err
	})
	g.answerAPI(w, http.StatusCreated, api, err, applyErr)
}

func (g *Gateway) replaceAPI(w http.ResponseWriter, r *http.Request) {
	var in adminapi.API
	if !decodeBody(w, r, &in) || !valid(w, in.Validate()) || !valid(w, g.checkAPIPlacement(&in)) {
		return
	}
	var api *adminapi.API
	err, applyErr := g.config.Commit(func() (c config.Change, err error) {
		var v int64
		api, v, err = g.store.ReplaceAPI(r.PathValue("id"), in)
		return apiChange(v, api), err
	})
	g.answerAPI(w, http.StatusOK, api, err, applyErr)
}

func (g *Gateway) deleteAPI(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	err, applyErr := g.config.Commit(func() (config.Change, error) {
		v, err := g.store.DeleteAPI(id)
		return config.Change{Version: v, APIID: id}, err
	})
	g.answerDelete(w, err, applyErr)
}

// apiChange is the change of a write that stored api (a copy: the answer is redacted).
func apiChange(version int64, api *adminapi.API) config.Change {
	if api == nil {
		return config.Change{}
	}
	c := *api
	return config.Change{Version: version, APIID: api.ID, API: &c}
}

// answerAPI answers a read or a write of an API: err is the store's, applyErr (writes) the
// snapshot's.
func (g *Gateway) answerAPI(w http.ResponseWriter, status int, api *adminapi.API, err, applyErr error) {
	if err != nil {
		g.storeError(w, err)
		return
	}
	if !g.served(w, applyErr) {
		return
	}
	redact(api)
	writeJSON(w, status, api)
}

// redact replaces the introspection client secret with client_secret_set: it is write-only.
// The Introspection struct is copied, not changed: the snapshot may share it.
func redact(api *adminapi.API) {
	if api.Introspection != nil {
		in := *api.Introspection
		in.ClientSecretSet = in.ClientSecret != ""
		in.ClientSecret = ""
		api.Introspection = &in
	}
}

func (g *Gateway) listPolicies(w http.ResponseWriter, r *http.Request) {
	after, limit, ok := pageParams(w, r)
	if !ok {
		return
	}
	ps, next, err := g.store.ListPolicies(after, limit)
	if err != nil {
		g.internalError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, adminapi.PolicyList{Policies: ps, NextAfter: next})
}

func (g *Gateway) getPolicy(w http.ResponseWriter, r *http.Request) {
	p, err := g.store.GetPolicy(r.PathValue("id"))
	g.answerPolicy(w, http.StatusOK, p, err, nil)
}

func (g *Gateway) createPolicy(w http.ResponseWriter, r *http.Request) {
	var in adminapi.Policy
	if !decodeBody(w, r, &in) || !valid(w, in.Validate()) {
		return
	}
	var p *adminapi.Policy
	err, applyErr := g.config.Commit(func() (c config.Change, err error) {
		var v int64
		p, v, err = g.store.CreatePolicy(in)
		return policyChange(v, p), err
	})
	g.answerPolicy(w, http.StatusCreated, p, err, applyErr)
}

func (g *Gateway) replacePolicy(w http.ResponseWriter, r *http.Request) {
	var in adminapi.Policy
	if !decodeBody(w, r, &in) || !valid(w, in.Validate()) {
		return
	}
	var p *adminapi.Policy
	err, applyErr := g.config.Commit(func() (c config.Change, err error) {
		var v int64
		p, v, err = g.store.ReplacePolicy(r.PathValue("id"), in)
		return policyChange(v, p), err
	})
	g.answerPolicy(w, http.StatusOK, p, err, applyErr)
}

func (g *Gateway) deletePolicy(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	err, applyErr := g.config.Commit(func() (config.Change, error) {
		v, err := g.store.DeletePolicy(id)
		return config.Change{Version: v, PolicyID: id}, err
	})
	g.answerDelete(w, err, applyErr)
}

func policyChange(version int64, p *adminapi.Policy) config.Change {
	if p == nil {
		return config.Change{}
	}
	return config.Change{Version: version, PolicyID: p.ID, Policy: p}
}

func (g *Gateway) answerPolicy(w http.ResponseWriter, status int, p *adminapi.Policy, err, applyErr error) {
	if err != nil {
		g.storeError(w, err)
		return
	}
	if !g.served(w, applyErr) {
		return
	}
	writeJSON(w, status, p)
}

func (g *Gateway) answerDelete(w http.ResponseWriter, err, applyErr error) {
	if err != nil {
		g.storeError(w, err)
		return
	}
	if !g.served(w, applyErr) {
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// served answers a write that is stored but that the gateway could not load (applyErr: a
// reload failed; it has logged why) with a 500 instead of an acknowledgement, while the
// previous snapshot keeps serving; the next successful reload, after any change or a
// restart, applies it.
func (g *Gateway) served(w http.ResponseWriter, applyErr error) bool {
	if applyErr != nil {
		writeAdminError(w, &adminapi.Error{Status: http.StatusInternalServerError, Code: adminapi.CodeInternal,
			Message: "the change is stored, but the gateway could not load its configuration and still serves the previous one; see its log"})
		return false
	}
	return true
}

// storeError answers an *adminapi.Error (404, 409) as it is and anything else as a 500
// whose details go to the log only.
func (g *Gateway) storeError(w http.ResponseWriter, err error) {
	var ae *adminapi.Error
	if errors.As(err, &ae) {
		writeAdminError(w, ae)
		return
	}
	g.internalError(w, err)
}

// storeUnavailable is the answer to any admin call while the shared store (Redis) cannot be
// reached: nothing was changed, and the caller (Terraform retries 5xx) may try again.
func storeUnavailable(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "5")
	writeAdminError(w, &adminapi.Error{Status: http.StatusServiceUnavailable, Code: adminapi.CodeUnavailable,
		Message: "the configuration store (Redis) is unreachable; nothing was changed, try again once it is back"})
}

func (g *Gateway) internalError(w http.ResponseWriter, err error) {
	if errors.Is(err, store.ErrUnavailable) {
		g.log.Warn("admin API call refused: configuration store unreachable", "error", err)
		storeUnavailable(w)
		return
	}
	g.log.Error("admin API store failure", "error", err)
	writeAdminError(w, &adminapi.Error{Status: http.StatusInternalServerError, Code: adminapi.CodeInternal, Message: "the gateway could not access its store"})
}

func valid(w http.ResponseWriter, err error) bool {
	if err == nil {
		return true
	}
	var ae *adminapi.Error
	if !errors.As(err, &ae) {
		ae = &adminapi.Error{Status: http.StatusBadRequest, Code: adminapi.CodeInvalidField, Message: err.Error()}
	}
	writeAdminError(w, ae)
	return false
}

// decodeBody reads one JSON object into v, refusing unknown fields, trailing data and bodies
// over maxAdminBody, and answers a 400 (413) that names the offending field.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAdminBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeAdminError(w, &adminapi.Error{Status: http.StatusRequestEntityTooLarge, Code: adminapi.CodeInvalidField,
				Message: fmt.Sprintf("request body larger than %d bytes", maxAdminBody)})
		} else {
			writeAdminError(w, adminapi.FieldError("", "reading request body: %v", err))
		}
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeAdminError(w, decodeError(raw, err))
		return false
	}
	if _, err := dec.Token(); err != io.EOF {
		writeAdminError(w, adminapi.FieldError("", "request body must hold exactly one JSON object"))
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

func writeAdminError(w http.ResponseWriter, e *adminapi.Error) {
	writeJSON(w, e.Status, e)
}
