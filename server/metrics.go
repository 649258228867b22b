package server

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
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
	// other measures the requests no route takes (web pages, 404s).
	other *routeMetrics
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
	m.reg.MustRegister(s.obs.collectible...)
	m.reg.MustRegister(m.httpDur, m.inflight, m.bytesIn,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		newStoreCollector(s))
	m.other = m.newRoute("other")
	return m
}

// wrap measures every request h serves: as route "other" until a route's
// handler (see route) takes the request to its own metrics.
func (m *metrics) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusWriter{ResponseWriter: w, route: m.other, start: time.Now(), bytesIn: r.ContentLength}
		rec.route.inflight().Inc()
		defer rec.done()
		h.ServeHTTP(rec, r)
	})
}

// done counts the request in its route's metrics once it is answered.
func (w *statusWriter) done() {
	rm := w.route
	rm.inflight().Dec()
	if w.bytesIn > 0 {
		rm.bytesIn().Add(float64(w.bytesIn))
	}
	rm.observe(w.code, time.Since(w.start))
}

// route wraps the handler of the route pattern (see api.Server.Instrument):
// a request it serves is measured under the pattern, through handles
// looked up once for the route rather than once per request.
func (m *metrics) route(pattern string, h http.Handler) http.Handler {
	rm := m.newRoute(pattern)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rec, ok := w.(*statusWriter); ok && rec.route != rm {
			rec.route.inflight().Dec()
			rec.route = rm
			rm.inflight().Inc()
		}
		h.ServeHTTP(w, r)
	})
}

// routeMetrics are one route's series. Each is made at its first use, as
// WithLabelValues would make it: a route never called shows none.
type routeMetrics struct {
	inflight func() prometheus.Gauge
	bytesIn  func() prometheus.Counter
	dur      prometheus.ObserverVec // curried with the route
	mu       sync.Mutex
	// codes are the duration observers of the codes seen so far, a few
	// per route, read without the lock (copied on write under mu).
	codes atomic.Pointer[[]codeObserver]
}

type codeObserver struct {
	code int
	o    prometheus.Observer
}

func (m *metrics) newRoute(pattern string) *routeMetrics {
	return &routeMetrics{
		inflight: sync.OnceValue(func() prometheus.Gauge { return m.inflight.WithLabelValues(pattern) }),
		bytesIn:  sync.OnceValue(func() prometheus.Counter { return m.bytesIn.WithLabelValues(pattern) }),
		dur:      m.httpDur.MustCurryWith(prometheus.Labels{"route": pattern}),
	}
}

// observe records a request's duration under its status code.
func (rm *routeMetrics) observe(code int, d time.Duration) {
	if code == 0 {
		code = http.StatusOK
	}
	if cs := rm.codes.Load(); cs != nil {
		for _, c := range *cs {
			if c.code == code {
				c.o.Observe(d.Seconds())
				return
			}
		}
	}
	rm.mu.Lock()
	var cs []codeObserver
	if p := rm.codes.Load(); p != nil {
		cs = *p
	}
	o := rm.dur.WithLabelValues(strconv.Itoa(code))
	if !slices.ContainsFunc(cs, func(c codeObserver) bool { return c.code == code }) {
		cs = append(slices.Clip(cs), codeObserver{code, o})
		rm.codes.Store(&cs)
	}
	rm.mu.Unlock()
	o.Observe(d.Seconds())
}

// statusWriter records the status code written.
type statusWriter struct {
	http.ResponseWriter
	code int
	// route is whose metrics the request counts in (see metrics.route).
	route *routeMetrics
	// start is when the request came; bytesIn its body's declared length.
	start   time.Time
	bytesIn int64
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
