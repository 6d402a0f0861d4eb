package mockidp

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"time"
)

// Okta's Application Client Secrets API (okta flavour only), as Okta's management API
// reference documents it (ApplicationSSOCredentialOAuth2ClientAuth):
//
//	GET    /api/v1/apps/{appId}/credentials/secrets                                list
//	POST   /api/v1/apps/{appId}/credentials/secrets                                create ({} or {client_secret, status})
//	GET    /api/v1/apps/{appId}/credentials/secrets/{secretId}                     one secret
//	POST   /api/v1/apps/{appId}/credentials/secrets/{secretId}/lifecycle/activate
//	POST   /api/v1/apps/{appId}/credentials/secrets/{secretId}/lifecycle/deactivate
//	DELETE /api/v1/apps/{appId}/credentials/secrets/{secretId}                     only an INACTIVE one
//
// An app holds at most two secrets; every ACTIVE one authenticates at the token endpoint.
// Only the creation answer carries the secret in clear; the others carry an undisclosed
// hashed value, so a caller can never learn a secret it did not create.
const (
	oktaAppsPath     = "/api/v1/apps/{id}/credentials/secrets"
	maxOktaSecrets   = 2
	oktaSecretActive = "ACTIVE"
	oktaSecretOff    = "INACTIVE"
)

// clientSecret is one of an Okta app's client secrets.
type clientSecret struct {
	id, value, status    string
	created, lastUpdated time.Time
}

// SecretRecord is one client secret of an okta-flavoured client, for test assertions.
type SecretRecord struct {
	ID, Secret, Status string
}

func newClientSecret(value string) *clientSecret {
	now := time.Now()
	return &clientSecret{id: "ocs" + randomAlnum(17), value: value, status: oktaSecretActive, created: now, lastUpdated: now}
}

// secretHash stands in for Okta's secret_hash, whose algorithm Okta does not document: the
// first half of the secret's SHA-256, base64url, the length Okta's examples show.
func secretHash(value string) string {
	sum := sha256.Sum256([]byte(value))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// view is the secret as an answer shows it; the clear value only in a creation answer.
func (cs *clientSecret) view(disclose bool) map[string]any {
	out := map[string]any{
		"id":            cs.id,
		"status":        cs.status,
		"secret_hash":   secretHash(cs.value),
		"client_secret": secretHash(cs.value),
		"created":       cs.created.UTC().Format("2006-01-02T15:04:05.000Z"),
		"lastUpdated":   cs.lastUpdated.UTC().Format("2006-01-02T15:04:05.000Z"),
	}
	if disclose {
		out["client_secret"] = cs.value
	}
	links := map[string]any{}
	switch cs.status {
	case oktaSecretActive:
		links["deactivate"] = map[string]any{"hints": map[string]any{"allow": []string{"POST"}}}
	default:
		links["activate"] = map[string]any{"hints": map[string]any{"allow": []string{"POST"}}}
		links["delete"] = map[string]any{"hints": map[string]any{"allow": []string{"DELETE"}}}
	}
	out["_links"] = links
	return out
}

// resetSecrets makes value the client's only secret (a registration, or an update that
// issued one); "" leaves it none.
func (c *client) resetSecrets(value string) {
	c.secret, c.secrets = value, nil
	if value != "" {
		c.secrets = []*clientSecret{newClientSecret(value)}
	}
}

// refreshCurrentSecret keeps c.secret the newest ACTIVE secret, the one answers show.
func (c *client) refreshCurrentSecret() {
	c.secret = ""
	for _, cs := range c.secrets {
		if cs.status == oktaSecretActive {
			c.secret = cs.value
		}
	}
}

// acceptsSecret reports whether a presented secret authenticates the client: its secret, or
// with the secrets API any ACTIVE one.
func (c *client) acceptsSecret(got string) bool {
	if c.secrets == nil {
		return c.secret != "" && secretEqual(got, c.secret)
	}
	ok := false
	for _, cs := range c.secrets {
		if cs.status == oktaSecretActive && secretEqual(got, cs.value) {
			ok = true
		}
	}
	return ok
}

func (c *client) secretRecords() []SecretRecord {
	out := make([]SecretRecord, 0, len(c.secrets))
	for _, cs := range c.secrets {
		out = append(out, SecretRecord{ID: cs.id, Secret: cs.value, Status: cs.status})
	}
	return out
}

func (s *Server) oktaSecretRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+oktaAppsPath, s.oktaSecretHandler(s.listOktaSecrets))
	mux.HandleFunc("POST "+oktaAppsPath, s.oktaSecretHandler(s.createOktaSecret))
	mux.HandleFunc("GET "+oktaAppsPath+"/{sid}", s.oktaSecretHandler(oneSecret(getOktaSecret)))
	mux.HandleFunc("DELETE "+oktaAppsPath+"/{sid}", s.oktaSecretHandler(oneSecret(deleteOktaSecret)))
	mux.HandleFunc("POST "+oktaAppsPath+"/{sid}/lifecycle/activate", s.oktaSecretHandler(oneSecret(activateOktaSecret)))
	mux.HandleFunc("POST "+oktaAppsPath+"/{sid}/lifecycle/deactivate", s.oktaSecretHandler(oneSecret(deactivateOktaSecret)))
}

