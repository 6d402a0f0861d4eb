package mockidp

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Flavor selects which IdP's registration behaviour the server reproduces.
type Flavor string

const (
	FlavorGeneric  Flavor = "generic"
	FlavorOkta     Flavor = "okta"
	FlavorKeycloak Flavor = "keycloak"
	FlavorHydra    Flavor = "hydra"
)

// Flavors lists the supported flavours.
func Flavors() []Flavor { return []Flavor{FlavorGeneric, FlavorOkta, FlavorKeycloak, FlavorHydra} }

// ParseFlavor checks a flavour name given by a user (e.g. a command-line flag); "" is generic.
func ParseFlavor(name string) (Flavor, error) {
	if name == "" {
		return FlavorGeneric, nil
	}
	for _, f := range Flavors() {
		if string(f) == name {
			return f, nil
		}
	}
	return "", fmt.Errorf("unknown IdP flavour %q: want one of generic, okta, keycloak, hydra", name)
}

// Options configure a Server. The zero value is a generic IdP with open registration.
type Options struct {
	// Flavor defaults to FlavorGeneric.
	Flavor Flavor
	// InitialAccessToken protects registration. generic: when set, required as
	// "Authorization: Bearer" on POST; keycloak: required as Bearer on POST (when empty the
	// realm allows anonymous registration); okta: the API token expected as
	// "Authorization: SSWS <token>" on every registration call (when empty any SSWS token is
	// accepted, but the header is still required); hydra: ignored (open registration).
	InitialAccessToken string
	// TokenTTL is the access token lifetime; default 5m.
	TokenTTL time.Duration
	// Audience is the aud of minted tokens; default ["api://default"].
	Audience []string
	// RotateSecretOnUpdate (generic flavour only) issues a new client secret in every RFC 7592
	// update answer, as RFC 7592 §2.2 allows; the old one stops working. Off by default, as
	// most servers keep the secret.
	RotateSecretOnUpdate bool
}

// maxBodyBytes bounds every request body the server reads.
const maxBodyBytes = 1 << 20

// Server is the mock IdP. It implements http.Handler and is safe for concurrent use.
type Server struct {
	opts    Options
	flavor  flavorRules
	handler http.Handler
	keys    *keyRing

	// test is set by NewTestServer.
	test interface{ Close() }
	// closed ends injected delays when the server closes.
	closed    chan struct{}
	closeOnce sync.Once

	mu          sync.Mutex
	issuer      string
	clients     map[string]*client
	extraClaims map[string]map[string]any
	dpopJTIs    map[string]bool // jtis of DPoP proofs seen at the token endpoint
	revoked     map[string]bool // jti of every revoked token
	deleted     map[string]bool // ids of clients deleted, whose tokens introspect inactive
	requests    []*RecordedRequest
	faults      faultState
	rateWindow  rateWindow
	rateLimit   rateLimit
}

// New returns a Server. Call SetIssuer once the listener's URL is known; until then the
// issuer is derived from each request's Host. It panics on an unknown Flavor (check user
// input with ParseFlavor).
func New(opts Options) *Server {
	flavor, err := ParseFlavor(string(opts.Flavor))
	if err != nil {
		panic("mockidp: " + err.Error())
	}
	opts.Flavor = flavor
	if opts.RotateSecretOnUpdate && flavor != FlavorGeneric {
		panic("mockidp: RotateSecretOnUpdate is an option of the generic flavour")
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = 5 * time.Minute
	}
	if len(opts.Audience) == 0 {
		opts.Audience = []string{"api://default"}
	}
	s := &Server{
		opts:        opts,
		flavor:      rulesFor(opts.Flavor),
		keys:        newKeyRing(),
		clients:     map[string]*client{},
		extraClaims: map[string]map[string]any{},
		dpopJTIs:    map[string]bool{},
		revoked:     map[string]bool{},
		deleted:     map[string]bool{},
		closed:      make(chan struct{}),
	}
	s.handler = s.routes()
	return s
}

// SetIssuer sets the issuer URL (scheme, host and an optional path, no trailing slash).
// Every endpoint lives under it.
func (s *Server) SetIssuer(issuer string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.issuer = strings.TrimRight(issuer, "/")
}

// URL returns the issuer URL, without a trailing slash.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issuer
}

// Flavor returns the flavour the server reproduces.
func (s *Server) Flavor() Flavor { return s.opts.Flavor }

// Close ends injected delays and stops the listener started by NewTestServer. For a Server
// built with New, stopping the listener is the caller's job.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.closed) })
	if s.test != nil {
		s.test.Close()
	}
}

// HTTPServer returns an *http.Server serving s on addr, with the timeouts a server exposed
// to a network needs (for `idpgate mock-idp`).
func (s *Server) HTTPServer(addr string) *http.Server {
	srv := newHTTPServer(s)
	srv.Addr = addr
	return srv
}

