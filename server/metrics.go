package server

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are what /metrics shows of one replica, in Prometheus's text
// format. The hot path only counts (the HTTP middleware: one histogram
// observation, one gauge up and down per request); what the database
// knows (queue, agents, finished attempts) is read when Prometheus
// scrapes.
type metrics struct {
	reg      *prometheus.Registry
	httpDur  *prometheus.HistogramVec
	inflight *prometheus.GaugeVec
	bytesIn  *prometheus.CounterVec
}

// newMetrics registers the replica's metrics; s must have its store, API
// and leader.
func newMetrics(s *Server) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.httpDur = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "lathe_http_request_duration_seconds",
		Help:    "HTTP requests by route pattern and status code, by how long they took (long-polls and streams included).",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
	}, []string{"route", "code"})
	m.inflight = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "lathe_http_requests_in_flight",
		Help: "HTTP requests being served, by route pattern: on the log and run stream routes these are the SSE followers, on the claim route the waiting agents.",
	}, []string{"route"})
	m.bytesIn = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lathe_http_request_bytes_total",
		Help: "Request body bytes received, by route pattern (the log route's are the log bytes in).",
	}, []string{"route"})
	m.reg.MustRegister(m.httpDur, m.inflight, m.bytesIn,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		newStoreCollector(s), s.blobLatency)
	return m
}

// wrap measures every request h serves. route names a request's pattern
// ("" when none matched).
func (m *metrics) wrap(h http.Handler, route func(*http.Request) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pattern := route(r)
		if pattern == "" {
			pattern = "other"
		}
		start := time.Now()
		g := m.inflight.WithLabelValues(pattern)
		g.Inc()
		rec := &statusWriter{ResponseWriter: w}
		defer func() {
			g.Dec()
			if r.ContentLength > 0 {
				m.bytesIn.WithLabelValues(pattern).Add(float64(r.ContentLength))
			}
			m.httpDur.WithLabelValues(pattern, codeText(rec.code)).Observe(time.Since(start).Seconds())
		}()
		h.ServeHTTP(rec, r)
	})
}

// codes are the status codes' texts, made once.
var codes sync.Map

func codeText(code int) string {
	if code == 0 {
		code = http.StatusOK
	}
	if s, ok := codes.Load(code); ok {
		return s.(string)
	}
	s := strconv.Itoa(code)
	codes.Store(code, s)
	return s
}

// statusWriter records the status code written.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (to flush SSE).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush flushes a streamed answer.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// listenMetrics opens Config.MetricsAddr, if set, for serveMetrics.
func (s *Server) listenMetrics() error {
	if s.cfg.MetricsAddr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", s.cfg.MetricsAddr)
	if err != nil {
		return fmt.Errorf("metrics address %s: %w", s.cfg.MetricsAddr, err)
	}
	s.metricsLn = ln
	s.MetricsURL = "http://" + ln.Addr().String() + "/metrics"
	return nil
}

// serveMetrics serves /metrics on the metrics listener, if any, until the
// returned stop is called.
func (s *Server) serveMetrics() (stop func()) {
	if s.metricsLn == nil {
		return func() {}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(s.metricsLn) }()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-done
	}
}
