package httpapi

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/latchkey/latchkey/token"
)

// metrics are the Prometheus series the API exports. Series are resolved
// once and kept, so a request does not hash label values.
type metrics struct {
	requests      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	verifications *prometheus.CounterVec
	tokensIssued  prometheus.Counter

	byCode map[token.Code]prometheus.Counter
	routes sync.Map // route → *routeMetrics
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latchkey_http_requests_total",
			Help: "HTTP requests by route, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "latchkey_http_request_duration_seconds",
			Help:    "HTTP request latency by route.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
		verifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latchkey_verifications_total",
			Help: "Key verifications by result code.",
		}, []string{"code"}),
		tokensIssued: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "latchkey_jwt_issued_total",
			Help: "JWTs issued by POST /v1/tokens.",
		}),
		byCode: map[token.Code]prometheus.Counter{},
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.duration, m.verifications, m.tokensIssued)
	}
	for _, c := range token.Codes {
		m.byCode[c] = m.verifications.WithLabelValues(string(c))
	}
	return m
}

// verified counts one verification outcome.
func (m *metrics) verified(c token.Code) {
	if ctr, ok := m.byCode[c]; ok {
		ctr.Inc()
		return
	}
	m.verifications.WithLabelValues(string(c)).Inc()
}

// routeMetrics are one route's series: its latency observer, and its
// request counters by method and status, found by a scan of a short
// copy-on-write list (a route answers with a handful of statuses) instead
// of hashing the labels on every request.
type routeMetrics struct {
	m        *metrics
	route    string
	latency  prometheus.Observer
	mu       sync.Mutex // serializes additions to counters
	counters atomic.Pointer[[]routeCounter]
}

type routeCounter struct {
	method string
	status int
	c      prometheus.Counter
}

// route returns the series of route, made once per route.
func (m *metrics) route(route string) *routeMetrics {
	if rm, ok := m.routes.Load(route); ok {
		return rm.(*routeMetrics)
	}
	rm := &routeMetrics{m: m, route: route, latency: m.duration.WithLabelValues(route)}
	rm.counters.Store(&[]routeCounter{})
	got, _ := m.routes.LoadOrStore(route, rm)
	return got.(*routeMetrics)
}

func (rm *routeMetrics) observe(method string, status int, d time.Duration) {
	if status == 0 {
		status = 200
	}
	rm.counter(method, status).Inc()
	rm.latency.Observe(d.Seconds())
}

func (rm *routeMetrics) counter(method string, status int) prometheus.Counter {
	for _, rc := range *rm.counters.Load() {
		if rc.status == status && rc.method == method {
			return rc.c
		}
	}
	switch method { // bound the label's values: clients choose the method
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS":
	default:
		method = "OTHER"
	}
	rm.mu.Lock()
	defer rm.mu.Unlock()
	old := *rm.counters.Load()
	for _, rc := range old {
		if rc.status == status && rc.method == method {
			return rc.c
		}
	}
	c := rm.m.requests.WithLabelValues(rm.route, method, strconv.Itoa(status))
	if len(old) < 64 { // beyond that (odd methods, many statuses) ask the vector each time
		next := append(old[:len(old):len(old)], routeCounter{method, status, c})
		rm.counters.Store(&next)
	}
	return c
}
