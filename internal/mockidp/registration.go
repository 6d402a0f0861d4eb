package mockidp

import (
	"net/http"
	"net/url"
	"time"
)

// answer is a response computed under the server's lock and written after it is released.
type answer struct {
	status int
	body   map[string]any
	list   []any // a JSON array answer, when set
	err    *apiError
}

func (a answer) write(w http.ResponseWriter) {
	switch {
	case a.err != nil:
		a.err.write(w)
	case a.list != nil:
		writeJSON(w, a.status, a.list)
	case a.body == nil:
		w.WriteHeader(a.status)
	default:
		writeJSON(w, a.status, a.body)
	}
}

func failed(err *apiError) answer { return answer{err: err} }

// serveRegister is RFC 7591 §3: create a client from the metadata in the body.
func (s *Server) serveRegister(w http.ResponseWriter, r *http.Request) {
	if err := s.flavor.authorizeCreate(s, r); err != nil {
		err.write(w)
		return
	}
	md, err := decodeMetadata(r)
	if err != nil {
		err.write(w)
		return
	}
	if _, ok := md["client_id"]; ok && s.flavor.rejectClientIDOnCreate {
		badMetadata("client_id is assigned by the server and must not be sent").write(w)
		return
	}
	if _, ok := md["client_secret"]; ok && s.flavor.rejectSecretOnCreate {
		(&apiError{status: http.StatusBadRequest, code: "invalid_request",
			description: "It is not allowed to choose your own OAuth2 Client secret."}).write(w)
		return
	}
	iss := s.issuerFor(r)
	s.mu.Lock()
	hidden := s.faults.cfg.NotFoundAfterCreate
	s.mu.Unlock()
	c, err := s.createClient(md, hidden)
	if err != nil {
		err.write(w)
		return
	}
	s.mu.Lock()
	out := s.representation(iss, c, true, true, c.currentToken())
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, out)
}

// createClient registers a client from POSTed metadata: the server assigns the credentials,
// adds its defaults and validates. hiddenReads is the number of GETs to answer 404.
func (s *Server) createClient(md map[string]any, hiddenReads int) (*client, *apiError) {
	// The server assigns these; whatever the client sent is ignored.
	for _, f := range append([]string{"client_id", "client_secret"}, serverManagedFields...) {
		delete(md, f)
	}
	s.flavor.applyDefaults(md)
	if err := s.validateMetadata(md); err != nil {
		return nil, err
	}
	now := time.Now()
	c := &client{id: s.flavor.newClientID(), metadata: md, issuedAt: now, updatedAt: now, hiddenReads: hiddenReads}
	if needsSecret(md) {
		c.secret = randomSecret()
	}
	if s.flavor.secretsAPI {
		c.resetSecrets(c.secret)
	}
	if !s.flavor.apiTokenManaged {
		c.addToken(randomSecret())
	}
	s.mu.Lock()
	s.clients[c.id] = c
	s.mu.Unlock()
	return c, nil
}

