package mockidp

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// accessTokenType is the JWT typ of RFC 9068 access tokens.
const accessTokenType = "at+jwt"

// serveToken is the token endpoint: the client_credentials grant (RFC 6749 §4.4) only.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "the body must be application/x-www-form-urlencoded")
		return
	}
	switch gt := r.PostForm.Get("grant_type"); gt {
	case "client_credentials":
	case "":
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "grant_type is required")
		return
	default:
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "only client_credentials is supported")
		return
	}
	caller, err := s.authenticateClient(r)
	if err != nil {
		err.write(w)
		return
	}
	if !slices.Contains(stringList(caller.metadata["grant_types"]), "client_credentials") {
		writeOAuthError(w, http.StatusBadRequest, "unauthorized_client", "the client is not registered for the client_credentials grant")
		return
	}
	jkt, dpopErr := s.dpopBinding(r)
	if dpopErr != nil {
		dpopErr.write(w)
		return
	}
	audience, targetErr := resourceAudience(r.PostForm["resource"], s.opts.Audience)
	if targetErr != "" {
		writeOAuthError(w, http.StatusBadRequest, "invalid_target", targetErr)
		return
	}
	registered, _ := caller.metadata["scope"].(string)
	scope, ok := grantedScope(r.PostForm.Get("scope"), registered)
	if !ok {
		writeOAuthError(w, http.StatusBadRequest, "invalid_scope", "the requested scope exceeds the scope registered for the client")
		return
	}

	now := time.Now()
	claims := map[string]any{
		"iss":       s.issuerFor(r),
		"sub":       caller.id,
		"client_id": caller.id,
		"aud":       audience,
		"iat":       now.Unix(),
		"exp":       now.Add(s.opts.TokenTTL).Unix(),
		"jti":       randomSecret(),
	}
	if scope != "" {
		claims["scope"] = scope
	}
	if jkt != "" {
		claims["cnf"] = map[string]any{"jkt": jkt}
	}
	if x5t := certificateBinding(r, caller.metadata); x5t != "" {
		cnf, _ := claims["cnf"].(map[string]any)
		if cnf == nil {
			cnf = map[string]any{}
		}
		cnf["x5t#S256"] = x5t
		claims["cnf"] = cnf
	}
	s.mu.Lock()
	maps.Copy(claims, deepCopy(s.extraClaims[caller.id]))
	s.mu.Unlock()

	token, signErr := s.sign(claims)
	if signErr != nil {
		writeOAuthError(w, http.StatusInternalServerError, "server_error", "")
		return
	}
	body := map[string]any{
		"access_token": token,
		"token_type":   tokenType(jkt),
		"expires_in":   int64(s.opts.TokenTTL / time.Second),
	}
	if scope != "" {
		body["scope"] = scope
	}
	writeJSON(w, http.StatusOK, body)
}

// maxResources bounds the resource parameters of one token request.
const maxResources = 10

// resourceAudience is the aud of a token (RFC 8707 §2): the requested resources, each an
// absolute URI without a fragment, in the order given and without repeats; the server's
// audience when none is requested. A refusal is the error_description of invalid_target.
func resourceAudience(resources, fallback []string) ([]string, string) {
	if len(resources) == 0 {
		return slices.Clone(fallback), ""
	}
	if len(resources) > maxResources {
		return nil, fmt.Sprintf("at most %d resource parameters", maxResources)
	}
	aud := make([]string, 0, len(resources))
	for _, res := range resources {
		u, err := url.Parse(res)
		switch {
		case err != nil || !u.IsAbs() || (u.Host == "" && u.Opaque == ""):
			return nil, fmt.Sprintf("resource %q is not an absolute URI", res)
		case strings.Contains(res, "#"):
			return nil, fmt.Sprintf("resource %q has a fragment", res)
		}
		if !slices.Contains(aud, res) {
			aud = append(aud, res)
		}
	}
	return aud, ""
}

