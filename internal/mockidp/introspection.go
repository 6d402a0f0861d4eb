package mockidp

import (
	"net/http"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// serveIntrospection is RFC 7662: a registered client asks whether a token is active.
func (s *Server) serveIntrospection(w http.ResponseWriter, r *http.Request) {
	token, ok := s.protectedTokenRequest(w, r)
	if !ok {
		return
	}
	claims, valid := s.verifyToken(token)
	if !valid || !s.active(claims) {
		writeJSON(w, http.StatusOK, map[string]any{"active": false})
		return
	}
	claims["active"] = true
	claims["token_type"] = "Bearer"
	writeJSON(w, http.StatusOK, claims)
}

// serveRevocation is RFC 7009: revoking a token makes it introspect inactive. The answer is
// 200 whether or not the token was valid (§2.2).
func (s *Server) serveRevocation(w http.ResponseWriter, r *http.Request) {
	token, ok := s.protectedTokenRequest(w, r)
	if !ok {
		return
	}
	if claims, valid := s.verifyToken(token); valid {
		if jti, _ := claims["jti"].(string); jti != "" {
			s.mu.Lock()
			s.revoked[jti] = true
			s.mu.Unlock()
		}
	}
	w.WriteHeader(http.StatusOK)
}

// protectedTokenRequest authenticates the calling client and returns the token parameter;
// on failure it has answered.
func (s *Server) protectedTokenRequest(w http.ResponseWriter, r *http.Request) (string, bool) {
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "the body must be application/x-www-form-urlencoded")
		return "", false
	}
	if _, err := s.authenticateClient(r); err != nil {
		err.write(w)
		return "", false
	}
	token := r.PostForm.Get("token")
	if token == "" {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "token is required")
		return "", false
	}
	return token, true
}

// verifyToken checks an access token's RS256 signature against the published keys and
// returns its claims. Time and revocation are checked by active.
func (s *Server) verifyToken(token string) (map[string]any, bool) {
	parsed, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil || len(parsed.Headers) != 1 {
		return nil, false
	}
	key, ok := s.keys.publicKey(parsed.Headers[0].KeyID)
	if !ok {
		return nil, false
	}
	claims := map[string]any{}
	if err := parsed.Claims(key, &claims); err != nil {
		return nil, false
	}
	return claims, true
}

// active: not expired, not before its nbf, not revoked, and its client not deleted.
func (s *Server) active(claims map[string]any) bool {
	now := float64(time.Now().Unix())
	exp, ok := claims["exp"].(float64)
	if !ok || exp <= now {
		return false
	}
	if nbf, ok := claims["nbf"].(float64); ok && nbf > now {
		return false
	}
	jti, _ := claims["jti"].(string)
	clientID, _ := claims["client_id"].(string)
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.revoked[jti] && !s.deleted[clientID]
}
