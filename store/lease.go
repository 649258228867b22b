package store

import (
	"context"
	"encoding/hex"
	"fmt"
	"math"
	"strings"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/engine"
)

// The lease sweep: what the server does about attempts whose agents went
// quiet or overran, and about queued jobs no agent can take. Every change is
// made in one transaction per attempt or job that locks the run first (like
// every writer of a run) and re-checks, under that lock, the condition that
// selected it, so any number of sweepers (PostgreSQL replicas) may run at
// once: each change happens exactly once, and a report that renewed a lease
// meanwhile wins.

// SweepPolicy says what one Sweep does.
type SweepPolicy struct {
	// InfraRetries is how many times a job whose attempt was lost is queued
	// again as a new attempt; after that the job ends lost.
	InfraRetries int
	// TimeoutGrace is how long past its job's timeout a running attempt may
	// go before the server marks it timed_out (the agent enforces the
	// timeout itself; this catches agents that cannot).
	TimeoutGrace time.Duration
	// OnlineWindow is how recently an agent must have been heard from to
	// count when deciding whether a queued job can be taken at all.
	OnlineWindow time.Duration
	// QueueTimeout fails a queued job that no online agent can take once it
	// has been queued this long; zero never fails it.
	QueueTimeout time.Duration
	// Limit bounds the attempts and jobs one Sweep changes in each category.
	Limit int
}

// SweepResult counts what one Sweep changed.
type SweepResult struct {
	Lost     int // attempts whose lease expired
	Retried  int // of those, jobs queued again
	TimedOut int // attempts past their job's timeout and grace
	Waiting  int // queued jobs given a wait reason
	Failed   int // queued jobs failed after the queue timeout
}

// Sweep applies p once: expired leases become lost attempts (retried or
// ending the job), overrunning attempts time out, and queued jobs no online
// agent can take get a wait reason and, in time, fail.
func (s *Store) Sweep(ctx context.Context, p SweepPolicy) (SweepResult, error) {
	var res SweepResult
	if p.Limit <= 0 {
		p.Limit = 100
	}
	now := micros(s.now())

	expired, err := s.runningAttempts(ctx, `a.lease_expires_at < ?`, []any{now}, `a.lease_expires_at`, p.Limit)
	if err != nil {
		return res, err
	}
	for _, c := range expired {
		lost, retried, err := s.expireLease(ctx, c, p.InfraRetries)
		if err != nil {
			return res, err
		}
		if lost {
			res.Lost++
		}
		if retried {
			res.Retried++
		}
	}

	grace := p.TimeoutGrace.Microseconds()
	over, err := s.runningAttempts(ctx, `j.timeout_sec > 0 AND a.started_at + j.timeout_sec * 1000000 + ? < ?`,
		[]any{grace, now}, `a.started_at`, p.Limit)
	if err != nil {
		return res, err
	}
	for _, c := range over {
		ok, err := s.timeOut(ctx, c, grace)
		if err != nil {
			return res, err
		}
		if ok {
			res.TimedOut++
		}
	}

	res.Waiting, res.Failed, err = s.sweepQueue(ctx, p)
	return res, err
}

// candidate is a running attempt a sweep looks at.
type candidate struct{ attemptID, jobID, runID int64 }

