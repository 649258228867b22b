package server

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// storeCollector reads, at each scrape, what the database knows: the queue
// by labels, agents online, the attempts that ended since the last scrape
// (on the leader only, so a fleet's replicas do not count each twice), the
// connection pool, the notifier and the lead.
type storeCollector struct {
	s *Server

	queued, oldest, online, leader, received, fallbacks *prometheus.Desc
	pool                                                prometheus.Collector

	mu      sync.Mutex
	after   int64 // the last attempt ID observed
	primed  bool
	ran     *prometheus.HistogramVec
	steps   *prometheus.HistogramVec
	endings *prometheus.CounterVec
}

func newStoreCollector(s *Server) *storeCollector {
	return &storeCollector{
		s:         s,
		queued:    prometheus.NewDesc("lathe_queue_jobs", "Jobs queued, by the labels they need (the same on every replica).", []string{"runs_on"}, nil),
		oldest:    prometheus.NewDesc("lathe_queue_oldest_wait_seconds", "How long the longest-queued job needing these labels has waited.", []string{"runs_on"}, nil),
		online:    prometheus.NewDesc("lathe_agents_online", "Agents heard from within the online window (the same on every replica).", nil, nil),
		leader:    prometheus.NewDesc("lathe_leader", "1 when this replica runs the periodic duties (sweeper, schedules, retention).", nil, nil),
		received:  prometheus.NewDesc("lathe_notifications_received_total", "Wake-ups heard from the other replicas (PostgreSQL only).", nil, nil),
		fallbacks: prometheus.NewDesc("lathe_notification_fallbacks_total", "Fallback wake-ups of every waiter, in case a notification was missed (PostgreSQL only).", nil, nil),
		pool:      collectors.NewDBStatsCollector(s.Store.Pool(), s.Store.Engine()),
		ran: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "lathe_attempt_duration_seconds",
			Help:    "Attempts that ended, by status, from start to end (observed by the leader).",
			Buckets: prometheus.ExponentialBuckets(0.1, 2.5, 12),
		}, []string{"status"}),
		steps: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "lathe_step_duration_seconds",
			Help:    "Steps of the attempts that ended, by status, from start to end (observed by the leader).",
			Buckets: prometheus.ExponentialBuckets(0.01, 2.5, 14),
		}, []string{"status"}),
		endings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lathe_attempts_ended_total",
			Help: "Attempts that ended, by status and end reason (counted by the leader).",
		}, []string{"status", "reason"}),
	}
}

// Describe implements prometheus.Collector.
func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.queued, c.oldest, c.online, c.leader, c.received, c.fallbacks} {
		ch <- d
	}
	c.pool.Describe(ch)
	c.ran.Describe(ch)
	c.steps.Describe(ch)
	c.endings.Describe(ch)
}

// Collect implements prometheus.Collector.
func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st := c.s.Store
	if qs, err := st.QueueGauges(ctx); err == nil {
		for _, q := range qs {
			ch <- prometheus.MustNewConstMetric(c.queued, prometheus.GaugeValue, float64(q.Jobs), q.RunsOn)
			ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, q.OldestWait.Seconds(), q.RunsOn)
		}
	}
	if n, err := st.AgentsOnline(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(c.online, prometheus.GaugeValue, float64(n))
	}
	lead := 0.0
	if c.s.Leader() {
		lead = 1
		c.observeEnded(ctx)
	}
	ch <- prometheus.MustNewConstMetric(c.leader, prometheus.GaugeValue, lead)
	if n := c.s.notifier; n != nil {
		ch <- prometheus.MustNewConstMetric(c.received, prometheus.CounterValue, float64(n.Received()))
		ch <- prometheus.MustNewConstMetric(c.fallbacks, prometheus.CounterValue, float64(n.Fallbacks()))
	}
	c.pool.Collect(ch)
	c.ran.Collect(ch)
	c.steps.Collect(ch)
	c.endings.Collect(ch)
}

// observeEnded adds the attempts that ended since the last scrape to the
// histogram (the first scrape only finds where to start).
func (c *storeCollector) observeEnded(ctx context.Context) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for range 20 {
		as, err := c.s.Store.FinishedAttemptsAfter(ctx, c.after, 1000)
		if err != nil || len(as) == 0 {
			break
		}
		ids := make([]int64, 0, len(as))
		for _, a := range as {
			if c.primed {
				c.ran.WithLabelValues(a.Status).Observe(a.Ran.Seconds())
				c.endings.WithLabelValues(a.Status, a.EndReason).Inc()
				ids = append(ids, a.ID)
			}
			c.after = a.ID
		}
		c.observeSteps(ctx, ids)
	}
	c.primed = true
}

// observeSteps adds the steps of the attempts ids, which ended, to the
// step histogram.
func (c *storeCollector) observeSteps(ctx context.Context, ids []int64) {
	steps, err := c.s.Store.FinishedStepsOf(ctx, ids)
	if err != nil {
		return
	}
	for _, st := range steps {
		c.steps.WithLabelValues(st.Status).Observe(st.Ran.Seconds())
	}
}
