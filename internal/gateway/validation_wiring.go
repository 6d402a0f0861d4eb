package gateway

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/config"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
)

// buildValidatorFactory wires the token package into New: the factory's JWKS fetch and
// introspection counters go to the gateway's registry.
func buildValidatorFactory(opts Options, reg prometheus.Registerer) (config.ValidatorSource, error) {
	return token.NewFactory(token.FactoryOptions{
		HTTPClient: opts.HTTPClient,
		// Without a client of the caller's, JWKS and introspection dial like the upstreams.
		DialContext: newDialer(opts.AllowLinkLocalTargets).DialContext,
		Registerer:  reg,
		Logger:      opts.Logger,
		Now:         time.Now,
		// RefusedTokenTTL: zero is the token package's default, negative turns it off.
		RefusedTokenTTL: opts.RefusedTokenTTL,
		Tracer:          newTracer(opts),
	}), nil
}
