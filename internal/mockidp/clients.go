package mockidp

import (
	"encoding/json"
	"maps"
	"slices"
	"time"
)

// ClientRecord is what the IdP knows about one registered client, for test assertions.
type ClientRecord struct {
	ClientID     string
	ClientSecret string
	// Metadata is the registered client metadata, server defaults included, without the
	// server-managed fields (client_id, client_secret, registration_*, *_issued_at, *_expires_at).
	Metadata map[string]any
	// RegistrationAccessToken is the token that currently manages the client (the newest one
	// where the flavour rotates it); empty for okta, which manages clients with its API token.
	RegistrationAccessToken string
	// Secrets are the okta flavour's client secrets, oldest first (nil for other flavours).
	Secrets []SecretRecord
}

// client is the server's state for one registered client.
type client struct {
	id        string
	secret    string
	metadata  map[string]any
	issuedAt  time.Time
	updatedAt time.Time
	// tokens are the registration access tokens that are valid now, newest last. Keycloak
	// re-signs the token on every read, and the re-signed copy works alongside the old one
	// until the next update replaces them all.
	tokens []string
	// secrets are the client secrets of the okta flavour's secrets API (okta_secrets.go),
	// oldest first; secret is then the newest ACTIVE one. nil for the other flavours.
	secrets []*clientSecret
	// hiddenReads is how many more GETs answer 404 (the "404 right after create" fault).
	hiddenReads int
}

// maxLiveTokens bounds how many re-signed registration tokens stay valid at once.
const maxLiveTokens = 8

func (c *client) currentToken() string {
	if len(c.tokens) == 0 {
		return ""
	}
	return c.tokens[len(c.tokens)-1]
}

func (c *client) addToken(tok string) {
	c.tokens = append(c.tokens, tok)
	if len(c.tokens) > maxLiveTokens {
		c.tokens = slices.Clone(c.tokens[len(c.tokens)-maxLiveTokens:])
	}
}

func (c *client) record() ClientRecord {
	return ClientRecord{
		ClientID:                c.id,
		ClientSecret:            c.secret,
		Metadata:                deepCopy(c.metadata),
		RegistrationAccessToken: c.currentToken(),
		Secrets:                 c.secretRecords(),
	}
}

// Client returns the registered client with this id.
func (s *Server) Client(clientID string) (ClientRecord, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[clientID]
	if !ok {
		return ClientRecord{}, false
	}
	return c.record(), true
}

// Clients returns every registered client, ordered by client id.
func (s *Server) Clients() []ClientRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ClientRecord, 0, len(s.clients))
	for _, id := range slices.Sorted(maps.Keys(s.clients)) {
		out = append(out, s.clients[id].record())
	}
	return out
}

// DeleteClient removes a client out of band, as an administrator would in the IdP's console.
// It reports whether the client existed.
func (s *Server) DeleteClient(clientID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.clients[clientID]
	s.removeClient(clientID)
	return ok
}

// removeClient forgets a client; its access tokens stop introspecting active. Called with
// s.mu held.
func (s *Server) removeClient(clientID string) {
	if _, ok := s.clients[clientID]; ok {
		delete(s.clients, clientID)
		s.deleted[clientID] = true
	}
}

// UpdateClientMetadata changes a client's metadata out of band (drift): each key of patch
// replaces the stored value, and a nil value removes the key. Unknown clients are ignored.
func (s *Server) UpdateClientMetadata(clientID string, patch map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[clientID]
	if !ok {
		return
	}
	for k, v := range deepCopy(patch) {
		if v == nil {
			delete(c.metadata, k)
			continue
		}
		c.metadata[k] = v
	}
	c.updatedAt = time.Now()
}

// deepCopy copies a JSON-shaped map so callers cannot alias the server's state.
func deepCopy(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return maps.Clone(m)
	}
	out := map[string]any{}
	if err := json.Unmarshal(b, &out); err != nil {
		return maps.Clone(m)
	}
	return out
}
