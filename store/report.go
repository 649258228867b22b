package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/engine"
)

// Report applies an agent's report on one of its attempts: log bytes placed
// by offset, step states, the lease renewal, and the final result. Only the
// agent holding the attempt may report on it (ErrForbidden otherwise), and
// only while the attempt is running (ErrFenced otherwise, with Cancel set in
// the reply so the agent stops). A finish with status lost hands the attempt
// back: its agent is stopping, and the job runs again as a new attempt
// without using up a retry (unless a cancel was asked for: then it ends canceled).
func (s *Store) Report(ctx context.Context, agentID, attemptID int64, rep *lathe.Report) (lathe.ReportReply, error) {
	// On PostgreSQL a report presumes that the attempt runs and its log is
	// as read (see report), which saves a round trip; on SQLite there is
	// none to save.
	presume := s.d.name == "postgres"
	var prefix *logPrefix
	if rep.Finish != nil && rep.Finish.SHA256 != "" && rep.LogOffset >= prefixReadFrom {
		prefix = s.readLogPrefix(ctx, attemptID, rep.LogOffset)
	}
	var r reported
	err := s.tx(ctx, func(t *txn) error { return t.report(ctx, agentID, attemptID, rep, presume, prefix, &r) })
	if presume && stale(err) {
		err = s.tx(ctx, func(t *txn) error { return t.report(ctx, agentID, attemptID, rep, false, prefix, &r) })
	}
	// A step's state changes the window of a log followed by step.
	if r.grew || r.finished || err == nil && len(rep.Steps) > 0 {
		s.attemptChanged(attemptID)
	}
	return r.reply, err
}

// prefixReadFrom is the log size from which a finishing report's earlier
// log is hashed before its transaction (readLogPrefix) rather than in it:
// below it the one more query costs more than reading the chunks again.
const prefixReadFrom = 256 << 10

// reported is what one try of a report found and did: the reply, the
// attempt's run, whether the log grew and whether the attempt finished.
type reported struct {
	reply          lathe.ReportReply
	runID          int64
	grew, finished bool
}

// report is Report's transaction. presume says the attempt's lease and log
// size are updated presuming it still runs with the log size just read
// (see writeAffecting): when it does not, the transaction fails with
// errStale. prefix, when not nil, is the hash of the log stored before
// the report, read before the transaction.
func (t *txn) report(ctx context.Context, agentID, attemptID int64, rep *lathe.Report, presume bool, prefix *logPrefix, r *reported) error {
	*r = reported{}
	var jobID, owner int64
	var status lathe.Status
	// A finish reads with the attempt what ending it decides by.
	var facts endFacts
	load := func() error {
		q := `SELECT a.job_id, a.agent_id, a.status, a.log_size, j.run_id, a.cancel_requested
		FROM attempts a JOIN jobs j ON j.id = a.job_id WHERE a.id = ?`
		dest := []any{&jobID, &owner, &status, &r.reply.LogSize, &r.runID, &facts.cancel}
		if rep.Finish != nil {
			q = `SELECT a.job_id, a.agent_id, a.status, a.log_size, j.run_id, ` + endFactsCols + `
		FROM attempts a JOIN jobs j ON j.id = a.job_id JOIN runs r ON r.id = j.run_id WHERE a.id = ?`
			dest = append(dest[:5], facts.dest()...)
		}
		if err := t.queryRow(ctx, q, attemptID).Scan(dest...); err != nil {
			return notFound(err, "attempt", attemptID)
		}
		return nil
	}
	if rep.Finish != nil && !t.serialized() {
		// A finish changes the job and advances the run: it locks the run
		// before writing the attempt, in the order of every writer of a run,
		// and reads the attempt under that lock (a cancel or another
		// finish may have committed meanwhile).
		if err := t.lockRunOfAttempt(ctx, attemptID); err != nil {
			return err
		}
	}
	if err := load(); err != nil {
		return err
	}
	if owner != agentID {
		return forbiddenAttempt(attemptID)
	}
	if status.Terminal() {
		r.reply.Cancel, r.reply.Finished = true, true
		// A resent finish whose first answer was lost learns the hold again.
		var err error
		if r.reply.HoldUntil, err = heldUntil(ctx, t, attemptID); err != nil {
			return err
		}
		return fmt.Errorf("attempt %d is %s: %w", attemptID, status, lathe.ErrFenced)
	}
	r.reply.Cancel = facts.cancel != 0
	tail, err := t.renewAndStoreLog(ctx, attemptID, rep, presume, r)
	if err != nil {
		return err
	}
	if err := t.upsertSteps(ctx, attemptID, rep.Steps); err != nil {
		return err
	}
	if rep.Finish == nil || r.reply.LogSize < rep.Finish.LogSize {
		return nil // not finished, or log bytes still missing: the agent resends from r.reply.LogSize
	}
	final := rep.Finish.Status
	if !engine.CanTransition(engine.Attempt, lathe.StatusRunning, final) {
		return fmt.Errorf("finish attempt %d: %q is not a final status of an attempt (success, failed, canceled, lost, timed_out): %w",
			attemptID, final, lathe.ErrInvalid)
	}
	if rep.Finish.SHA256 != "" {
		sum, err := t.storedLogSumAfter(ctx, attemptID, tail, prefix)
		if err != nil {
			return err
		}
		if err := t.checkLog(ctx, attemptID, sum, rep.Finish.SHA256); err != nil {
			return err
		}
	}
	c := candidate{attemptID: attemptID, jobID: jobID, runID: r.runID}
	if final == lathe.StatusLost {
		// The agent is stopping and hands the attempt back: the job runs
		// again, without using up a retry.
		r.reply.Finished, r.finished = true, true
		return t.handBack(ctx, c)
	}
	if rep.Finish.Reason != "" {
		if err := t.infraFailure(ctx, attemptID, &r.reply.LogSize, rep.Finish.Reason); err != nil {
			return err
		}
		r.grew = true
	}
	o, _, err := t.endAttempt(ctx, c, attemptEnd{result: final, byAgent: true, reason: rep.Finish.Reason, facts: &facts, locked: true})
	if err != nil {
		return err
	}
	if final = o.Attempt; (final == lathe.StatusFailed || final == lathe.StatusTimedOut) && rep.Finish.Workspace != "" {
		if r.reply.HoldUntil, err = t.catchHold(ctx, attemptID, jobID, rep.Finish.Workspace); err != nil {
			return err
		}
	}
	r.reply.Finished, r.finished = true, true
	return nil
}

