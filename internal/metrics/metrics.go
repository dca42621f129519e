package metrics

import (
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds every collector, registered on its own registry. Its
// methods are safe for concurrent use. Create it with New.
type Metrics struct {
	reg *prometheus.Registry

	Requests         *prometheus.CounterVec   // route, model, code
	RequestDuration  *prometheus.HistogramVec // route
	InFlight         prometheus.Gauge
	UpstreamRequests *prometheus.CounterVec   // model, outcome
	UpstreamDuration *prometheus.HistogramVec // model
	Tokens           *prometheus.CounterVec   // model, kind (input|output)
	CostUSD          *prometheus.CounterVec   // model
	Fallbacks        *prometheus.CounterVec   // from, to
	Cache            *prometheus.CounterVec   // outcome, reason
	CacheSimilarity  prometheus.Histogram
	CacheLookup      prometheus.Histogram
	BreakerState     *prometheus.GaugeVec   // model
	BreakerChanges   *prometheus.CounterVec // model, to
	Routes           *prometheus.CounterVec // model, reason
	StoreOps         *prometheus.CounterVec // store, op, outcome
	StoreDuration    *prometheus.HistogramVec
	Sessions         prometheus.Counter
	RolloutRequests  *prometheus.CounterVec // side
	// RolloutDuration is the latency of the requests the rollout splits
	// (chat completions, responses, query), by the side that served them,
	// until the last byte: the latency the rollout's guard watches.
	RolloutDuration *prometheus.HistogramVec // side
	// Shed counts requests and connections refused to protect the
	// gateway, by reason (in_flight, body_budget, connections_per_ip,
	// connections, slow_connection, slow_body).
	Shed *prometheus.CounterVec // reason

	// Latency is the recent-latency window of client requests.
	Latency *Window
	// Book counts usage per model for /status.
	Book Book
	// Totals count client requests for /status.
	Totals struct{ Requests, Errors atomic.Int64 }
}

// latencyBuckets span a cached answer (sub-millisecond) to a long
// generation (a minute).
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// New returns Metrics on a fresh registry that also carries the Go runtime
// and process collectors.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f := func(c prometheus.Collector) { reg.MustRegister(c) }
	m := &Metrics{reg: reg, Latency: NewWindow(4096)}
	m.Requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cato_requests_total", Help: "Client requests by route, model that answered and HTTP status."}, []string{"route", "model", "code"})
	m.RequestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "cato_request_duration_seconds", Help: "Client request latency, until the last byte.", Buckets: latencyBuckets}, []string{"route"})
	m.InFlight = prometheus.NewGauge(prometheus.GaugeOpts{Name: "cato_in_flight_requests", Help: "Client requests being served."})
	m.UpstreamRequests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cato_upstream_requests_total", Help: "Calls to model endpoints by outcome (ok, error, timeout, breaker_open, overloaded, canceled)."}, []string{"model", "outcome"})
	m.UpstreamDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "cato_upstream_duration_seconds", Help: "Latency of one call attempt to a model endpoint.", Buckets: latencyBuckets}, []string{"model"})
	m.Tokens = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cato_tokens_total", Help: "Tokens by model and kind (input, output)."}, []string{"model", "kind"})
	m.CostUSD = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cato_cost_usd_total", Help: "Estimated cost in US dollars by model."}, []string{"model"})
	m.Fallbacks = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cato_fallbacks_total", Help: "Answers served by a fallback model."}, []string{"from", "to"})
	m.Cache = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cato_cache_requests_total", Help: "Semantic cache outcomes (hit, miss, bypass) and bypass reasons."}, []string{"outcome", "reason"})
	m.CacheSimilarity = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "cato_cache_hit_similarity", Help: "Cosine similarity of cache hits.", Buckets: []float64{.8, .85, .9, .92, .94, .96, .98, .99, 1}})
	m.CacheLookup = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "cato_cache_lookup_seconds", Help: "Semantic cache lookup latency, embedding included.", Buckets: latencyBuckets})
	m.BreakerState = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "cato_breaker_state", Help: "Circuit breaker state per model: 0 closed, 1 half_open, 2 open."}, []string{"model"})
	m.BreakerChanges = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cato_breaker_transitions_total", Help: "Circuit breaker transitions by model and new state."}, []string{"model", "to"})
	m.Routes = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cato_routing_decisions_total", Help: "Routing decisions by primary model and rule."}, []string{"model", "rule"})
	m.StoreOps = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cato_store_operations_total", Help: "State store operations by store, operation and outcome."}, []string{"store", "op", "outcome"})
	m.StoreDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "cato_store_duration_seconds", Help: "State store operation latency.", Buckets: latencyBuckets}, []string{"store", "op"})
	m.Sessions = prometheus.NewCounter(prometheus.CounterOpts{Name: "cato_session_turns_total", Help: "Turns saved to working memory."})
	m.RolloutRequests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cato_rollout_requests_total", Help: "Requests by rollout side (new, legacy)."}, []string{"side"})
	m.RolloutDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "cato_rollout_request_duration_seconds", Help: "Latency of requests the rollout splits, by the side that served them (new, legacy), until the last byte.", Buckets: latencyBuckets}, []string{"side"})
	m.Shed = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cato_shed_total", Help: "Requests and connections refused to protect the gateway, by reason (in_flight, body_budget, connections_per_ip, slow_connection, slow_body), and pauses in accepting at server.max_connections (connections)."}, []string{"reason"})
	for _, c := range []prometheus.Collector{m.Shed, m.Requests, m.RequestDuration, m.InFlight, m.UpstreamRequests, m.UpstreamDuration, m.Tokens, m.CostUSD, m.Fallbacks, m.Cache, m.CacheSimilarity, m.CacheLookup, m.BreakerState, m.BreakerChanges, m.Routes, m.StoreOps, m.StoreDuration, m.Sessions, m.RolloutRequests, m.RolloutDuration} {
		f(c)
	}
	return m
}

// Registry returns the registry, for collectors other packages own.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// ObserveRequest records one finished client request.
func (m *Metrics) ObserveRequest(route, model, code string, d time.Duration) {
	m.Requests.WithLabelValues(route, model, code).Inc()
	m.RequestDuration.WithLabelValues(route).Observe(d.Seconds())
	m.Latency.Add(d)
	m.Totals.Requests.Add(1)
	if len(code) == 3 && code[0] == '5' {
		m.Totals.Errors.Add(1)
	}
}
