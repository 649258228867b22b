package store

import (
	"context"
	"database/sql"
	"fmt"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/engine"
)

// advanceRun applies the engine's rules to a run after any change to its
// jobs: it queues jobs whose dependencies succeeded, skips those whose
// dependencies did not, cancels what a cancel request left unstarted, and
// rolls the statuses and timings up into the stages and the run. The run row
// is locked first, so two jobs of one run finishing at once on PostgreSQL
// cannot both miss the dependent they jointly release. Once the transaction
// commits, the run's watchers are woken, and claimers too if a job was queued
// (see setStatus).
//
// It reads the run's jobs only when one of them may move (a pending job, or
// an unstarted one of a run being canceled); the roll-up reads the jobs'
// statuses counted per stage. So a job finishing in a run of a thousand
// costs a few aggregate queries, not a thousand rows.
func (t *txn) advanceRun(ctx context.Context, runID int64) error {
	return t.advanceRunAfter(ctx, runID, 0)
}

// advanceRunAfter is advanceRun after the one change of job jobID's status
// (0: after any change). When that change cannot move the roll-up — a job
// started, or ended while its stage has more to run — it leaves the stages
// and the run as they are (see rollupUnchanged), saving the roll-up's
// aggregate on nearly every claim and finish of a large run.
func (t *txn) advanceRunAfter(ctx context.Context, runID, jobID int64) error {
	// What decides the path: the run's head, the jobs that may move, the
	// external stages not finished (which the engine may skip or cancel),
	// and, when the roll-up may be skipped, the changed job and its stage.
	// It is read under the run's lock, so it sees every writer of the run
	// that committed before.
	var p runPath
	var err error
	if f := t.prefetched; f != nil && f.read && f.runID == runID && f.jobID == jobID {
		// Read ahead with the change itself (see prefetchRunPath).
		t.prefetched = nil
		delete(t.heads, runID)
		p = f.path
	} else if h, ok := t.heads[runID]; ok || !t.serialized() {
		if !ok {
			h, err = t.readRunHead(ctx, runID)
		}
		delete(t.heads, runID)
		p.head = h
		if err == nil {
			err = t.readRunCounts(ctx, runID, jobID, &p)
		}
	} else {
		// SQLite runs one writer at a time: the head and the counts are
		// read in one statement, with no lock to take first.
		err = t.readRunPath(ctx, runID, jobID, &p)
	}
	if err != nil {
		return err
	}
	head := p.head
	cancel, runStatus, runStarted := head.cancel, head.status, head.started
	t.noteOutbound(runID, head.outbound)
	// Whoever changed the run, its watchers look again once this commits.
	t.afterCommit = append(t.afterCommit, func(s *Store) { s.runChanged(runID) })

	if p.movable() > 0 || p.external > 0 {
		if err := t.advanceJobs(ctx, runID, cancel != 0); err != nil {
			return err
		}
	} else if p.shortcut(jobID) && rollupUnchanged(p.changed, runStarted.Int64) {
		return nil
	}
	return t.rollupRun(ctx, runID, runStatus, runStarted)
}

// runPath is what advanceRunAfter decides its path by.
type runPath struct {
	head runHead
	// pending counts the run's pending jobs, stopping its pending, queued
	// and waiting ones (those a cancel ends); external its external stages
	// not finished.
	pending, stopping, external int
	// changed is the changed job and its stage, read when shortcut may hold.
	changed changedJob
}

// movable counts the jobs the engine may move: pending ones, and queued
// or waiting ones too while the run is being canceled.
func (p *runPath) movable() int {
	if p.head.cancel != 0 {
		return p.stopping
	}
	return p.pending
}

// shortcut says whether the roll-up may be skipped after job jobID's
// change (see rollupUnchanged): one job changed in a running, uncanceled run.
func (p *runPath) shortcut(jobID int64) bool {
	return jobID != 0 && p.head.cancel == 0 && p.head.status == lathe.StatusRunning && p.head.started.Valid
}

// runCountCols reads runPath's counts of the run ? (twice) and its jobs.
var runCountCols = `(SELECT count(*) FROM jobs WHERE run_id = ? AND status IN ` + movableJobs + `),
	(SELECT count(*) FROM jobs WHERE run_id = ? AND status IN ` + movableJobsCanceled + `),
	(SELECT count(*) FROM stages WHERE run_id = ? AND external = 1 AND status IN ` + unfinishedStages + `)`

func (p *runPath) countDest() []any { return []any{&p.pending, &p.stopping, &p.external} }

