package server

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// storeCollector reads, at each scrape, what the database knows: the queue
// by labels, agents online, the steps of the attempts this replica ended
// since the last scrape, the connection pool, the notifier and the lead.
type storeCollector struct {
	s *Server

	queued, oldest, online, byGroup, leader, received, fallbacks, peers *prometheus.Desc
	pool                                                                prometheus.Collector
	steps                                                               *prometheus.HistogramVec
}

func newStoreCollector(s *Server) *storeCollector {
	return &storeCollector{
		s:         s,
		queued:    prometheus.NewDesc("lathe_queue_jobs", "Jobs queued, by the labels they need (the same on every replica).", []string{"runs_on"}, nil),
		oldest:    prometheus.NewDesc("lathe_queue_oldest_wait_seconds", "How long the longest-queued job needing these labels has waited.", []string{"runs_on"}, nil),
		online:    prometheus.NewDesc("lathe_agents_online", "Agents heard from within the online window (the same on every replica).", nil, nil),
		byGroup:   prometheus.NewDesc("lathe_agents_online_by_group", "Agents of each group heard from within the online window (an agent in two groups counts in both; the same on every replica).", []string{"group"}, nil),
		leader:    prometheus.NewDesc("lathe_leader", "1 when this replica runs the periodic duties (sweeper, schedules, retention).", nil, nil),
		received:  prometheus.NewDesc("lathe_notifications_received_total", "Wake-ups heard from the other replicas (PostgreSQL only).", nil, nil),
		peers:     prometheus.NewDesc("lathe_replica_peers", "Other replicas this one hears (PostgreSQL only); with none it sends no notifications.", nil, nil),
		fallbacks: prometheus.NewDesc("lathe_notification_fallbacks_total", "Fallback wake-ups of every waiter, in case a notification was missed (PostgreSQL only).", nil, nil),
		pool:      collectors.NewDBStatsCollector(s.Store.Pool(), s.Store.Engine()),
		steps: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "lathe_step_duration_seconds",
			Help:    "Steps of the attempts this replica ended, by status, from start to end.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2.5, 14),
		}, []string{"status"}),
	}
}

// Describe implements prometheus.Collector.
func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.queued, c.oldest, c.online, c.byGroup, c.leader, c.received, c.fallbacks, c.peers} {
		ch <- d
	}
	c.pool.Describe(ch)
	c.steps.Describe(ch)
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
	if gs, err := st.AgentsOnlineByGroup(ctx); err == nil {
		for _, g := range gs {
			ch <- prometheus.MustNewConstMetric(c.byGroup, prometheus.GaugeValue, float64(g.Agents), g.Group)
		}
	}
	lead := 0.0
	if c.s.Leader() {
		lead = 1
	}
	ch <- prometheus.MustNewConstMetric(c.leader, prometheus.GaugeValue, lead)
	if n := c.s.notifier; n != nil {
		ch <- prometheus.MustNewConstMetric(c.received, prometheus.CounterValue, float64(n.Received()))
		ch <- prometheus.MustNewConstMetric(c.fallbacks, prometheus.CounterValue, float64(n.Fallbacks()))
		ch <- prometheus.MustNewConstMetric(c.peers, prometheus.GaugeValue, float64(n.Peers()))
	}
	c.pool.Collect(ch)
	c.observeSteps(ctx)
	c.steps.Collect(ch)
}

// observeSteps adds the steps of the attempts ended since the last scrape
// to the step histogram.
func (c *storeCollector) observeSteps(ctx context.Context) {
	ids := c.s.obs.takeEnded()
	for len(ids) > 0 {
		n := min(len(ids), 500)
		steps, err := c.s.Store.FinishedStepsOf(ctx, ids[:n])
		if err != nil {
			return
		}
		for _, st := range steps {
			c.steps.WithLabelValues(st.Status).Observe(st.Ran.Seconds())
		}
		ids = ids[n:]
	}
}