// oktaSecretHandler authenticates with the API token, finds the app, and runs op under the
// server's lock.
func (s *Server) oktaSecretHandler(op func(r *http.Request, c *client, body []byte) answer) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := authorizeOktaAPIToken(s, r); err != nil {
			err.write(w)
			return
		}
		body, readErr := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes))
		if readErr != nil {
			oktaError(http.StatusBadRequest, "E0000003", "The request body was not well-formed.").write(w)
			return
		}
		id := r.PathValue("id")
		s.mu.Lock()
		var a answer
		if c := s.clients[id]; c == nil {
			a = failed(oktaError(http.StatusNotFound, "E0000007", "Not found: Resource not found: "+id+" (AppInstance)"))
		} else {
			a = op(r, c, body)
		}
		s.mu.Unlock()
		a.write(w)
	}
}

func (s *Server) listOktaSecrets(_ *http.Request, c *client, _ []byte) answer {
	list := make([]any, 0, len(c.secrets))
	for _, cs := range c.secrets {
		list = append(list, cs.view(false))
	}
	return answer{status: http.StatusOK, list: list}
}

func (s *Server) createOktaSecret(_ *http.Request, c *client, body []byte) answer {
	var req struct {
		ClientSecret *string `json:"client_secret"`
		Status       *string `json:"status"`
	}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			return failed(oktaError(http.StatusBadRequest, "E0000003", "The request body was not well-formed."))
		}
	}
	if len(c.secrets) >= maxOktaSecrets {
		return failed(oktaValidationError("client_secret",
			"You can create up to two client secrets. Deactivate and delete a secret before you create another."))
	}
	value := randomSecret()
	if req.ClientSecret != nil {
		if len(*req.ClientSecret) < 14 {
			return failed(oktaValidationError("client_secret", "client_secret: The client secret must be at least 14 characters long."))
		}
		value = *req.ClientSecret
	}
	cs := newClientSecret(value)
	if req.Status != nil {
		if *req.Status != oktaSecretActive && *req.Status != oktaSecretOff {
			return failed(oktaValidationError("status", "status: Allowed values are ACTIVE and INACTIVE."))
		}
		cs.status = *req.Status
	}
	c.secrets = append(c.secrets, cs)
	c.refreshCurrentSecret()
	return answer{status: http.StatusCreated, body: cs.view(true)}
}

// oneSecret runs op on the app's secret that the path's {sid} names, or answers Okta's 404
// when the app has none by that id.
func oneSecret(op func(c *client, cs *clientSecret) answer) func(*http.Request, *client, []byte) answer {
	return func(r *http.Request, c *client, _ []byte) answer {
		sid := r.PathValue("sid")
		for _, cs := range c.secrets {
			if cs.id == sid {
				return op(c, cs)
			}
		}
		return failed(oktaSecretNotFound(sid))
	}
}

func getOktaSecret(_ *client, cs *clientSecret) answer {
	return answer{status: http.StatusOK, body: cs.view(false)}
}

func activateOktaSecret(c *client, cs *clientSecret) answer {
	return setOktaSecretStatus(c, cs, oktaSecretActive)
}

// deactivateOktaSecret refuses to leave the app without an ACTIVE secret: a confidential
// client without one could no longer authenticate.
func deactivateOktaSecret(c *client, cs *clientSecret) answer {
	if cs.status == oktaSecretActive {
		active := 0
		for _, other := range c.secrets {
			if other.status == oktaSecretActive {
				active++
			}
		}
		if active == 1 {
			return failed(oktaValidationError("status", "You can't deactivate the only active client secret of an app."))
		}
	}
	return setOktaSecretStatus(c, cs, oktaSecretOff)
}

func setOktaSecretStatus(c *client, cs *clientSecret, status string) answer {
	if cs.status != status {
		cs.status, cs.lastUpdated = status, time.Now()
	}
	c.refreshCurrentSecret()
	return answer{status: http.StatusOK, body: cs.view(false)}
}

func deleteOktaSecret(c *client, cs *clientSecret) answer {
	if cs.status == oktaSecretActive {
		return failed(oktaValidationError("status", "You can only delete an inactive client secret. Deactivate it first."))
	}
	c.secrets = slices.DeleteFunc(c.secrets, func(x *clientSecret) bool { return x == cs })
	c.refreshCurrentSecret()
	return answer{status: http.StatusNoContent}
}

func oktaSecretNotFound(id string) *apiError {
	return oktaError(http.StatusNotFound, "E0000007", "Not found: Resource not found: "+id+" (OAuth2ClientSecret)")
}

// oktaValidationError is Okta's 400 E0000001 with one cause.
func oktaValidationError(field, summary string) *apiError {
	e := oktaError(http.StatusBadRequest, "E0000001", "Api validation failed: "+field)
	e.body["errorCauses"] = []any{map[string]any{"errorSummary": summary}}
	return e
}

// ClientSecrets returns the client secrets of an okta-flavoured client, oldest first; nil
// for an unknown client or another flavour.
func (s *Server) ClientSecrets(clientID string) []SecretRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[clientID]
	if !ok || c.secrets == nil {
		return nil
	}
	return c.secretRecords()
}