// readRunCounts reads p's counts, and the changed job when the head allows
// the shortcut.
func (t *txn) readRunCounts(ctx context.Context, runID, jobID int64, p *runPath) error {
	q, args, dest := p.countsRead(runID, jobID)
	if err := t.queryRow(ctx, q, args...).Scan(dest...); err != nil {
		return fmt.Errorf("jobs of run %d: %w", runID, err)
	}
	return nil
}

// countsRead is the statement readRunCounts reads p's counts with, its
// arguments, and where it scans them.
func (p *runPath) countsRead(runID, jobID int64) (q string, args, dest []any) {
	if p.shortcut(jobID) {
		return `SELECT ` + runCountCols + `, ` + changedJobCols + ` FROM jobs j JOIN stages s ON s.id = j.stage_id
			WHERE j.id = ? AND j.run_id = ?`, []any{runID, runID, runID, jobID, runID},
			append(p.countDest(), p.changed.dest()...)
	}
	return `SELECT ` + runCountCols, []any{runID, runID, runID}, p.countDest()
}

// prefetchedPath is a run's path read ahead after job jobID's change;
// read says its answer came.
type prefetchedPath struct {
	runID, jobID int64
	path         runPath
	read         bool
}

// prefetchRunPath queues the read of the run's path after job jobID's
// change to go with the transaction's next statement (see readLater), so
// that the advanceRunAfter(runID, jobID) that follows it needs no round
// trip of its own. It reads ahead only the run whose head its lock kept
// (see lockRun); elsewhere it does nothing and advanceRunAfter reads.
func (t *txn) prefetchRunPath(ctx context.Context, runID, jobID int64) error {
	h, ok := t.heads[runID]
	if !ok || t.serialized() {
		return nil
	}
	f := &prefetchedPath{runID: runID, jobID: jobID, path: runPath{head: h}}
	t.prefetched = f
	q, args, dest := f.path.countsRead(runID, jobID)
	return t.readLater(ctx, func(r row) error {
		if err := r.Scan(dest...); err != nil {
			return fmt.Errorf("jobs of run %d: %w", runID, err)
		}
		f.read = true
		return nil
	}, q, args...)
}

// readRunPath reads all of p in one statement, the changed job whenever
// there is one. It takes no lock: only for a database with one writer.
func (t *txn) readRunPath(ctx context.Context, runID, jobID int64, p *runPath) error {
	var err error
	if jobID != 0 {
		err = t.queryRow(ctx, `SELECT `+runHeadCols+`, `+runCountCols+`, `+changedJobCols+`
			FROM runs JOIN jobs j ON j.id = ? AND j.run_id = runs.id JOIN stages s ON s.id = j.stage_id
			WHERE runs.id = ?`, runID, runID, runID, jobID, runID).
			Scan(append(append(p.head.dest(), p.countDest()...), p.changed.dest()...)...)
	} else {
		err = t.queryRow(ctx, `SELECT `+runHeadCols+`, `+runCountCols+` FROM runs WHERE runs.id = ?`, runID, runID, runID, runID).
			Scan(append(p.head.dest(), p.countDest()...)...)
	}
	return notFoundOrNil(err, "run", runID)
}

// The statuses advanceRunAfter counts by, written out: modernc.org/sqlite
// prepares a statement again at every run when a status is bound as a
// parameter here (measured: 122 µs a run bound, 46 µs written out, on a
// run of 100 jobs), and they never vary.
var (
	movableJobs         = sqlStatuses(lathe.StatusPending)
	movableJobsCanceled = sqlStatuses(lathe.StatusPending, lathe.StatusQueued, lathe.StatusWaiting)
	unfinishedStages    = sqlStatuses(lathe.StatusPending, lathe.StatusRunning)
)

