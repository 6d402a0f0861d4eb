// Package hydratest starts a real Ory Hydra v2.3.0 on loopback for a test: its own free
// public and admin ports, an in-memory database (`dsn: memory`), open dynamic client
// registration and JWT access tokens, stopped when the test ends. The binary is built once per
// machine by scripts/hydra.sh (which `make test-all` and .ci/run run); a test that cannot find
// it fails saying so, it never skips.
package hydratest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/idpgate/terraform-provider-idpgate/internal/childproc"
)

// Version is the Hydra release scripts/hydra.sh builds.
const Version = "v2.3.0"

// BinaryEnv overrides where the hydra binary is looked for.
const BinaryEnv = "IDPGATE_HYDRA_BIN"

// Server is one `hydra serve all` process.
type Server struct {
	// Issuer is the public URL (http://127.0.0.1:port), Hydra's issuer.
	Issuer string
	// AdminURL is the admin API (introspection lives there: /admin/oauth2/introspect).
	AdminURL string

	child *childproc.Child
}

// Tool is the hydra binary: $IDPGATE_HYDRA_BIN, or scripts/hydra.sh's cache
// (${IDPGATE_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/idpgate-tools}/hydra-v2.3.0/hydra).
var Tool = childproc.Tool{Name: "hydra", Version: Version, Env: BinaryEnv, What: "Ory Hydra",
	Build: "`bash scripts/hydra.sh` (make test-all does; the first build takes several minutes)"}

// Start starts Hydra and waits until its admin API reports ready.
func Start(t testing.TB) *Server {
	t.Helper()
	s, dir := &Server{}, t.TempDir()
	public, admin := childproc.FreePortFor(t), childproc.FreePortFor(t)
	s.Issuer = "http://127.0.0.1:" + strconv.Itoa(public)
	s.AdminURL = "http://127.0.0.1:" + strconv.Itoa(admin)
	// --dev allows the http issuer on loopback; everything else is a production setting.
	conf := fmt.Sprintf(`dsn: memory
urls:
  self:
    issuer: %s
serve:
  public:
    host: 127.0.0.1
    port: %d
  admin:
    host: 127.0.0.1
    port: %d
oidc:
  dynamic_client_registration:
    enabled: true
strategies:
  access_token: jwt
secrets:
  system:
    - idpgate-hydratest-system-secret-0123456789
log:
  level: warn
  leak_sensitive_values: false
`, s.Issuer, public, admin)
	confPath := filepath.Join(dir, "hydra.yml")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	s.child = Tool.Run(t, dir, 10*time.Second, "serve", "all", "--dev", "--sqa-opt-out", "-c", confPath)
	client := &http.Client{Timeout: 500 * time.Millisecond}
	childproc.WaitReady(t, "hydra on "+s.AdminURL, s.child.Exited, 60*time.Second, 100*time.Millisecond, s.child.Output.String,
		func() error { return childproc.Answered200(client.Get(s.AdminURL + "/health/ready")) })
	return s
}

// RegistrationEndpoint is Hydra's documented registration URL, which its discovery document
// does not advertise by default.
func (s *Server) RegistrationEndpoint() string { return s.Issuer + "/oauth2/register" }

// TokenEndpoint is Hydra's token endpoint.
func (s *Server) TokenEndpoint() string { return s.Issuer + "/oauth2/token" }

// JWKSURI is where Hydra publishes its signing keys.
func (s *Server) JWKSURI() string { return s.Issuer + "/.well-known/jwks.json" }

// ClientExists asks the admin API whether Hydra knows client id.
func (s *Server) ClientExists(id string) (bool, error) {
	resp, err := http.Get(s.AdminURL + "/admin/clients/" + id)
	if err != nil {
		return false, err
	}
	_ = resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return true, nil
	case http.StatusNotFound, http.StatusUnauthorized:
		return false, nil
	}
	return false, fmt.Errorf("hydra admin API: GET client %s: HTTP %d", id, resp.StatusCode)
}

// ClientIDs lists the ids of every client Hydra holds, through the admin API.
func (s *Server) ClientIDs() ([]string, error) {
	resp, err := http.Get(s.AdminURL + "/admin/clients?page_size=500")
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	var clients []struct {
		ClientID string `json:"client_id"`
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("hydra admin API: list clients: HTTP %d", resp.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 8<<20)).Decode(&clients); err != nil {
		return nil, fmt.Errorf("hydra admin API: list clients: %w", err)
	}
	ids := make([]string, len(clients))
	for i, c := range clients {
		ids[i] = c.ClientID
	}
	return ids, nil
}

// DeleteClient deletes a client through the admin API, as an operator would out of band.
func (s *Server) DeleteClient(id string) error {
	req, _ := http.NewRequest(http.MethodDelete, s.AdminURL+"/admin/clients/"+id, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("hydra admin API: DELETE client %s: HTTP %d", id, resp.StatusCode)
	}
	return nil
}

// Stop ends Hydra (SIGTERM, then SIGKILL after 10s). Idempotent.
func (s *Server) Stop() {
	s.child.Stop(10 * time.Second)
}
