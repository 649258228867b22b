package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/engine"
)

// DefaultLeaseTTL is how long an attempt stays claimed without a report
// from its agent, unless the Store's LeaseTTL says otherwise.
const DefaultLeaseTTL = 60 * time.Second

// LeaseTTLOrDefault is how long an attempt stays claimed without a report
// from its agent: LeaseTTL, or DefaultLeaseTTL when it is not set.
func (s *Store) LeaseTTLOrDefault() time.Duration {
	if s.LeaseTTL > 0 {
		return s.LeaseTTL
	}
	return DefaultLeaseTTL
}

// attemptCols ends with the attempt's hold, if a hold kept its workspace.
const attemptCols = `a.id, a.job_id, a.number, a.agent_id, g.name, a.status, a.log_size, a.log_complete, a.created_at, a.started_at, a.finished_at, a.end_reason,
	(SELECT x.expires_at FROM held_attempts x WHERE x.attempt_id = a.id), (SELECT x.path FROM held_attempts x WHERE x.attempt_id = a.id), a.log_expired_at`

func scanAttempt(row interface{ Scan(...any) error }) (*lathe.Attempt, error) {
	var a lathe.Attempt
	var created int64
	var complete int
	var started, finished, heldUntil, logExpired sql.NullInt64
	var heldPath sql.NullString
	if err := row.Scan(&a.ID, &a.JobID, &a.Number, &a.AgentID, &a.Agent, &a.Status, &a.LogSize, &complete, &created, &started, &finished,
		&a.EndReason, &heldUntil, &heldPath, &logExpired); err != nil {
		return nil, err
	}
	a.LogComplete = complete != 0
	a.HeldUntil, a.HeldPath = fromNullMicros(heldUntil), heldPath.String
	a.LogExpiredAt = fromNullMicros(logExpired)
	a.CreatedAt, a.StartedAt, a.FinishedAt = fromMicros(created), fromNullMicros(started), fromNullMicros(finished)
	a.Finish()
	return &a, nil
}