// advanceJobs reads every job of the run, asks the engine what follows, and
// applies it.
func (t *txn) advanceJobs(ctx context.Context, runID int64, canceled bool) error {
	nodes, err := t.runNodes(ctx, runID)
	if err != nil {
		return err
	}
	if nodes, err = t.externalNodes(ctx, runID, nodes); err != nil {
		return err
	}
	now := micros(t.now)
	changes := engine.Advance(nodes, canceled)
	// The jobs that enter the queue do so a few dozen per statement (a run
	// queues most of its jobs at once), by the status they leave.
	var froms []lathe.Status
	var queue map[lathe.Status][]int64
	for _, n := range nodes {
		to, ok := changes[n.ID]
		if !ok {
			continue
		}
		switch {
		case n.External:
			err = t.setExternalStatus(ctx, n, to)
		case to == lathe.StatusQueued:
			if queue == nil {
				queue = map[lathe.Status][]int64{}
			}
			if queue[n.Status] == nil {
				froms = append(froms, n.Status)
			}
			queue[n.Status] = append(queue[n.Status], n.ID)
		case to.Terminal():
			err = t.setStatus(ctx, engine.Job, n.ID, n.Status, to, `, finished_at = ?`, now)
		default:
			err = t.setStatus(ctx, engine.Job, n.ID, n.Status, to, ``)
		}
		if err != nil {
			return err
		}
	}
	for _, from := range froms {
		if err := t.setStatuses(ctx, engine.Job, queue[from], from, lathe.StatusQueued, ``, nil, `, queued_at = ?`, now); err != nil {
			return err
		}
	}
	return nil
}

