package gateway

import (
	"net/http"

	"github.com/idpgate/terraform-provider-idpgate/internal/adminapi"
)

// explainer is the admin room's Decider (POST /v1/decisions): the request path's own checks
// run as a simulation (admin_decision.go), nothing counted, no upstream called.
type explainer struct{ g *Gateway }

func (e explainer) Explain(r *http.Request, in *adminapi.DecisionRequest) (*adminapi.Decision, error) {
	req, sim, err := simulatedRequest(r, in)
	if err != nil {
		return nil, err
	}
	d, ref := e.g.checkRequest(req, e.g.config.Snapshot(), sim)
	if d.preflight && !d.route.CORS.Preflight(http.Header{}, req) {
		ref = corsRefused() // as answerPreflight would answer it
	}
	return explain(req, &d, ref, sim), nil
}