func (s *Store) runningAttempts(ctx context.Context, cond string, args []any, order string, limit int) ([]candidate, error) {
	rows, err := s.query(ctx, `SELECT a.id, a.job_id, j.run_id FROM attempts a JOIN jobs j ON j.id = a.job_id
		WHERE a.status = ? AND `+cond+` ORDER BY `+order+` LIMIT ?`,
		append(append([]any{lathe.StatusRunning}, args...), limit)...)
	if err != nil {
		return nil, fmt.Errorf("sweep: %w", err)
	}
	defer rows.Close()
	var out []candidate
	for rows.Next() {
		var c candidate
		if err := rows.Scan(&c.attemptID, &c.jobID, &c.runID); err != nil {
			return nil, fmt.Errorf("sweep: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// expireLease marks the attempt lost if its lease is still expired under its
// run's lock, then queues its job again (a new attempt follows on the next
// claim) while the job has infrastructure retries left, or ends it lost.
func (s *Store) expireLease(ctx context.Context, c candidate, retries int) (lost, retried bool, err error) {
	err = s.tx(ctx, func(t *txn) error {
		if err := t.lockRun(ctx, c.runID); err != nil {
			return err
		}
		var err error
		lost, retried, err = t.loseAttempt(ctx, c, ReasonLeaseExpired, false, true, retries,
			` AND lease_expires_at < ?`, micros(t.now))
		return err
	})
	return lost, retried, err
}

// timeOut ends a running attempt, and its job, as timed_out if it is still
// running past its job's timeout plus grace under its run's lock.
func (s *Store) timeOut(ctx context.Context, c candidate, grace int64) (bool, error) {
	done := false
	err := s.tx(ctx, func(t *txn) error {
		if err := t.lockRun(ctx, c.runID); err != nil {
			return err
		}
		var status lathe.Status
		var started, timeout int64
		err := t.queryRow(ctx, `SELECT a.status, a.started_at, j.timeout_sec FROM attempts a JOIN jobs j ON j.id = a.job_id
			WHERE a.id = ?`, c.attemptID).Scan(&status, &started, &timeout)
		if err != nil {
			return notFound(err, "attempt", c.attemptID)
		}
		if status != lathe.StatusRunning || !engine.TimedOut(started, timeout, grace, micros(t.now)) {
			return nil
		}
		_, done, err = t.endAttempt(ctx, c, attemptEnd{result: lathe.StatusTimedOut, set: `, log_complete = 0`})
		return err
	})
	return done, err
}

// sweepQueue gives each queued job that no online agent can take a wait
// reason naming the labels nobody has (and clears it from jobs that can now
// be taken), and fails such jobs once they have waited QueueTimeout.
func (s *Store) sweepQueue(ctx context.Context, p SweepPolicy) (waiting, failed int, err error) {
	// The online agents' labels are read once a job is queued: an idle
	// fleet's every sweep would read them all for nothing.
	var fleet, disabled [][]string
	fleetRead, disabledRead := false, false
	type queued struct {
		id, runID, queuedAt int64
		runsOn              []string
		group, had          string
		reason              string
		// stuck: no online agent can take the job (a wait for a
		// semaphore is not stuck, and never fails the job).
		stuck bool
	}
	var changes []queued
	now := micros(s.now())
	gate := newSemaphoreGate(s)
	// The queue is read in its order, as the claim reads it (and from the
	// same index, jobs_queue).
	for afterPos, after := int64(math.MinInt64), int64(0); len(changes) < p.Limit; {
		rows, err := s.query(ctx, `SELECT id, run_id, runs_on, wait_reason, COALESCE(queued_at, created_at), concurrency_group,
				queue_position FROM jobs
			WHERE status = 'queued' AND (queue_position, id) > (?, ?) ORDER BY queue_position, id LIMIT ?`, afterPos, after, claimPage)
		if err != nil {
			return 0, 0, fmt.Errorf("sweep queue: %w", err)
		}
		var page []queued
		n := 0
		for rows.Next() {
			n++
			var q queued
			var runsOn string
			if err := rows.Scan(&q.id, &q.runID, &runsOn, &q.had, &q.queuedAt, &q.group, &afterPos); err != nil {
				rows.Close()
				return 0, 0, fmt.Errorf("sweep queue: %w", err)
			}
			after = q.id
			if err := fromJSON(runsOn, &q.runsOn); err != nil {
				continue
			}
			page = append(page, q)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, 0, fmt.Errorf("sweep queue: %w", err)
		}
		if len(page) > 0 && !fleetRead {
			if fleet, err = s.onlineLabels(ctx, p.OnlineWindow, false); err != nil {
				return 0, 0, err
			}
			fleetRead = true
		}
		for _, q := range page {
			q.reason = engine.WaitReason(q.runsOn, fleet)
			q.stuck = q.reason != ""
			if q.stuck {
				// An agent that could take it but is disabled is worth
				// naming: enabling it is the fix.
				if !disabledRead {
					if disabled, err = s.onlineLabels(ctx, p.OnlineWindow, true); err != nil {
						return 0, 0, err
					}
					disabledRead = true
				}
				if engine.WaitReason(q.runsOn, disabled) == "" {
					q.reason += " (an online agent that has them is disabled)"
				}
			}
			if !q.stuck {
				if q.reason, err = gate.wait(ctx, q.runID, q.group); err != nil {
					return 0, 0, fmt.Errorf("sweep queue: %w", err)
				}
			}
			if q.reason != q.had || engine.QueueExpired(q.stuck, q.queuedAt, p.QueueTimeout, now) {
				changes = append(changes, q)
			}
		}
		if n < claimPage {
			break
		}
	}
	for _, q := range changes {
		fail := engine.QueueExpired(q.stuck, q.queuedAt, p.QueueTimeout, now)
		err := s.tx(ctx, func(t *txn) error {
			if err := t.lockRun(ctx, q.runID); err != nil {
				return err
			}
			if !fail {
				res, err := t.exec(ctx, `UPDATE jobs SET wait_reason = ? WHERE id = ? AND status = ? AND wait_reason <> ?`,
					q.reason, q.id, lathe.StatusQueued, q.reason)
				if err == nil && q.reason != "" {
					if n, _ := res.RowsAffected(); n > 0 {
						waiting++
						t.afterCommit = append(t.afterCommit, func(s *Store) { s.runChanged(q.runID) })
					}
				}
				return err
			}
			err := t.setStatus(ctx, engine.Job, q.id, lathe.StatusQueued, lathe.StatusFailed, `, wait_reason = ?, finished_at = ?`,
				q.reason, micros(t.now))
			if stale(err) {
				return nil // claimed or canceled meanwhile
			}
			if err != nil {
				return err
			}
			failed++
			return t.advanceRun(ctx, q.runID)
		})
		if err != nil {
			return waiting, failed, fmt.Errorf("sweep queued job %d: %w", q.id, err)
		}
	}
	return waiting, failed, nil
}

// onlineLabels returns the effective label sets of the agents that may take
// work (or, with disabled, of those that would but are disabled) and were
// heard from within window.
func (s *Store) onlineLabels(ctx context.Context, window time.Duration, disabled bool) ([][]string, error) {
	if window <= 0 {
		window = lathe.AgentOnlineWindow
	}
	rows, err := s.query(ctx, `SELECT g.id, g.labels FROM agents g
		WHERE g.deleted_at IS NULL AND g.authorized = 1 AND g.disabled = ? AND g.last_seen > ?`, bit(disabled), micros(s.now().Add(-window)))
	if err != nil {
		return nil, fmt.Errorf("online agents: %w", err)
	}
	byID := map[int64][]string{}
	var ids []any
	for rows.Next() {
		var id int64
		var labels string
		if err := rows.Scan(&id, &labels); err != nil {
			rows.Close()
			return nil, fmt.Errorf("online agents: %w", err)
		}
		var ls []string
		if fromJSON(labels, &ls) == nil {
			byID[id] = ls
			ids = append(ids, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(ids) == 0 {
		return nil, err
	}
	grows, err := s.query(ctx, `SELECT m.agent_id, gr.name FROM agent_group_members m JOIN agent_groups gr ON gr.id = m.group_id
		WHERE m.agent_id IN (`+placeholders(len(ids))+`)`, ids...)
	if err != nil {
		return nil, fmt.Errorf("online agents' groups: %w", err)
	}
	defer grows.Close()
	for grows.Next() {
		var id int64
		var name string
		if err := grows.Scan(&id, &name); err != nil {
			return nil, err
		}
		byID[id] = append(byID[id], lathe.GroupLabelPrefix+name)
	}
	out := make([][]string, 0, len(byID))
	for _, ls := range byID {
		out = append(out, ls)
	}
	return out, grows.Err()
}

// storedLogSum is the SHA-256 of an attempt's stored log, read in order.
func (t *txn) storedLogSum(ctx context.Context, attemptID int64) ([]byte, error) {
	rows, err := t.query(ctx, `SELECT off, data FROM log_chunks WHERE attempt_id = ? ORDER BY off`, attemptID)
	if err != nil {
		return nil, fmt.Errorf("hash log of attempt %d: %w", attemptID, err)
	}
	h, _, _, err := hashChunks(rows)
	if err != nil {
		return nil, fmt.Errorf("hash log of attempt %d: %w", attemptID, err)
	}
	return h.Sum(nil), nil
}

// checkLog compares the hex SHA-256 the agent computed over its whole log
// with sum, the stored log's, and marks the log incomplete when they
// disagree.
func (t *txn) checkLog(ctx context.Context, attemptID int64, sum []byte, want string) error {
	if strings.EqualFold(hex.EncodeToString(sum), want) {
		return nil
	}
	_, err := t.exec(ctx, `UPDATE attempts SET log_complete = 0 WHERE id = ?`, attemptID)
	return err
}

// RenewLeases gives every running attempt's lease at least a fresh TTL from
// now. The sweeper calls it before judging leases whenever the server may
// have been unable to record heartbeats (at start, after the database was
// unreachable): agents kept trying to report meanwhile, and a lease must not
// expire for the server's own outage.
func (s *Store) RenewLeases(ctx context.Context) (int64, error) {
	until := micros(s.now().Add(s.LeaseTTLOrDefault()))
	res, err := s.w.ExecContext(ctx, s.d.rebind(`UPDATE attempts SET lease_expires_at = ? WHERE status = ? AND lease_expires_at < ?`),
		until, lathe.StatusRunning, until)
	if err != nil {
		return 0, fmt.Errorf("renew leases: %w", err)
	}
	return res.RowsAffected()
}
