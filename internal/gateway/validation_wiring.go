package gateway

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/config"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/request"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/token"
	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/tracing"
)

// buildValidatorFactory wires the token package into New: the factory's JWKS fetch and
// introspection counters go to the gateway's registry.
func buildValidatorFactory(opts Options, reg prometheus.Registerer) (config.ValidatorSource, error) {
	return token.NewFactory(token.FactoryOptions{
		HTTPClient: opts.HTTPClient,
		// Without a client of the caller's, JWKS and introspection dial like the upstreams.
		DialContext: request.NewDialer(opts.AllowLinkLocalTargets).DialContext,
		Registerer:  reg,
		Logger:      opts.Logger,
		Now:         time.Now,
		// RefusedTokenTTL: zero is the token package's default, negative turns it off.
		RefusedTokenTTL: opts.RefusedTokenTTL,
		Tracer:          newTracer(opts),
	}), nil
}

// newTracer is the tracer of the request path and the IdP calls; nil when tracing is off.
func newTracer(opts Options) *tracing.Tracer {
	if opts.Tracing == nil {
		return nil
	}
	return tracing.NewTracer(opts.Tracing.TracerProvider())
}