// grantedScope returns the scope to grant: all of the registered scope when none is
// requested, else the requested one when it is a subset of the registered one.
func grantedScope(requested, registered string) (string, bool) {
	have := strings.Fields(registered)
	want := strings.Fields(requested)
	if len(want) == 0 {
		return strings.Join(have, " "), true
	}
	for _, s := range want {
		if !slices.Contains(have, s) {
			return "", false
		}
	}
	return strings.Join(want, " "), true
}

// authenticatedClient is a snapshot of the client that authenticated a request.
type authenticatedClient struct {
	id       string
	metadata map[string]any
}

// authenticateClient checks client_secret_basic or client_secret_post credentials (RFC 6749
// §2.3.1; exactly one method per request). The form must already be parsed.
func (s *Server) authenticateClient(r *http.Request) (authenticatedClient, *apiError) {
	user, pass, basic := r.BasicAuth()
	postID, postSecret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	invalid := &apiError{status: http.StatusUnauthorized, code: "invalid_client", description: "client authentication failed"}
	switch {
	case basic && postSecret != "":
		return authenticatedClient{}, &apiError{status: http.StatusBadRequest, code: "invalid_request",
			description: "use only one client authentication method"}
	case basic:
		invalid.wwwAuthenticate = `Basic realm="mockidp"`
		var err1, err2 error
		user, err1 = url.QueryUnescape(user)
		pass, err2 = url.QueryUnescape(pass)
		if err1 != nil || err2 != nil {
			return authenticatedClient{}, invalid
		}
	case postSecret != "":
		user, pass = postID, postSecret
	default:
		return authenticatedClient{}, invalid
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[user]
	if !ok || !c.acceptsSecret(pass) {
		return authenticatedClient{}, invalid
	}
	return authenticatedClient{id: c.id, metadata: deepCopy(c.metadata)}, nil
}

// SetExtraClaims sets claims merged into every token minted for this client (e.g. "pol");
// they override the standard claims of the same name. nil removes them.
func (s *Server) SetExtraClaims(clientID string, claims map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if claims == nil {
		delete(s.extraClaims, clientID)
		return
	}
	s.extraClaims[clientID] = deepCopy(claims)
}

// MintToken signs arbitrary claims with the current key, as an access token (typ at+jwt).
// iss, iat, exp (iat + TokenTTL) and jti are added when absent. It panics if signing fails,
// which cannot happen with the server's own key.
func (s *Server) MintToken(claims map[string]any) string {
	c := deepCopy(claims)
	now := time.Now()
	if _, ok := c["iss"]; !ok {
		c["iss"] = s.URL()
	}
	if _, ok := c["iat"]; !ok {
		c["iat"] = now.Unix()
	}
	if _, ok := c["exp"]; !ok {
		c["exp"] = now.Add(s.opts.TokenTTL).Unix()
	}
	if _, ok := c["jti"]; !ok {
		c["jti"] = randomSecret()
	}
	token, err := s.sign(c)
	if err != nil {
		panic(fmt.Sprintf("mockidp: signing token: %v", err))
	}
	return token
}

// sign serializes claims as a compact JWS: RS256, the current key's kid, typ at+jwt.
func (s *Server) sign(claims map[string]any) (string, error) {
	sk := s.keys.signing()
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: sk.key, KeyID: sk.kid}},
		(&jose.SignerOptions{}).WithType(accessTokenType),
	)
	if err != nil {
		return "", err
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}

// tokenType is Bearer, or DPoP for a token bound to a proof's key (RFC 9449 §5).
func tokenType(jkt string) string {
	if jkt != "" {
		return "DPoP"
	}
	return "Bearer"
}

// certificateBinding is the x5t#S256 a token is bound to (RFC 8705 §3): the hash of the client
// certificate of the token request's TLS connection, for a client registered with
// tls_client_certificate_bound_access_tokens; "" otherwise.
func certificateBinding(r *http.Request, metadata map[string]any) string {
	if bound, _ := metadata["tls_client_certificate_bound_access_tokens"].(bool); !bound {
		return ""
	}
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return ""
	}
	sum := sha256.Sum256(r.TLS.PeerCertificates[0].Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
