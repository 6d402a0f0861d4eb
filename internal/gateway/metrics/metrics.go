package metrics

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/idpgate/terraform-provider-idpgate/internal/gateway/store"
)

// Outcome is what happened to a proxy request: the outcome label of idpgate_requests_total.
type Outcome int

const (
	Forwarded Outcome = iota // passed every check and was sent upstream
	NoRoute
	BadRequest
	Unauthorized
	Forbidden
	RateLimited
	QuotaExceeded
	Unavailable
	AuthLimited // too many refused tokens from the client's address (limits.FailedAuth)
	Preflight   // a CORS preflight the gateway answered itself
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"forwarded", "no_route", "bad_request", "unauthorized",
	"forbidden", "rate_limited", "quota_exceeded", "unavailable", "auth_limited", "preflight"}

// String is the outcome's label value.
func (o Outcome) String() string { return outcomeNames[o] }

// Metrics are the gateway's collectors.
type Metrics struct {
	Gatherer       prometheus.Gatherer // nil when the caller's Registerer cannot be gathered
	Requests       *prometheus.CounterVec
	Validation     prometheus.Histogram
	Upstream       *prometheus.HistogramVec
	UpstreamErrors *prometheus.CounterVec
	Reloads        *prometheus.CounterVec
	ChangesApplied prometheus.Counter
	APIs           prometheus.Gauge
	Policies       prometheus.Gauge
	LimitsFallback *prometheus.CounterVec
	reg            prometheus.Registerer
}

// New registers the gateway's collectors with reg, or with a registry of its own (plus the
// Go and process collectors) when reg is nil, and returns the registerer used.
func New(reg prometheus.Registerer) (*Metrics, prometheus.Registerer, error) {
	m := &Metrics{}
	if reg == nil {
		r := prometheus.NewRegistry()
		r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		reg, m.Gatherer = r, r
	} else if g, ok := reg.(prometheus.Gatherer); ok {
		m.Gatherer = g
	}
	latency := []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
	m.Requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "idpgate_requests_total", Help: "Proxy requests by API name and outcome.",
	}, []string{"api", "outcome"})
	m.Validation = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "idpgate_token_validation_seconds", Help: "Time spent validating bearer tokens.", Buckets: latency,
	})
	m.Upstream = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "idpgate_upstream_duration_seconds", Help: "Time from forwarding a request to finishing its response, by API.", Buckets: latency,
	}, []string{"api"})
	m.UpstreamErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "idpgate_upstream_errors_total", Help: "Requests the upstream could not answer (answered 502), by API.",
	}, []string{"api"})
	m.Reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "idpgate_config_reloads_total", Help: "Config snapshots built from the store, by result.",
	}, []string{"result"})
	m.ChangesApplied = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "idpgate_config_changes_applied_total", Help: "Admin writes applied to the current snapshot without reloading the store.",
	})
	m.LimitsFallback = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "idpgate_limits_fallback_total", Help: "Limit checks decided without Redis (unreachable), by fallback mode.",
	}, []string{"mode"})
	m.APIs = prometheus.NewGauge(prometheus.GaugeOpts{Name: "idpgate_apis", Help: "Protected APIs in the current snapshot."})
	m.Policies = prometheus.NewGauge(prometheus.GaugeOpts{Name: "idpgate_policies", Help: "Access policies in the current snapshot."})

	var err error
	m.Requests = Register(reg, m.Requests, &err)
	m.Validation = Register(reg, m.Validation, &err)
	m.Upstream = Register(reg, m.Upstream, &err)
	m.UpstreamErrors = Register(reg, m.UpstreamErrors, &err)
	m.Reloads = Register(reg, m.Reloads, &err)
	m.ChangesApplied = Register(reg, m.ChangesApplied, &err)
	m.APIs = Register(reg, m.APIs, &err)
	m.Policies = Register(reg, m.Policies, &err)
	m.LimitsFallback = Register(reg, m.LimitsFallback, &err)
	m.reg = reg
	return m, reg, err
}

// WatchStore exports idpgate_store_up: 1 while the store answers, 0 while a shared store
// (Redis) is unreachable and the last snapshot is served.
func (m *Metrics) WatchStore(st *store.Store) {
	up := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "idpgate_store_up", Help: "1 while the configuration store answers; 0 while Redis is unreachable (the last configuration is served).",
	}, func() float64 {
		if st.Up() {
			return 1
		}
		return 0
	})
	var err error
	Register(m.reg, prometheus.Collector(up), &err) // a second gateway on one registry reports the first one's store
}

// Register adds c to reg, reusing an identical collector that is already registered (two
// gateways sharing one registry count together).
func Register[C prometheus.Collector](reg prometheus.Registerer, c C, errp *error) C {
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

// Route are one API's series, resolved once per snapshot so the request path does not hash
// label values.
type Route struct {
	Outcomes       [numOutcomes]prometheus.Counter // by Outcome
	Upstream       prometheus.Observer
	UpstreamErrors prometheus.Counter
}

// ForRoute resolves the series of the API named api.
func (m *Metrics) ForRoute(api string) Route {
	rm := Route{
		Upstream:       m.Upstream.WithLabelValues(api),
		UpstreamErrors: m.UpstreamErrors.WithLabelValues(api),
	}
	for o, name := range outcomeNames {
		rm.Outcomes[o] = m.Requests.WithLabelValues(api, name)
	}
	return rm
}