// storedTail is what renewAndStoreLog stored of a report's log: the bytes
// it appended after the size the report's load read, at offset from (ok);
// not ok when it read the size again under the row lock.
type storedTail struct {
	ok    bool
	from  int64
	bytes []byte
}

// storedLogSumAfter is the SHA-256 of the attempt's stored log, tail the
// last bytes stored and prefix, when not nil, the hash of what was stored
// before the report: the log is read again only when neither tells it.
func (t *txn) storedLogSumAfter(ctx context.Context, attemptID int64, tail storedTail, prefix *logPrefix) ([]byte, error) {
	switch {
	case tail.ok && tail.from == 0:
		s := sha256.Sum256(tail.bytes) // the log as stored: nothing was before it
		return s[:], nil
	case tail.ok && prefix != nil && prefix.size == tail.from:
		return prefix.sumWith(tail.bytes)
	}
	return t.storedLogSum(ctx, attemptID)
}

// renewAndStoreLog renews the attempt's lease and stores the report's new
// log bytes, setting r's reply log size and whether the log grew, and
// returns what it stored. presume is report's.
func (t *txn) renewAndStoreLog(ctx context.Context, attemptID int64, rep *lathe.Report, presume bool, r *reported) (tail storedTail, err error) {
	// Renew the lease first, and only while the attempt runs: the
	// conditional update takes the attempt's row lock, so a sweeper that
	// marks it lost meanwhile either commits first (and this report is
	// fenced) or waits for this one, and sees the renewed lease.
	// The same statement records the log's new size (the chunk follows
	// in this transaction) when the size is still the one read above, so
	// a report usually costs one write of the attempt. When it is not —
	// on PostgreSQL another replica may have stored this very report
	// since (the agent resent it when that replica stopped answering) —
	// or the attempt no longer runs, the size is read again under the
	// row lock and the bytes go after what is stored.
	chunk, size := newLogBytes(r.reply.LogSize, rep.LogOffset, rep.Log)
	const grow = `UPDATE attempts SET lease_expires_at = ?, log_size = ? WHERE id = ? AND status = ? AND log_size = ?`
	growArgs := []any{micros(t.now.Add(t.leaseTTL)), size, attemptID, lathe.StatusRunning, r.reply.LogSize}
	n := int64(1)
	if presume {
		// The usual case is presumed, and the update goes with what
		// follows, sharing its round trip; the database checks it
		// changed the row, and when it did not, the transaction fails
		// with errStale and Report tries again without presuming.
		if err := t.writeAffecting(ctx, 1, fmt.Sprintf("report on attempt %d", attemptID), grow, growArgs...); err != nil {
			return storedTail{}, err
		}
	} else {
		res, err := t.exec(ctx, grow, growArgs...)
		if err != nil {
			return storedTail{}, err
		}
		if n, err = res.RowsAffected(); err != nil {
			return storedTail{}, err
		}
	}
	if n == 1 {
		tail = storedTail{ok: true, from: r.reply.LogSize, bytes: chunk}
		r.grew, err = t.insertChunk(ctx, attemptID, r.reply.LogSize, chunk)
		r.reply.LogSize = size
	} else {
		err = t.queryRow(ctx, `UPDATE attempts SET lease_expires_at = ? WHERE id = ? AND status = ? RETURNING log_size`,
			micros(t.now.Add(t.leaseTTL)), attemptID, lathe.StatusRunning).Scan(&r.reply.LogSize)
		if errors.Is(err, sql.ErrNoRows) {
			r.reply.Cancel, r.reply.Finished = true, true
			return storedTail{}, fmt.Errorf("attempt %d is no longer running: %w", attemptID, lathe.ErrFenced)
		}
		if err != nil {
			return storedTail{}, err
		}
		r.grew, err = t.appendLog(ctx, attemptID, &r.reply.LogSize, rep.LogOffset, rep.Log)
	}
	return tail, err
}