func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
	}
}

// RegistrationEndpoint is the flavour's client registration (collection) URL.
func (s *Server) RegistrationEndpoint() string { return s.URL() + s.flavor.registrationPath }

// TokenEndpoint is the flavour's token endpoint URL.
func (s *Server) TokenEndpoint() string { return s.URL() + s.flavor.paths.token }

// JWKSURI is the flavour's JWKS URL.
func (s *Server) JWKSURI() string { return s.URL() + s.flavor.paths.jwks }

// IntrospectionEndpoint is the flavour's RFC 7662 endpoint URL.
func (s *Server) IntrospectionEndpoint() string { return s.URL() + s.flavor.paths.introspection }

// RevocationEndpoint is the flavour's RFC 7009 endpoint URL.
func (s *Server) RevocationEndpoint() string { return s.URL() + s.flavor.paths.revocation }

// issuerFor returns the configured issuer, or one derived from the request when SetIssuer
// was not called (e.g. `idpgate mock-idp` behind an unknown address).
func (s *Server) issuerFor(r *http.Request) string {
	if iss := s.URL(); iss != "" {
		return iss
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// issuerPath is the path part of the issuer, under which every endpoint is served.
func (s *Server) issuerPath() string {
	u, err := url.Parse(s.URL())
	if err != nil {
		return ""
	}
	return strings.TrimRight(u.Path, "/")
}

// ServeHTTP records the request, applies any configured fault, then routes it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec, ok := s.recordRequest(w, r)
	if !ok {
		writeOAuthError(rec, http.StatusRequestEntityTooLarge, "invalid_request", "request body larger than 1 MiB")
		return
	}
	if s.flavor.rateLimitHeaders {
		s.setRateLimitHeaders(rec)
	}
	if s.refuseOverRateLimit(rec) {
		return
	}
	if s.injectFault(rec, r) {
		return
	}
	s.dispatch(rec, r)
}

// dispatch strips the issuer's path and hands the request to the router. The RFC 8414
// form of the discovery URL (well-known segment before the issuer path) is accepted too.
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request) {
	base := s.issuerPath()
	p := r.URL.Path
	for _, wk := range []string{wellKnownOpenID, wellKnownOAuth} {
		if base != "" && p == wk+base {
			s.serveRelative(w, r, wk)
			return
		}
	}
	if !strings.HasPrefix(p, base) {
		http.NotFound(w, r)
		return
	}
	s.serveRelative(w, r, strings.TrimPrefix(p, base))
}

func (s *Server) serveRelative(w http.ResponseWriter, r *http.Request, rel string) {
	if rel == "" {
		rel = "/"
	}
	r2 := r.Clone(r.Context())
	r2.URL.Path = rel
	r2.URL.RawPath = ""
	s.handler.ServeHTTP(w, r2)
}

// routes builds the router for paths relative to the issuer.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+wellKnownOpenID, s.serveDiscovery)
	mux.HandleFunc("GET "+wellKnownOAuth, s.serveDiscovery)

	// Generic paths are served for every flavour so that a test may use them directly; the
	// discovery document advertises the flavour's own paths.
	for _, p := range uniq(s.flavor.paths.jwks, genericPaths.jwks) {
		mux.HandleFunc("GET "+p, s.serveJWKS)
	}
	for _, p := range uniq(s.flavor.paths.token, genericPaths.token) {
		mux.HandleFunc("POST "+p, s.serveToken)
	}
	for _, p := range uniq(s.flavor.paths.introspection, genericPaths.introspection) {
		mux.HandleFunc("POST "+p, s.serveIntrospection)
	}
	for _, p := range uniq(s.flavor.paths.revocation, genericPaths.revocation) {
		mux.HandleFunc("POST "+p, s.serveRevocation)
	}
	mux.HandleFunc("GET "+s.flavor.paths.authorization, s.serveAuthorization)

	reg := s.flavor.registrationPath
	mux.HandleFunc("POST "+reg, s.serveRegister)
	mux.HandleFunc("GET "+reg+"/{id}", s.serveReadClient)
	mux.HandleFunc("PUT "+reg+"/{id}", s.serveUpdateClient)
	mux.HandleFunc("DELETE "+reg+"/{id}", s.serveDeleteClient)
	if s.flavor.secretsAPI {
		s.oktaSecretRoutes(mux)
	}
	return mux
}

// serveAuthorization exists because OpenID discovery requires an authorization endpoint;
// the mock only issues tokens through client_credentials.
func (s *Server) serveAuthorization(w http.ResponseWriter, _ *http.Request) {
	writeOAuthError(w, http.StatusBadRequest, "unsupported_response_type", "this IdP only supports the client_credentials grant")
}

func uniq(a, b string) []string {
	if a == b {
		return []string{a}
	}
	return []string{a, b}
}
