package server

import (
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// httpMetrics are the web tier's Prometheus metrics.
type httpMetrics struct {
	reg      *prometheus.Registry
	duration *prometheus.HistogramVec
}

// newHTTPMetrics registers the request histogram: one series per route, not per URL, so that
// ids in paths do not multiply them.
func newHTTPMetrics(reg *prometheus.Registry) *httpMetrics {
	m := &httpMetrics{reg: reg, duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "ledgerscope_http_request_duration_seconds",
		Help:    "Time to answer a request, by method, route and status.",
		Buckets: []float64{.002, .005, .01, .02, .03, .05, .1, .2, .5, 1, 2, 5},
	}, []string{"method", "route", "status"})}
	reg.MustRegister(m.duration)
	return m
}

func (m *httpMetrics) observe(method, route string, status int, took time.Duration) {
	m.duration.WithLabelValues(method, route, strconv.Itoa(status)).Observe(took.Seconds())
}

// serveMetrics is /metrics, when the server was given a registry.
func (s *Server) serveMetrics(c *gin.Context) error {
	if s.metrics == nil {
		return errNotFound
	}
	promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}).ServeHTTP(c.Writer, c.Request)
	return nil
}
