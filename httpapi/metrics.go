package httpapi

import (
	"strconv"
	"sync"
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

	byCode  map[token.Code]prometheus.Counter
	series  sync.Map // seriesKey → prometheus.Counter
	latency sync.Map // route → prometheus.Observer
}

type seriesKey struct {
	route, method string
	status        int
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

func (m *metrics) observe(route, method string, status int, d time.Duration) {
	if status == 0 {
		status = 200
	}
	switch method { // bound the label's values: clients choose the method
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS":
	default:
		method = "OTHER"
	}
	k := seriesKey{route, method, status}
	c, ok := m.series.Load(k)
	if !ok {
		c, _ = m.series.LoadOrStore(k, m.requests.WithLabelValues(route, method, strconv.Itoa(status)))
	}
	c.(prometheus.Counter).Inc()
	o, ok := m.latency.Load(route)
	if !ok {
		o, _ = m.latency.LoadOrStore(route, m.duration.WithLabelValues(route))
	}
	o.(prometheus.Observer).Observe(d.Seconds())
}
