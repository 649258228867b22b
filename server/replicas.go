package server

import (
	"context"

	"github.com/lathe-ci/lathe/notify"
)

// startNotifier makes a server on PostgreSQL hear the other replicas'
// changes (queued jobs, log bytes, run and outbox changes) through
// LISTEN/NOTIFY; on SQLite the store's in-process notifier is enough.
func (s *Server) startNotifier(ctx context.Context) error {
	if s.cfg.DatabaseURL == "" {
		return nil
	}
	n := notify.NewPostgres(s.cfg.DatabaseURL, s.cfg.Log)
	n.QueuedWork = s.Store.QueuedWorkKeys
	if err := n.Start(ctx); err != nil {
		return err
	}
	s.notifier = n
	s.Store.SetNotifier(n)
	return nil
}

func (s *Server) stopNotifier() {
	if s.notifier != nil {
		s.notifier.Close()
	}
}

// startDuties starts the periodic duties only the leader runs: the lease
// sweeper, downstream pipelines and schedules, and retention.
func (s *Server) startDuties(ctx context.Context) (stop func()) {
	stopSweeper := s.sweep.Start(ctx)
	stopAutomation := s.auto.Start(ctx)
	retain := &retention{api: s.API, interval: s.cfg.RetentionInterval, log: s.cfg.Log}
	if retain.interval <= 0 {
		retain.interval = DefaultRetentionInterval
	}
	stopRetention := retain.Start(ctx)
	// Agents on demand: one replica decides, so max holds across them.
	stopProviders := s.startProviders(ctx)
	return func() {
		stopProviders()
		stopRetention()
		stopAutomation()
		stopSweeper()
	}
}

// Leader reports whether this replica runs the periodic duties now.
func (s *Server) Leader() bool { return s.lead.held.Load() }

// Notifier is the notifier carrying wake-ups between replicas (nil on
// SQLite, where one process needs none).
func (s *Server) Notifier() *notify.Postgres { return s.notifier }