// stepsPerUpsert bounds the steps one statement writes; a report's steps
// usually fit in one, and the statements stay few (one per count).
const stepsPerUpsert = 8

// upsertSteps stores the step states of a report, each inserted or, while
// its step has not finished, updated, a few per statement. A step reported
// twice in one report counts as the two in order: the first kept if it
// finished the step.
func (t *txn) upsertSteps(ctx context.Context, attemptID int64, steps []lathe.StepReport) error {
	rows := make([]lathe.StepReport, 0, len(steps))
	at := map[int]int{}
	for _, st := range steps {
		if !st.Status.Valid() {
			return fmt.Errorf("step %d: unknown status %q: %w", st.Index, st.Status, lathe.ErrInvalid)
		}
		if i, ok := at[st.Index]; ok {
			if rows[i].FinishedAt == nil {
				rows[i] = st
			}
			continue
		}
		at[st.Index] = len(rows)
		rows = append(rows, st)
	}
	for len(rows) > 0 {
		n := min(len(rows), stepsPerUpsert)
		args := make([]any, 0, n*10)
		for _, st := range rows[:n] {
			args = append(args, attemptID, st.Index, st.Name, st.Status, st.ExitCode, st.LogStart, st.LogEnd, micros(t.now),
				nullMicros(st.StartedAt), nullMicros(st.FinishedAt))
		}
		if err := t.write(ctx, upsertStepsSQL(n), args...); err != nil {
			return fmt.Errorf("steps of attempt %d: %w", attemptID, err)
		}
		rows = rows[n:]
	}
	return nil
}

// upsertStepsSQL is the statement that upserts n steps (1 ≤ n ≤
// stepsPerUpsert), written once for each n rather than at every report.
func upsertStepsSQL(n int) string { return upsertStepsSQLs()[n] }

var upsertStepsSQLs = sync.OnceValue(func() (qs [stepsPerUpsert + 1]string) {
	for n := 1; n <= stepsPerUpsert; n++ {
		qs[n] = `INSERT INTO steps (attempt_id, idx, name, status, exit_code, log_start, log_end, created_at, started_at, finished_at)
		VALUES ` + strings.TrimSuffix(strings.Repeat(`(?, ?, ?, ?, ?, ?, ?, ?, ?, ?), `, n), ", ") + `
		ON CONFLICT (attempt_id, idx) DO UPDATE SET status = excluded.status, exit_code = excluded.exit_code,
			log_end = excluded.log_end, started_at = excluded.started_at, finished_at = excluded.finished_at
		WHERE steps.finished_at IS NULL`
	}
	return qs
})

// infraFailure records why an attempt failed when the infrastructure, not
// the job, is to blame: as its end reason, and as the last line of its log
// (size is the log's size, updated), so whoever reads the log's tail sees it.
// The agent could not always write it there itself: its disk may be full.
func (t *txn) infraFailure(ctx context.Context, attemptID int64, size *int64, reason string) error {
	if err := lathe.CheckInfraReason(reason); err != nil {
		return fmt.Errorf("finish attempt %d: reason: %v: %w", attemptID, err, lathe.ErrInvalid)
	}
	if _, err := t.appendLog(ctx, attemptID, size, *size, []byte("\nlathe: "+reason+"\n")); err != nil {
		return err
	}
	return t.write(ctx, `UPDATE attempts SET end_reason = ? WHERE id = ?`, reason, attemptID)
}