// RegisterClient registers a client without HTTP and without the initial access token, with
// the flavour's defaults and validation, for tests that need a client to exist (faults do
// not apply). Metadata that a POST would be refused for is refused with the same error.
func (s *Server) RegisterClient(metadata map[string]any) (ClientRecord, error) {
	c, err := s.createClient(deepCopy(metadata), 0)
	if err != nil {
		return ClientRecord{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return c.record(), nil
}

// serveReadClient is RFC 7592 §2.1 (or Okta's GET /oauth2/v1/clients/{id}).
func (s *Server) serveReadClient(w http.ResponseWriter, r *http.Request) {
	id, iss := r.PathValue("id"), s.issuerFor(r)
	s.mu.Lock()
	a := s.readClient(r, iss, id)
	s.mu.Unlock()
	a.write(w)
}

func (s *Server) readClient(r *http.Request, iss, id string) answer {
	if s.flavor.apiTokenManaged {
		if err := s.flavor.authorizeCreate(s, r); err != nil {
			return failed(err)
		}
	}
	if c := s.clients[id]; c != nil && c.hiddenReads > 0 {
		c.hiddenReads--
		return failed(s.flavor.notFound())
	}
	c, err := s.authorizeManage(r, id)
	if err != nil {
		return failed(err)
	}
	token := ""
	if s.flavor.tokenOnRead {
		token = c.currentToken()
		if s.flavor.resignTokenOnRead {
			token = randomSecret()
			c.addToken(token)
		}
	}
	return answer{status: http.StatusOK, body: s.representation(iss, c, s.flavor.secretOnRead, s.flavor.tokenOnRead, token)}
}

// serveUpdateClient is RFC 7592 §2.2: a full replacement of the client's metadata.
func (s *Server) serveUpdateClient(w http.ResponseWriter, r *http.Request) {
	id, iss := r.PathValue("id"), s.issuerFor(r)
	// Decoded before taking the lock, reported only once the caller is authorized.
	md, decodeErr := decodeMetadata(r)
	s.mu.Lock()
	a := s.updateClient(r, iss, id, md, decodeErr)
	s.mu.Unlock()
	a.write(w)
}

func (s *Server) updateClient(r *http.Request, iss, id string, md map[string]any, decodeErr *apiError) answer {
	c, err := s.authorizeManage(r, id)
	if err != nil {
		return failed(err)
	}
	if decodeErr != nil {
		return failed(decodeErr)
	}
	for _, f := range serverManagedFields {
		if _, ok := md[f]; ok {
			return failed(badMetadata(f + " must not be sent in an update (RFC 7592 section 2.2)"))
		}
	}
	clientID, hasClientID := md["client_id"]
	switch s.flavor.clientIDOnUpdate {
	case clientIDRequired:
		if clientID != c.id {
			return failed(badMetadata("client_id must be present and equal to the client's id"))
		}
	case clientIDIfPresent:
		if hasClientID && clientID != c.id {
			return failed(badMetadata("client_id cannot be changed"))
		}
	}
	delete(md, "client_id")
	if v, ok := md["client_secret"]; ok {
		if s.flavor.rejectSecretOnUpdate {
			return failed(&apiError{status: http.StatusForbidden, code: "request_forbidden",
				description: "It is not allowed to choose your own OAuth2 Client secret."})
		}
		if got, _ := v.(string); !secretEqual(got, c.secret) {
			return failed(badMetadata("client_secret does not match the client's secret"))
		}
		delete(md, "client_secret")
	}
	s.flavor.applyDefaults(md)
	if err := s.validateMetadata(md); err != nil {
		return failed(err)
	}

	c.metadata = md
	c.updatedAt = time.Now()
	switch {
	case !needsSecret(md):
		c.secret = ""
	case c.secret == "", s.opts.RotateSecretOnUpdate:
		c.secret = randomSecret()
	}
	if s.flavor.secretsAPI && (c.secret == "" || len(c.secrets) == 0) {
		c.resetSecrets(c.secret)
	}
	token := c.currentToken()
	if s.flavor.rotateTokenOnUpdate {
		token = randomSecret()
		c.tokens = []string{token}
	}
	return answer{status: http.StatusOK, body: s.representation(iss, c, s.flavor.secretOnUpdate, true, token)}
}

// serveDeleteClient is RFC 7592 §2.3.
func (s *Server) serveDeleteClient(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	_, err := s.authorizeManage(r, id)
	if err == nil {
		s.removeClient(id)
	}
	s.mu.Unlock()
	if err != nil {
		err.write(w)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// authorizeManage finds the client a management call is about and checks the caller's
// credentials: the IdP's API token (Okta) or the client's registration access token.
// Called with s.mu held.
func (s *Server) authorizeManage(r *http.Request, id string) (*client, *apiError) {
	if s.flavor.apiTokenManaged {
		if err := s.flavor.authorizeCreate(s, r); err != nil {
			return nil, err
		}
		c := s.clients[id]
		if c == nil {
			return nil, s.flavor.unknownClient()
		}
		return c, nil
	}
	c := s.clients[id]
	if c == nil || !c.acceptsToken(bearerToken(r)) {
		return nil, invalidRegistrationToken()
	}
	return c, nil
}

func (c *client) acceptsToken(token string) bool {
	ok := false
	for _, t := range c.tokens {
		if secretEqual(token, t) {
			ok = true
		}
	}
	return ok
}

// representation is the client as an answer shows it: metadata plus the server-managed
// fields the flavour returns here. Called with s.mu held.
func (s *Server) representation(iss string, c *client, withSecret, withRegistration bool, token string) map[string]any {
	out := deepCopy(c.metadata)
	out["client_id"] = c.id
	out["client_id_issued_at"] = unixTime(c.issuedAt)
	if c.secret != "" {
		// With two secrets Okta's documentation does not say which one a client answer
		// shows; the mock shows none, so a caller must keep the one it has.
		if withSecret && len(c.secrets) <= 1 {
			out["client_secret"] = c.secret
		}
		out["client_secret_expires_at"] = 0
	}
	if withRegistration && !s.flavor.apiTokenManaged {
		out["registration_client_uri"] = iss + s.flavor.registrationPath + "/" + url.PathEscape(c.id)
		if token != "" {
			out["registration_access_token"] = token
		}
	}
	if s.flavor.decorate != nil {
		s.flavor.decorate(out, c)
	}
	return out
}
