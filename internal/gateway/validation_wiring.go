package gateway

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// buildValidatorFactory wires the token-validation half of the package into New: the
// factory's JWKS fetch and introspection counters go to the gateway's registry.
func buildValidatorFactory(opts Options, reg prometheus.Registerer) (apiValidatorSource, error) {
	return NewValidatorFactory(ValidatorFactoryOptions{
		HTTPClient: opts.HTTPClient,
		Registerer: reg,
		Logger:     opts.Logger,
		Now:        time.Now,
	}), nil
}
