package gateway

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/store"
)

// outcome is what happened to a proxy request: the outcome label of idpgate_requests_total.
type outcome int

const (
	outcomeForwarded outcome = iota // passed every check and was sent upstream
	outcomeNoRoute
	outcomeBadRequest
	outcomeUnauthorized
	outcomeForbidden
	outcomeRateLimited
	outcomeQuotaExceeded
	outcomeUnavailable
	outcomeAuthLimited // too many refused tokens from the client's address (auth_failures.go)
	outcomePreflight   // a CORS preflight the gateway answered itself (cors.go)
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"forwarded", "no_route", "bad_request", "unauthorized",
	"forbidden", "rate_limited", "quota_exceeded", "unavailable", "auth_limited", "preflight"}

type metrics struct {
	gatherer       prometheus.Gatherer // nil when the caller's Registerer cannot be gathered
	requests       *prometheus.CounterVec
	validation     prometheus.Histogram
	upstream       *prometheus.HistogramVec
	upstreamErrors *prometheus.CounterVec
	reloads        *prometheus.CounterVec
	changesApplied prometheus.Counter
	apis           prometheus.Gauge
	policies       prometheus.Gauge
	limitsFallback *prometheus.CounterVec
	reg            prometheus.Registerer
}

// newMetrics registers the gateway's collectors with reg, or with a registry of its own
// (plus the Go and process collectors) when reg is nil.
func newMetrics(reg prometheus.Registerer) (*metrics, prometheus.Registerer, error) {
	m := &metrics{}
	if reg == nil {
		r := prometheus.NewRegistry()
		r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		reg, m.gatherer = r, r
	} else if g, ok := reg.(prometheus.Gatherer); ok {
		m.gatherer = g
	}
	latency := []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "idpgate_requests_total", Help: "Proxy requests by API name and outcome.",
	}, []string{"api", "outcome"})
	m.validation = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "idpgate_token_validation_seconds", Help: "Time spent validating bearer tokens.", Buckets: latency,
	})
	m.upstream = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "idpgate_upstream_duration_seconds", Help: "Time from forwarding a request to finishing its response, by API.", Buckets: latency,
	}, []string{"api"})
	m.upstreamErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "idpgate_upstream_errors_total", Help: "Requests the upstream could not answer (answered 502), by API.",
	}, []string{"api"})
	m.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "idpgate_config_reloads_total", Help: "Config snapshots built from the store, by result.",
	}, []string{"result"})
	m.changesApplied = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "idpgate_config_changes_applied_total", Help: "Admin writes applied to the current snapshot without reloading the store.",
	})
	m.limitsFallback = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "idpgate_limits_fallback_total", Help: "Limit checks decided without Redis (unreachable), by fallback mode.",
	}, []string{"mode"})
	m.apis = prometheus.NewGauge(prometheus.GaugeOpts{Name: "idpgate_apis", Help: "Protected APIs in the current snapshot."})
	m.policies = prometheus.NewGauge(prometheus.GaugeOpts{Name: "idpgate_policies", Help: "Access policies in the current snapshot."})

	var err error
	m.requests = register(reg, m.requests, &err)
	m.validation = register(reg, m.validation, &err)
	m.upstream = register(reg, m.upstream, &err)
	m.upstreamErrors = register(reg, m.upstreamErrors, &err)
	m.reloads = register(reg, m.reloads, &err)
	m.changesApplied = register(reg, m.changesApplied, &err)
	m.apis = register(reg, m.apis, &err)
	m.policies = register(reg, m.policies, &err)
	m.limitsFallback = register(reg, m.limitsFallback, &err)
	m.reg = reg
	return m, reg, err
}

// watchStore exports idpgate_store_up: 1 while the store answers, 0 while a shared store
// (Redis) is unreachable and the last snapshot is served.
func (m *metrics) watchStore(st *store.Store) {
	up := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "idpgate_store_up", Help: "1 while the configuration store answers; 0 while Redis is unreachable (the last configuration is served).",
	}, func() float64 {
		if st.Up() {
			return 1
		}
		return 0
	})
	var err error
	register(m.reg, prometheus.Collector(up), &err) // a second gateway on one registry reports the first one's store
}

// register adds c to reg, reusing an identical collector that is already registered (two
// gateways sharing one registry count together).
func register[C prometheus.Collector](reg prometheus.Registerer, c C, errp *error) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		if *errp == nil {
			*errp = err
		}
	}
	return c
}

// routeMetrics are one API's series, resolved once per snapshot so the request path does
// not hash label values.
type routeMetrics struct {
	outcomes       [numOutcomes]prometheus.Counter
	upstream       prometheus.Observer
	upstreamErrors prometheus.Counter
}

func (m *metrics) forRoute(api string) routeMetrics {
	rm := routeMetrics{
		upstream:       m.upstream.WithLabelValues(api),
		upstreamErrors: m.upstreamErrors.WithLabelValues(api),
	}
	for o, name := range outcomeNames {
		rm.outcomes[o] = m.requests.WithLabelValues(api, name)
	}
	return rm
}