// rollupRun rolls the run's jobs up into its stages and the run itself: the
// statuses through engine.Rollup (a failure a job is allowed counts as a
// success), the timings as the earliest start and the latest finish.
func (t *txn) rollupRun(ctx context.Context, runID int64, runStatus lathe.Status, runStarted sql.NullInt64) error {
	stages := map[int64]stageRow{}
	srows, err := t.query(ctx, `SELECT id, status, started_at, finished_at FROM stages WHERE run_id = ?`, runID)
	if err != nil {
		return fmt.Errorf("load stages of run %d: %w", runID, err)
	}
	for srows.Next() {
		var id int64
		var sr stageRow
		if err := srows.Scan(&id, &sr.status, &sr.started, &sr.finished); err != nil {
			srows.Close()
			return err
		}
		stages[id] = sr
	}
	srows.Close()
	if err := srows.Err(); err != nil {
		return err
	}
	// The jobs' statuses, counted per stage: the roll-up needs no more.
	rows, err := t.query(ctx, `SELECT stage_id, status, allow_failure, count(*), MIN(started_at), MAX(finished_at)
		FROM jobs WHERE run_id = ? GROUP BY stage_id, status, allow_failure`, runID)
	if err != nil {
		return fmt.Errorf("roll up run %d: %w", runID, err)
	}
	statuses := map[int64][]lathe.Status{}
	next := map[int64]stageRow{}
	for rows.Next() {
		var stageID int64
		var status lathe.Status
		var allowFailure, count int
		var started, finished sql.NullInt64
		if err := rows.Scan(&stageID, &status, &allowFailure, &count, &started, &finished); err != nil {
			rows.Close()
			return err
		}
		outcome := engine.Node{Status: status, AllowFailure: allowFailure != 0}.Outcome()
		for range count {
			statuses[stageID] = append(statuses[stageID], outcome)
		}
		sr := next[stageID]
		sr.started, sr.finished = minNull(sr.started, started), maxNull(sr.finished, finished)
		next[stageID] = sr
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	now := micros(t.now)
	var all []lathe.Status
	var runFirst sql.NullInt64
	for stageID, st := range statuses {
		sr := next[stageID]
		all = append(all, st...)
		runFirst = minNull(runFirst, sr.started)
		sr.status = engine.Rollup(st)
		if !sr.status.Terminal() {
			sr.finished = sql.NullInt64{}
		}
		if err := t.rollup(ctx, engine.Stage, stageID, stages[stageID], sr, `, updated_at = ?`, now); err != nil {
			return err
		}
	}
	external, externalFirst, err := t.externalRollup(ctx, runID)
	if err != nil {
		return err
	}
	all, runFirst = append(all, external...), minNull(runFirst, externalFirst)
	rs := engine.Rollup(all)
	run := stageRow{status: runStatus, started: runStarted}
	nextRun := stageRow{status: rs, started: runFirst}
	if rs.Terminal() {
		nextRun.finished = sql.NullInt64{Int64: now, Valid: true}
		// Stages with no jobs are done as soon as the run is.
		for id, st := range stages {
			if _, ok := statuses[id]; !ok && !st.status.Terminal() {
				if err := t.setStatus(ctx, engine.Stage, id, st.status, lathe.StatusSkipped, `, finished_at = ?, updated_at = ?`, now, now); err != nil {
					return err
				}
			}
		}
	}
	if rs != runStatus || runStarted != runFirst {
		return t.rollup(ctx, engine.Run, runID, run, nextRun, ``)
	}
	return nil
}

// stageRow is a stage's or run's status and timings.
type stageRow struct {
	status            lathe.Status
	started, finished sql.NullInt64
}

// rollup writes a stage's or run's new status and timings (with the extra
// assignments set): through setStatus when the status changes, as a plain
// update of the timings when only they do.
func (t *txn) rollup(ctx context.Context, e engine.Entity, id int64, had, next stageRow, set string, args ...any) error {
	if next == had {
		return nil
	}
	if e == engine.Run {
		t.forgetRunHead(id)
	}
	args = append([]any{next.started, next.finished}, args...)
	if next.status != had.status {
		return t.setStatus(ctx, e, id, had.status, next.status, `, started_at = ?, finished_at = ?`+set, args...)
	}
	_, err := t.exec(ctx, `UPDATE `+statusTables[e]+` SET started_at = ?, finished_at = ?`+set+` WHERE id = ?`, append(args, id)...)
	return err
}

// serialized reports whether the database runs one write transaction at
// a time (SQLite): nothing another writer does can commit between two
// statements of this one, so what it read earlier still holds and taking
// a run's lock to read it again is not needed.
func (t *txn) serialized() bool { return t.d.lockRun == "" }

// lockRun takes the run's row lock. Every writer of a run takes it before
// touching the run's jobs or attempts, so writers of one run queue up in one
// order and never deadlock (SQLite writers are serialised anyway).
//
// It reads what advanceRun needs of the run in the same statement and
// keeps it for the run's next advance in this transaction (see
// advanceRunAfter): a claim or a finish then locks and reads the run in one
// round trip instead of two.
func (t *txn) lockRun(ctx context.Context, runID int64) error {
	h, err := t.readRunHead(ctx, runID)
	if err != nil {
		return err
	}
	t.keepRunHead(runID, h)
	return nil
}

// lockRunOfAttempt is lockRun of the run the attempt belongs to, found in
// the same statement, sent with the transaction's next statement (see
// readLater): that statement runs once the lock is held, and fails when
// there is no such attempt.
func (t *txn) lockRunOfAttempt(ctx context.Context, attemptID int64) error {
	return t.readLater(ctx, func(r row) error {
		var runID int64
		var h runHead
		if err := r.Scan(append([]any{&runID}, h.dest()...)...); err != nil {
			return notFound(err, "attempt", attemptID)
		}
		t.keepRunHead(runID, h)
		return nil
	}, `SELECT id, `+runHeadCols+` FROM runs
		WHERE id = (SELECT j.run_id FROM attempts a JOIN jobs j ON j.id = a.job_id WHERE a.id = ?)`+t.d.lockRun, attemptID)
}

func (t *txn) keepRunHead(runID int64, h runHead) {
	if t.heads == nil {
		t.heads = map[int64]runHead{}
	}
	t.heads[runID] = h
}

// runHead is what advanceRun decides by of the run itself.
type runHead struct {
	cancel   int
	status   lathe.Status
	started  sql.NullInt64
	outbound int
}

// runHeadCols reads a runHead from runs (see dest).
const runHeadCols = `runs.cancel_requested, runs.status, runs.started_at, (SELECT outbound FROM projects WHERE id = runs.project_id)`

func (h *runHead) dest() []any { return []any{&h.cancel, &h.status, &h.started, &h.outbound} }

// readRunHead locks the run's row and reads its head. Under the lock (on
// PostgreSQL, FOR UPDATE reads the row's latest committed version) it is
// what every writer of the run that committed before left.
func (t *txn) readRunHead(ctx context.Context, runID int64) (runHead, error) {
	var h runHead
	err := t.queryRow(ctx, `SELECT `+runHeadCols+` FROM runs WHERE id = ?`+t.d.lockRun, runID).Scan(h.dest()...)
	if err != nil {
		return h, notFound(err, "run", runID)
	}
	return h, nil
}

// forgetRunHead drops the head lockRun kept once the transaction writes
// the run's status, timings or cancel request.
func (t *txn) forgetRunHead(runID int64) {
	delete(t.heads, runID)
	if t.prefetched != nil && t.prefetched.runID == runID {
		t.prefetched = nil
	}
}

func minNull(a, b sql.NullInt64) sql.NullInt64 {
	if !a.Valid || b.Valid && b.Int64 < a.Int64 {
		return b
	}
	return a
}

func maxNull(a, b sql.NullInt64) sql.NullInt64 {
	if !a.Valid || b.Valid && b.Int64 > a.Int64 {
		return b
	}
	return a
}
