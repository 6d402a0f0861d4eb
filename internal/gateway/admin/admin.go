package admin

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/config"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/store"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
)

// Options are what the admin listener serves from.
type Options struct {
	// Token authenticates every /v1/ call ("Authorization: Bearer <Token>"). Required.
	Token string
	// Store holds the APIs and policies; Config is the configuration served from them, which
	// every write goes through (config.Live.Commit) so that it is answered once served.
	Store  *store.Store
	Config *config.Live
	Log    *slog.Logger
	// Gatherer is served at /metrics; nil serves no /metrics.
	Gatherer prometheus.Gatherer
	// CheckAPI refuses, after adminapi's Validate, what only the gateway's own options forbid
	// of an API (where its targets and listen path may be); nil refuses nothing more.
	CheckAPI func(*adminapi.API) error
	// Decider answers POST /v1/decisions. Required.
	Decider Decider
}

// Decider says what the proxy listener would answer a described request, and why, without
// serving it. An error is a field of the request that cannot be simulated (an
// *adminapi.Error, answered as it is, or else a 400).
type Decider interface {
	Explain(r *http.Request, in *adminapi.DecisionRequest) (*adminapi.Decision, error)
}

// handler is the admin listener's state; every route reads it, none changes it.
type handler struct {
	store    *store.Store
	config   *config.Live
	log      *slog.Logger
	checkAPI func(*adminapi.API) error
	decider  Decider
}

// New returns the admin listener: the admin API (/v1/..., behind the token), /healthz,
// /readyz and /metrics (health.go), and a JSON 404 for anything else.
func New(o Options) http.Handler {
	h := &handler{store: o.Store, config: o.Config, log: o.Log, checkAPI: o.CheckAPI, decider: o.Decider}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.checkAPI == nil {
		h.checkAPI = func(*adminapi.API) error { return nil }
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/", requireToken(o.Token, h.routes()))
	h.observabilityRoutes(mux, o.Gatherer)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &adminapi.Error{Status: http.StatusNotFound, Code: adminapi.CodeNotFound, Message: "not found"})
	})
	return mux
}

// routes serves the routes documented in package adminapi.
func (h *handler) routes() http.Handler {
	mux := http.NewServeMux()
	h.apis().mount(mux, "/v1/apis")
	h.policies().mount(mux, "/v1/policies")
	mux.HandleFunc("POST /v1/decisions", h.decide)
	allowOnly(mux, "/v1/decisions", "POST")
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &adminapi.Error{Status: http.StatusNotFound, Code: adminapi.CodeNotFound,
			Message: fmt.Sprintf("no admin API route %s %s", r.Method, r.URL.Path)})
	})
	return mux
}

// allowOnly answers another method on a known path with a 405 naming the methods it has
// (the method-less pattern is less specific than the path's own, so it only catches the rest).
func allowOnly(mux *http.ServeMux, path, allow string) {
	mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		writeError(w, &adminapi.Error{Status: http.StatusMethodNotAllowed, Code: adminapi.CodeMethodNotAllowed,
			Message: fmt.Sprintf("%s is not allowed on %s; use %s", r.Method, r.URL.Path, allow)})
	})
}

// requireToken lets a request through only with "Authorization: Bearer <admin token>".
// Both sides are hashed first so the constant-time compare does not leak the length.
func requireToken(adminToken string, next http.Handler) http.Handler {
	want := sha256.Sum256([]byte(adminToken))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := token.Bearer(r.Header.Get("Authorization"))
		got := sha256.Sum256([]byte(tok))
		if tok == "" || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="idpgate-admin"`)
			writeError(w, &adminapi.Error{Status: http.StatusUnauthorized, Code: adminapi.CodeUnauthorized,
				Message: "a valid admin token is required (Authorization: Bearer <IDPGATE_ADMIN_TOKEN>)"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// decide answers POST /v1/decisions: the Decider simulates, this reads and writes JSON.
func (h *handler) decide(w http.ResponseWriter, r *http.Request) {
	var in adminapi.DecisionRequest
	if !decodeBody(w, r, &in) || !valid(w, in.Validate()) {
		return
	}
	d, err := h.decider.Explain(r, &in)
	if !valid(w, err) {
		return
	}
	writeJSON(w, http.StatusOK, d)
}