// attempts lists attempts (with their steps) matching cond, oldest first.
func (s *Store) attempts(ctx context.Context, cond string, args ...any) ([]*lathe.Attempt, error) {
	rows, err := s.query(ctx, `SELECT `+attemptCols+` FROM attempts a JOIN agents g ON g.id = a.agent_id WHERE `+cond+` ORDER BY a.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("list attempts: %w", err)
	}
	out := []*lathe.Attempt{}
	byID := map[int64]*lathe.Attempt{}
	for rows.Next() {
		a, err := scanAttempt(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("list attempts: %w", err)
		}
		a.Steps = []*lathe.Step{}
		out = append(out, a)
		byID[a.ID] = a
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(out) == 0 {
		return out, err
	}
	ids := make([]any, len(out))
	for i, a := range out {
		ids[i] = a.ID
	}
	srows, err := s.query(ctx, `SELECT attempt_id, idx, name, status, exit_code, log_start, log_end, created_at, started_at, finished_at
		FROM steps WHERE attempt_id IN (`+placeholders(len(ids))+`) ORDER BY attempt_id, idx`, ids...)
	if err != nil {
		return nil, fmt.Errorf("list steps: %w", err)
	}
	defer srows.Close()
	for srows.Next() {
		var st lathe.Step
		var exit, end, started, finished sql.NullInt64
		var created int64
		if err := srows.Scan(&st.AttemptID, &st.Index, &st.Name, &st.Status, &exit, &st.LogStart, &end, &created, &started, &finished); err != nil {
			return nil, fmt.Errorf("list steps: %w", err)
		}
		if exit.Valid {
			c := int(exit.Int64)
			st.ExitCode = &c
		}
		if end.Valid {
			st.LogEnd = &end.Int64
		}
		st.CreatedAt, st.StartedAt, st.FinishedAt = fromMicros(created), fromNullMicros(started), fromNullMicros(finished)
		st.Finish()
		byID[st.AttemptID].Steps = append(byID[st.AttemptID].Steps, &st)
	}
	return out, srows.Err()
}

// Attempt returns one attempt with its steps.
func (s *Store) Attempt(ctx context.Context, id int64) (*lathe.Attempt, error) {
	as, err := s.attempts(ctx, `a.id = ?`, id)
	if err != nil {
		return nil, err
	}
	if len(as) == 0 {
		return nil, fmt.Errorf("attempt %d: %w", id, lathe.ErrNotFound)
	}
	return as[0], nil
}

// Claim gives the first queued job in the queue's order (see queue.go)
// whose labels the agent has to the agent, as a new running attempt. It
// returns nil when there is no such job. Two agents never get the same job:
// the claim locks the job's run (as every writer of a run does, before its
// jobs and attempts) and starts the job only if it is still queued under
// that lock.
func (s *Store) Claim(ctx context.Context, agentID int64, labels []string) (*lathe.Assignment, error) {
	return s.ClaimWithID(ctx, agentID, labels, "")
}

// ClaimWithID is Claim made idempotent by the agent's claimID (see
// lathe.ClaimIDHeader): when the agent already holds a running attempt
// created by a claim with that ID, it gets that attempt's assignment again
// (its lease renewed) instead of another job. An empty claimID claims anew.
func (s *Store) ClaimWithID(ctx context.Context, agentID int64, labels []string, claimID string) (*lathe.Assignment, error) {
	as, _, err := s.ClaimOrContend(ctx, agentID, labels, claimID, false)
	return as, err
}

// ClaimOrContend is ClaimWithID that also says when it found no job only
// because every try lost to another claimer (contended): jobs may remain,
// and no wake-up may come for them, so the caller asks again at once
// rather than waiting (otherwise, on PostgreSQL, the claimers that lose
// several races in a row sleep while the others take the whole queue).
// fresh says no attempt can carry claimID yet (the agent never sent it
// before, or the caller looked already): the claim does not look for one.
// A concurrent request with the same ID that won a job is still found (the
// attempts_claim index refuses a second attempt for the ID).
func (s *Store) ClaimOrContend(ctx context.Context, agentID int64, labels []string, claimID string, fresh bool) (as *lathe.Assignment, contended bool, err error) {
	// Each try holds one run's lock at most, so claimers never wait for each
	// other in a cycle; a try that finds its job taken gives way to a fresh one.
	// The idle-claim cache's mark is taken before the queue is read, so a
	// job queued after the read began keeps the cache from trusting it.
	w := s.idleWatch(labels)
	for range maxClaimTries {
		as, taken, none, err := s.claimTry(ctx, agentID, labels, claimID, fresh)
		fresh = true // this try looked
		if err == nil && none {
			s.idle.settle(w)
		}
		if err != nil || !taken {
			return as, false, err
		}
	}
	return nil, true, nil
}

// claimTry is claimOnce, one at a time per server and set of labels on
// PostgreSQL. Claimers
// that arrive together all read the same first job of the queue, and all
// but one find it taken once they hold its run's lock: each such try costs
// as many round trips as a claim that wins (measured: 2.6 tries per job
// with 8 agents on one server). Taking turns in the process, each claim
// reads the queue after the previous one committed. Replicas still race
// each other, which the run's lock settles as before. SQLite's one writer
// already takes claims one at a time.
//
// Claimers woken together by one queued job wait here in turn; once one
// of them found nothing left (the idle-claim cache says so), the rest
// answer nothing without a transaction, as if they had arrived after it.
func (s *Store) claimTry(ctx context.Context, agentID int64, labels []string, claimID string, fresh bool) (as *lathe.Assignment, taken, none bool, err error) {
	if s.d.lockRun != "" {
		turn := s.claiming.of(labels)
		turn.Lock()
		defer turn.Unlock()
		if (fresh || claimID == "") && s.NothingClaimable(labels) {
			return nil, false, false, nil
		}
	}
	return s.claimOnce(ctx, agentID, labels, claimID, fresh)
}

// maxClaimTries bounds the tries of one Claim; every lost try means another
// claimer won a job, so the bound is only reached under heavy contention.
const maxClaimTries = 10

// claimPage is how many queued jobs one query of the queue reads, but
// for a claim's first query, which reads claimFirstPage: the first job
// in the queue is most often one the claimer can take, and PostgreSQL
// sends a query's whole page even when the claim stops at its first row
// (a page of 200 was most of a claim's rows and their decoding).
const (
	claimPage      = 200
	claimFirstPage = 8
)

// claimOnce is one try of ClaimOrContend. none says the queue held no job
// an agent with labels could take (none passed over but for a full
// concurrency group, whose release wakes the claimers).
func (s *Store) claimOnce(ctx context.Context, agentID int64, labels []string, claimID string, fresh bool) (as *lathe.Assignment, taken, none bool, err error) {
	var waits []semaphoreWaiter
	err = s.tx(ctx, func(t *txn) error {
		if claimID != "" && !fresh {
			// A retried claim whose first answer was lost gets its attempt again.
			var err error
			if as, err = t.reclaim(ctx, agentID, claimID); err != nil || as != nil {
				return err
			}
		}
		next, err := t.nextClaimable(ctx, labels)
		waits = next.waits
		jobID, runID := next.jobID, next.runID
		if err != nil || jobID == 0 {
			none = err == nil
			return err
		}
		if ok, err := t.agentMayClaimRun(ctx, agentID, runID); err != nil || !ok {
			return err
		}
		if next.group != "" {
			full, err := t.acquire(ctx, jobID, runID, next.group)
			if err != nil {
				return err
			}
			if full != "" {
				taken = true // another claimer took the group's last slot meanwhile
				return nil
			}
		}
		as, err = t.start(ctx, jobID, runID, agentID, claimID)
		if sameClaim(err) {
			// The same claim ID won a job in a concurrent request: give way,
			// and the next try hands out that attempt.
			as, taken = nil, true
			return errRetryClaim
		}
		if err == errTakenMeanwhile {
			// The try wrote nothing; rolling back lets go of the locks it
			// took (the group's semaphore row), and the next try reads on.
			as, taken = nil, true
		}
		return err
	})
	if err == errTakenMeanwhile {
		return nil, true, false, nil
	}
	if err == errRetryClaim {
		if as, err = s.reclaim(ctx, agentID, claimID); as != nil || err != nil {
			return as, false, false, err
		}
		return nil, true, false, nil
	}
	if err == nil && as == nil && !taken && len(waits) > 0 {
		// Nothing to run: say on the jobs passed over why they wait.
		err = s.noteSemaphoreWaits(ctx, waits)
	}
	return as, taken, none && err == nil, err
}

var (
	errRetryClaim     = fmt.Errorf("claim: retry")
	errTakenMeanwhile = fmt.Errorf("claim: job taken meanwhile")
)

// agentMayClaim re-reads, under a shared lock, whether the agent is
// authorized, enabled and not deleted. The API checked before it called
// Claim; checking again here closes the window in which an admin disables
// the agent between that check and the claim: the disable either commits
// first (and this claim takes nothing) or waits for the claim to commit.
func (t *txn) agentMayClaim(ctx context.Context, agentID int64) (bool, error) {
	var authorized, disabled int
	var deleted sql.NullInt64
	err := t.queryRow(ctx, `SELECT authorized, disabled, deleted_at FROM agents WHERE id = ?`+t.d.lockShared, agentID).
		Scan(&authorized, &disabled, &deleted)
	if err == sql.ErrNoRows {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("claim: agent %d: %w", agentID, err)
	}
	return authorized != 0 && disabled == 0 && !deleted.Valid, nil
}

// agentMayClaimRun is agentMayClaim that also takes the run's lock (see
// lockRun) where writers of a run take one, in the same statement, the
// agent's row locked first as agentMayClaim alone would. Under the run's
// lock the job is started only if still queued (start's update checks it):
// another claimer, or a cancel, may have changed it while this one waited
// for the lock.
func (t *txn) agentMayClaimRun(ctx context.Context, agentID, runID int64) (bool, error) {
	if t.serialized() {
		return t.agentMayClaim(ctx, agentID)
	}
	var authorized, disabled int
	var deleted sql.NullInt64
	var h runHead
	err := t.queryRow(ctx, `SELECT a.authorized, a.disabled, a.deleted_at, `+runHeadCols+`
		FROM agents a, runs WHERE a.id = ? AND runs.id = ? FOR SHARE OF a FOR UPDATE OF runs`, agentID, runID).
		Scan(append([]any{&authorized, &disabled, &deleted}, h.dest()...)...)
	if err == sql.ErrNoRows {
		// The agent or the run is gone: the two alone say which.
		if ok, err := t.agentMayClaim(ctx, agentID); err != nil || !ok {
			return false, err
		}
		return true, t.lockRun(ctx, runID)
	}
	if err != nil {
		return false, fmt.Errorf("claim: agent %d, run %d: %w", agentID, runID, err)
	}
	t.keepRunHead(runID, h)
	return authorized != 0 && disabled == 0 && !deleted.Valid, nil
}

// reclaim returns the assignment of the running attempt the agent claimed
// with claimID, renewing its lease, or nil when there is none.
func (s *Store) reclaim(ctx context.Context, agentID int64, claimID string) (as *lathe.Assignment, err error) {
	err = s.tx(ctx, func(t *txn) error {
		as, err = t.reclaim(ctx, agentID, claimID)
		return err
	})
	return as, err
}

// reclaim is the attempt the agent's claim claimID created, while it runs,
// with its lease renewed; nil when there is none.
func (t *txn) reclaim(ctx context.Context, agentID int64, claimID string) (*lathe.Assignment, error) {
	var attemptID, jobID int64
	err := t.queryRow(ctx, `SELECT id, job_id FROM attempts WHERE agent_id = ? AND claim_id = ? AND status = ?`,
		agentID, claimID, lathe.StatusRunning).Scan(&attemptID, &jobID)
	if err == sql.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("claim %q: %w", claimID, err)
	}
	if _, err := t.exec(ctx, `UPDATE attempts SET lease_expires_at = ? WHERE id = ? AND status = ?`,
		micros(t.now.Add(t.leaseTTL)), attemptID, lathe.StatusRunning); err != nil {
		return nil, err
	}
	as, err := t.assignment(ctx, jobID)
	if err != nil {
		return nil, err
	}
	as.AttemptID = attemptID
	return as, nil
}

// claimQueue reads a page of the queue, in its order, after a job.
const claimQueue = `SELECT id, run_id, runs_on, concurrency_group, wait_reason,
		CASE WHEN concurrency_group <> '' THEN (SELECT r.project_id FROM runs r WHERE r.id = jobs.run_id) ELSE 0 END,
		queue_position
	FROM jobs WHERE status = 'queued' AND (queue_position, id) > (?, ?) ORDER BY queue_position, id LIMIT ?`

// claimable is what nextClaimable found: the job to claim (jobID 0 when
// none) with its run and concurrency group, and the queued jobs it passed
// over because their group was full whose wait reason should say so.
type claimable struct {
	jobID, runID int64
	group        string
	waits        []semaphoreWaiter
}

// maxWaitNotes bounds the passed-over jobs one claim gives a wait reason.
const maxWaitNotes = 20

// nextClaimable returns the first queued job in the queue's order whose runs_on the labels
// satisfy and whose concurrency group (if any) has a free slot, and its run.
// It reads the whole queue, a page at a time, so jobs no agent can run never
// hide one that this agent can. The group check here reads without locks;
// the claim checks again under the semaphore's lock (see acquire).
func (t *txn) nextClaimable(ctx context.Context, labels []string) (claimable, error) {
	var c claimable
	gate := newSemaphoreGate(t)
	// The queue is read in its order, by queue position then ID, a page
	// at a time after the last job read (afterPos, after). The status is
	// written out, not bound: the partial index jobs_queue serves only a
	// query whose condition is its own.
	for afterPos, after, page := int64(math.MinInt64), int64(0), claimFirstPage; ; page = claimPage {
		// The project is read only for jobs in a group (it scopes the group).
		rows, err := t.query(ctx, claimQueue, afterPos, after, page)
		if err != nil {
			return c, fmt.Errorf("claim: %w", err)
		}
		n := 0
		// ask is a job whose group's state must be read first: PostgreSQL
		// runs one statement at a time on the transaction's connection, so
		// the page is closed, the group read, and the queue read on after it.
		var ask *semaphoreWaiter
		var group string
		for c.jobID == 0 && ask == nil && rows.Next() {
			n++
			var id, run, project int64
			var runsOn, g, had string
			var want []string
			if err := rows.Scan(&id, &run, &runsOn, &g, &had, &project, &afterPos); err != nil {
				rows.Close()
				return c, fmt.Errorf("claim: %w", err)
			}
			after = id
			if fromJSON(runsOn, &want) != nil || !engine.Eligible(labels, want) {
				continue
			}
			if g != "" {
				gate.projects[run] = project
			}
			wait, known := gate.cached(run, g)
			switch {
			case !known:
				ask, group = &semaphoreWaiter{jobID: id, runID: run, reason: had}, g
			case wait == "":
				c.jobID, c.runID, c.group = id, run, g
			default:
				c.note(id, run, had, wait)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return c, fmt.Errorf("claim: %w", err)
		}
		if c.jobID != 0 {
			return c, nil
		}
		if ask != nil {
			wait, err := gate.wait(ctx, ask.runID, group)
			if err != nil {
				return c, err
			}
			if wait == "" {
				c.jobID, c.runID, c.group = ask.jobID, ask.runID, group
				return c, nil
			}
			c.note(ask.jobID, ask.runID, ask.reason, wait)
			continue // read on after the job just passed over
		}
		if n < page {
			return c, nil
		}
	}
}

// note remembers a job passed over for its full group, unless its wait
// reason (had) already says why.
func (c *claimable) note(jobID, runID int64, had, wait string) {
	if wait != had && len(c.waits) < maxWaitNotes {
		c.waits = append(c.waits, semaphoreWaiter{jobID: jobID, runID: runID, reason: wait})
	}
}

// start turns a queued job, whose run is locked, into a running attempt on the agent.
func (t *txn) start(ctx context.Context, jobID, runID, agentID int64, claimID string) (*lathe.Assignment, error) {
	now := micros(t.now)
	var cid any
	if claimID != "" {
		cid = claimID
	}
	// On PostgreSQL the job's update, the attempt's insert and the read of
	// what the run's advance decides by go with the assignment's read, in
	// this order: one round trip for the four. The attempt is numbered
	// after the job's updated count.
	err := t.setStatusLater(ctx, engine.Job, jobID, lathe.StatusQueued, lathe.StatusRunning,
		`, attempt = attempt + 1, started_at = COALESCE(started_at, ?), wait_reason = ''`, now)
	var attemptID int64
	if err == nil {
		err = t.readLater(ctx, func(r row) error { return r.Scan(&attemptID) },
			`INSERT INTO attempts (job_id, number, agent_id, status, lease_expires_at, created_at, started_at, claim_id)
			SELECT id, attempt, ?, ?, ?, ?, ?, ? FROM jobs WHERE id = ? RETURNING id`,
			agentID, lathe.StatusRunning, micros(t.now.Add(t.leaseTTL)), now, now, cid, jobID)
	}
	if err == nil {
		err = t.prefetchRunPath(ctx, runID, jobID)
	}
	var as *lathe.Assignment
	if err == nil {
		as, err = t.assignment(ctx, jobID)
	}
	if stale(err) {
		// Taken by another claimer, or canceled, since the queue was read.
		return nil, errTakenMeanwhile
	}
	if sameClaim(err) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("start job %d: %w", jobID, err)
	}
	as.AttemptID = attemptID
	if err := t.advanceRunAfter(ctx, runID, jobID); err != nil {
		return nil, err
	}
	t.afterCommit = append(t.afterCommit, func(s *Store) {
		if s.attemptObs.Started != nil {
			s.attemptObs.Started()
		}
	})
	return as, nil
}

// assignment loads what an agent needs to run the job's current attempt
// (all but the attempt's ID).
func (t *txn) assignment(ctx context.Context, jobID int64) (*lathe.Assignment, error) {
	var as lathe.Assignment
	var env, steps, secrets, reports, container string
	err := t.queryRow(ctx, `SELECT j.id, j.attempt, j.run_id, p.name, p.url, p.url_credentials, r.pipeline, COALESCE(r.branch_number, r.number), s.name, j.name,
			r.commit_sha, r.ref, r.branch, r.event, j.env, j.steps, j.timeout_sec, j.secrets, r.untrusted,
			r.pipeline_from_api, j.reports, j.environment, j.container, p.id
		FROM jobs j JOIN runs r ON r.id = j.run_id JOIN projects p ON p.id = r.project_id JOIN stages s ON s.id = j.stage_id
		WHERE j.id = ?`, jobID).Scan(&as.JobID, &as.Attempt, &as.RunID, &as.Project, &as.RepoURL, &as.RepoCredentials, &as.Pipeline, &as.RunNumber,
		&as.Stage, &as.Job, &as.Commit, &as.Ref, &as.Branch, &as.Event, &env, &steps, &as.TimeoutSec, &secrets, &as.Untrusted,
		&as.FromAPI, &reports, &as.Environment, &container, &as.ProjectID)
	if err != nil {
		return nil, fmt.Errorf("load job %d: %w", jobID, err)
	}
	if reports != "" {
		if err := fromJSON(reports, &as.Reports); err != nil {
			return nil, fmt.Errorf("job %d reports: %w", jobID, err)
		}
	}
	if err := fromJSON(env, &as.Env); err != nil {
		return nil, err
	}
	if err := fromJSON(steps, &as.Steps); err != nil {
		return nil, err
	}
	// The names only: the API resolves them into values for the agent.
	if err := fromJSON(secrets, &as.SecretRefs); err != nil {
		return nil, err
	}
	if as.Container, err = decodeContainer(container); err != nil {
		return nil, fmt.Errorf("job %d: %w", jobID, err)
	}
	return &as, nil
}

// sameClaim reports whether err is the attempts_claim index refusing a second
// attempt for one claim ID of one agent.
func sameClaim(err error) bool {
	return err != nil && (uniqueViolation(err) || strings.Contains(err.Error(), "UNIQUE constraint failed: attempts.agent_id"))
}
