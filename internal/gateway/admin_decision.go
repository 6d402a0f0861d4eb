package gateway

import (
	"net/http"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
)

// What the admin API asks of the request path (internal/gateway/request).

// checkAPIPlacement refuses an API that only this gateway's options forbid (a link-local
// target, a listen path at or below the decision path): (*request.Checker).CheckPlacement.
func (g *Gateway) checkAPIPlacement(api *adminapi.API) error { return g.requests.CheckPlacement(api) }

// bearerToken reads the admin token the way the proxy reads an access token.
func bearerToken(h string) (string, bool) { return token.Bearer(h) }

// decide is POST /v1/decisions: the request path's answer to a described request
// ((*request.Checker).Explain), counting nothing.
func (g *Gateway) decide(w http.ResponseWriter, r *http.Request) {
	var in adminapi.DecisionRequest
	if !decodeBody(w, r, &in) || !valid(w, in.Validate()) {
		return
	}
	out, err := g.requests.Explain(r, &in)
	if err != nil {
		valid(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}
