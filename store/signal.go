package store

import (
	"context"
	"fmt"
	"strconv"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/notify"
)

// The store's change notifications go through a notify.Notifier, published
// once the transaction that made the change has committed. Open gives a
// notify.Local (one process); with several PostgreSQL replicas a notifier
// over LISTEN/NOTIFY carries the same messages between servers.

// SetNotifier makes the store publish its changes through n and its
// signals wait on n. Call it before serving.
func (s *Store) SetNotifier(n notify.Notifier) {
	s.notifier = n
	// The caches' marks and waits were of the notifier before.
	s.idle.reset()
	s.agents.deafen()
}

// Notifier is the notifier the store publishes through.
func (s *Store) Notifier() notify.Notifier { return s.notifier }

// WorkSignal returns a channel closed when any job is next queued, or what
// agents may claim changes.
func (s *Store) WorkSignal() <-chan struct{} {
	return s.notifier.Wait(context.Background(), notify.Filter{Topic: notify.Work, All: true})
}

// ClaimSignal returns a channel closed when a job an agent with labels may
// run is queued, or what agents may claim changes (a job needing labels the
// agent lacks does not close it). The wait ends with ctx.
func (s *Store) ClaimSignal(ctx context.Context, labels []string) <-chan struct{} {
	if labels == nil {
		labels = []string{}
	}
	return s.notifier.Wait(ctx, notify.Filter{Topic: notify.Work, Labels: labels})
}

// AttemptSignal returns a channel closed when the attempt's log grows, one
// of its steps is reported, or it finishes.
func (s *Store) AttemptSignal(attemptID int64) <-chan struct{} {
	return s.notifier.Wait(context.Background(), notify.Filter{Topic: notify.Attempt, Key: idKey(attemptID)})
}

// RunSignal returns a channel closed when any job of the run changes status.
func (s *Store) RunSignal(runID int64) <-chan struct{} {
	return s.notifier.Wait(context.Background(), notify.Filter{Topic: notify.Run, Key: idKey(runID)})
}

func idKey(id int64) string { return strconv.FormatInt(id, 10) }

// attemptChanged wakes the followers of an attempt's log and status.
func (s *Store) attemptChanged(attemptID int64) {
	s.notifier.Publish(notify.Message{Topic: notify.Attempt, Key: idKey(attemptID)})
}

// runChanged wakes the followers of a run's jobs.
func (s *Store) runChanged(runID int64) {
	s.notifier.Publish(notify.Message{Topic: notify.Run, Key: idKey(runID)})
}

// wakeClaimers wakes every waiting claim: what an agent may take has
// changed (an agent, a group, a semaphore's free slots).
func wakeClaimers(s *Store) { s.notifier.Publish(notify.Message{Topic: notify.Work}) }

// queued wakes, once the transaction commits, the claims of agents that
// may run a job with runsOn (the jobs.runs_on column as stored): every
// status write that queues a job (setStatus, for a job going to queued)
// calls it with that job's.
func (t *txn) queued(runsOn string) {
	if t.queuedOn == nil {
		t.queuedOn = map[string]bool{}
		t.afterCommit = append(t.afterCommit, t.publishQueued)
	}
	t.queuedOn[runsOn] = true
}

func (t *txn) publishQueued(s *Store) {
	keys := map[string]bool{}
	for runsOn := range t.queuedOn {
		var labels []string
		if fromJSON(runsOn, &labels) != nil {
			wakeClaimers(s) // unreadable: let every claimer look
			return
		}
		keys[notify.LabelsKey(labels)] = true
	}
	for k := range keys {
		s.notifier.Publish(notify.Message{Topic: notify.Work, Key: k})
	}
}

// OutboxSignal returns a channel closed when deliveries are next queued
// (see outbox.go). The wait ends with ctx.
func (s *Store) OutboxSignal(ctx context.Context) <-chan struct{} {
	return s.notifier.Wait(ctx, notify.Filter{Topic: notify.Outbox, All: true})
}

// outboxChanged wakes the delivery loops.
func (s *Store) outboxChanged() { s.notifier.Publish(notify.Message{Topic: notify.Outbox}) }

// QueuedWorkKeys returns the Work keys (notify.LabelsKey) of the labels the
// queued jobs need, each once: what a notifier's fallback wakes the
// claimers for (see notify.Postgres.QueuedWork). An unreadable runs_on
// gives "", which wakes every claimer.
func (s *Store) QueuedWorkKeys(ctx context.Context) ([]string, error) {
	rows, err := s.query(ctx, `SELECT DISTINCT runs_on FROM jobs WHERE status = ?`, lathe.StatusQueued)
	if err != nil {
		return nil, fmt.Errorf("queued jobs' labels: %w", err)
	}
	defer rows.Close()
	seen := map[string]bool{}
	var keys []string
	for rows.Next() {
		var runsOn string
		if err := rows.Scan(&runsOn); err != nil {
			return nil, fmt.Errorf("queued jobs' labels: %w", err)
		}
		var labels []string
		key := ""
		if fromJSON(runsOn, &labels) == nil {
			key = notify.LabelsKey(labels)
		}
		if !seen[key] {
			seen[key] = true
			keys = append(keys, key)
		}
	}
	return keys, rows.Err()
}

// StopSignal returns a channel closed when the server next wants the
// attempt stopped (see AttemptStop). The wait ends with ctx.
func (s *Store) StopSignal(ctx context.Context, attemptID int64) <-chan struct{} {
	return s.notifier.Wait(ctx, notify.Filter{Topic: notify.Stop, Key: idKey(attemptID)})
}

// attemptStopped wakes the agent waiting to learn that its attempt should stop.
func (s *Store) attemptStopped(attemptID int64) {
	s.notifier.Publish(notify.Message{Topic: notify.Stop, Key: idKey(attemptID)})
}
