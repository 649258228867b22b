package server

import (
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/blob"
	"github.com/lathe-ci/lathe/store"
)

// observations are the metrics the server's parts feed as they work —
// database queries and transactions, blob store operations, outbound
// deliveries — made before those parts (setup wires them in) and
// registered with the rest by newMetrics.
type observations struct {
	query       *prometheus.HistogramVec
	blob        *prometheus.HistogramVec
	deliveries  *prometheus.CounterVec
	deliverDur  *prometheus.HistogramVec
	ran         *prometheus.HistogramVec
	started     prometheus.Counter
	endings     *prometheus.CounterVec
	collectible []prometheus.Collector

	// ended are the attempts ended since the last scrape, whose steps it
	// reads for the step histogram (at most maxPendingSteps: a replica nobody scrapes forgets the
	// oldest steps, never the endings).
	mu    sync.Mutex
	ended []int64
}

// maxPendingSteps bounds the attempts whose steps wait for a scrape.
const maxPendingSteps = 10000

// fastBuckets suit operations of about a millisecond: 50 µs to 2.5 s.
var fastBuckets = []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}

func newObservations() *observations {
	o := &observations{
		query: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "lathe_db_query_duration_seconds",
			Help:    "Database queries by kind (read: outside a transaction; write: a statement in a write transaction; transaction: a whole write transaction, begin to commit).",
			Buckets: fastBuckets,
		}, []string{"kind"}),
		blob: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "lathe_blob_operation_duration_seconds",
			Help:    "Blob store operations by store (artifacts, caches, tools), operation (put, get, delete, list) and outcome (ok, error); a get is timed to its answer.",
			Buckets: fastBuckets,
		}, []string{"store", "op", "outcome"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lathe_outbound_deliveries_total",
			Help: "Tries of outbound deliveries (commit statuses, webhook messages) by kind and outcome (delivered, retry, failed: given up, skipped: nowhere to send).",
		}, []string{"kind", "outcome"}),
		deliverDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "lathe_outbound_delivery_duration_seconds",
			Help:    "How long one try of an outbound delivery took, by kind.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"kind"}),
	}
	o.ran = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "lathe_attempt_duration_seconds",
		Help:    "Attempts this replica ended, by status, from start to end.",
		Buckets: prometheus.ExponentialBuckets(0.1, 2.5, 12),
	}, []string{"status"})
	o.endings = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lathe_attempts_ended_total",
		Help: "Attempts this replica ended, by status and end reason (sum over the replicas for the fleet's).",
	}, []string{"status", "reason"})
	o.started = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "lathe_attempts_started_total",
		Help: "Attempts this replica started: the jobs its agents claimed, by a claim request or with a finish (sum over the replicas for the fleet's claims per second).",
	})
	o.collectible = []prometheus.Collector{o.query, o.blob, o.deliveries, o.deliverDur, o.ran, o.started, o.endings}
	return o
}

// observeQuery is the store's observer (store.Store.SetObserver).
func (o *observations) observeQuery(kind string, d time.Duration) {
	o.query.WithLabelValues(kind).Observe(d.Seconds())
}

// attemptStarted counts an attempt the store started (a claim).
func (o *observations) attemptStarted() { o.started.Inc() }

// attemptEnded counts an attempt the store ended (store.Store.SetEndObserver)
// and keeps it for the next scrape to read its steps.
func (o *observations) attemptEnded(a store.FinishedAttempt) {
	status := string(a.Status)
	o.endings.WithLabelValues(status, reasonLabel(a.EndReason)).Inc()
	o.ran.WithLabelValues(status).Observe(a.Ran.Seconds())
	o.mu.Lock()
	if len(o.ended) == maxPendingSteps {
		o.ended = o.ended[1:]
	}
	o.ended = append(o.ended, a.ID)
	o.mu.Unlock()
}

// reasonLabel is an end reason as a metric's label: the server's own
// reasons as they are (a few fixed texts), an agent's infrastructure
// reason only up to the first colon after its prefix ("infrastructure: the
// server did not answer: artifact dist/app.tgz: …" counts as
// "infrastructure: the server did not answer"), so paths and error texts
// never become label values.
func reasonLabel(reason string) string {
	rest, ok := strings.CutPrefix(reason, lathe.InfraReasonPrefix)
	if !ok {
		return reason
	}
	head, _, _ := strings.Cut(rest, ":")
	return lathe.InfraReasonPrefix + head
}

// takeEnded returns the attempts ended since it was last called.
func (o *observations) takeEnded() []int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	ids := o.ended
	o.ended = nil
	return ids
}

// blobStore times the operations of a blob store named name.
func (o *observations) blobStore(name string, b blob.Store) blob.Store {
	return blob.Observed{Store: b, Observe: func(op string, d time.Duration, err error) {
		outcome := "ok"
		if err != nil {
			outcome = "error"
		}
		o.blob.WithLabelValues(name, op, outcome).Observe(d.Seconds())
	}}
}

// observeDelivery counts one try of a delivery (delivery.Loop.Observe).
func (o *observations) observeDelivery(kind string, try store.Try, d time.Duration) {
	outcome := "failed"
	switch {
	case try.Delivered:
		outcome = "delivered"
	case try.Skipped:
		outcome = "skipped"
	case !try.Retry.IsZero():
		outcome = "retry"
	}
	o.deliveries.WithLabelValues(kind, outcome).Inc()
	o.deliverDur.WithLabelValues(kind).Observe(d.Seconds())
}
