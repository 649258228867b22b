package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/engine"
)

// The outbox: what a change of a run or a job must tell the world (a commit
// status to the project's forge, an event to its webhooks) is written in
// the transaction of the change, so it is never lost and never sent for a
// change that did not commit; the delivery loop sends it afterwards (see
// deliveries.go), so a run never waits for a forge.
//
// A project's outbound column says what it sends. advanceRun, which every
// status write of a run or its jobs goes through, reads it with the run's
// row (no extra query); setStatus notes each run and job transition in
// memory; before the transaction commits, flushOutbox writes deliveries
// for the runs whose project sends something. A project that sends nothing
// thus costs no write and no query.

// The bits of projects.outbound.
const (
	outStatuses = 1 << iota // commit statuses to the project's forge
	outRunHooks             // run events to webhooks
	outJobHooks             // job events to webhooks
)

// transition is one status change a transaction made.
type transition struct {
	e        engine.Entity
	id       int64
	from, to lathe.Status
}

// noteTransition remembers a run's or job's status change for flushOutbox.
func (t *txn) noteTransition(e engine.Entity, id int64, from, to lathe.Status) {
	if e == engine.Run || e == engine.Job {
		t.transitions = append(t.transitions, transition{e, id, from, to})
	}
}

// noteOutbound remembers what the project of a run advanced in this
// transaction sends (read by advanceRun with the run's row).
func (t *txn) noteOutbound(runID int64, outbound int) {
	if outbound == 0 {
		return
	}
	if t.outbound == nil {
		t.outbound = map[int64]int{}
	}
	t.outbound[runID] = outbound
}

// StatusState is the commit-status state a run's status reports: an
// unstarted run is pending, or waiting when it waits for an approval; a
// canceled run is an error (it did not fail, it was stopped); lost and
// timed-out runs failed; a run whose every job was skipped succeeded.
func StatusState(s lathe.Status) string {
	switch s {
	case lathe.StatusPending, lathe.StatusQueued:
		return "pending"
	case lathe.StatusWaiting:
		return "waiting"
	case lathe.StatusRunning:
		return "running"
	case lathe.StatusSuccess, lathe.StatusSkipped:
		return "success"
	case lathe.StatusCanceled:
		return "error"
	}
	return "failure"
}

// StatusContext is the status context of a pipeline's runs of an event:
// lathe/<pipeline>, and for pull requests lathe/<pipeline> (pull_request).
// A pull request from the repository itself has a push run and a pull
// request run of the same commit, which may end differently (conditions
// on the event, the trust gate): in one context the later would hide the
// earlier, and a forge's required check could pass on the wrong one.
func StatusContext(pipeline, event string) string {
	if event == "pull_request" {
		return "lathe/" + pipeline + " (pull_request)"
	}
	return "lathe/" + pipeline
}

// flushOutbox writes the deliveries of the transaction's transitions.
func (t *txn) flushOutbox(ctx context.Context) error {
	if len(t.outbound) == 0 || len(t.transitions) == 0 {
		return nil
	}
	o := outboxWriter{t: t, runs: map[int64]*lathe.Run{}, hooks: map[int64][]hookSub{}}
	for _, tr := range t.transitions {
		if err := o.write(ctx, tr); err != nil {
			return err
		}
	}
	if o.wrote {
		t.afterCommit = append(t.afterCommit, func(s *Store) { s.outboxChanged() })
	}
	return nil
}

// outboxWriter writes one transaction's deliveries, reading each run and
// each project's webhooks once.
type outboxWriter struct {
	t     *txn
	runs  map[int64]*lathe.Run
	hooks map[int64][]hookSub
	wrote bool
}

// hookSub is an active webhook and the events it takes.
type hookSub struct {
	id     int64
	events []string
}

func (o *outboxWriter) write(ctx context.Context, tr transition) error {
	runID := tr.id
	var job *lathe.Job
	if tr.e == engine.Job {
		// Only a project whose webhooks take job events needs the job.
		if !o.anyJobHooks() {
			return nil
		}
		j, err := scanJob(o.t.queryRow(ctx, `SELECT `+jobCols+` FROM jobs j JOIN stages s ON s.id = j.stage_id WHERE j.id = ?`, tr.id))
		if err != nil {
			return notFound(err, "job", tr.id)
		}
		job, runID = j, j.RunID
	}
	flags := o.t.outbound[runID]
	if flags == 0 {
		return nil
	}
	r, err := o.run(ctx, runID)
	if err != nil {
		return err
	}
	if tr.e == engine.Job {
		if flags&outJobHooks == 0 {
			return nil
		}
		return o.event(ctx, r, lathe.WebhookJob, "job."+string(tr.to), map[string]any{"job": job, "previous_status": tr.from})
	}
	if flags&outStatuses != 0 {
		if state := StatusState(tr.to); state != StatusState(tr.from) || tr.from == lathe.StatusPending {
			if err := o.status(ctx, r, state); err != nil {
				return err
			}
		}
	}
	if flags&outRunHooks != 0 {
		return o.event(ctx, r, lathe.WebhookRun, "run."+string(tr.to), map[string]any{"run": r, "previous_status": tr.from})
	}
	return nil
}

func (o *outboxWriter) anyJobHooks() bool {
	for _, f := range o.t.outbound {
		if f&outJobHooks != 0 {
			return true
		}
	}
	return false
}

// run reads a run as it is now, in the transaction (its new status and times).
func (o *outboxWriter) run(ctx context.Context, id int64) (*lathe.Run, error) {
	if r, ok := o.runs[id]; ok {
		return r, nil
	}
	r, err := scanRun(o.t.queryRow(ctx, `SELECT `+runCols+` FROM runs r JOIN projects p ON p.id = r.project_id WHERE r.id = ?`, id))
	if err != nil {
		return nil, notFound(err, "run", id)
	}
	o.runs[id] = r
	return r, nil
}

// status queues a commit status of the run.
func (o *outboxWriter) status(ctx context.Context, r *lathe.Run, state string) error {
	now := micros(o.t.now)
	err := o.t.write(ctx, `INSERT INTO deliveries (project_id, kind, run_id, context, state, status, next_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.ProjectID, lathe.DeliveryStatus, r.ID, StatusContext(r.Pipeline, r.Event), state,
		lathe.DeliveryQueued, now, now, now)
	if err != nil {
		return fmt.Errorf("queue the status of run %d: %w", r.ID, err)
	}
	o.wrote = true
	return nil
}

// event queues a message to each active webhook of the run's project that
// takes events of kind.
func (o *outboxWriter) event(ctx context.Context, r *lathe.Run, kind, typ string, data any) error {
	subs, err := o.subscribers(ctx, r.ProjectID)
	if err != nil {
		return err
	}
	var body []byte
	now := micros(o.t.now)
	for _, h := range subs {
		if !slices.Contains(h.events, kind) {
			continue
		}
		if body == nil {
			if body, err = json.Marshal(struct {
				Type      string    `json:"type"`
				Timestamp time.Time `json:"timestamp"`
				Data      any       `json:"data"`
			}{typ, o.t.now, data}); err != nil {
				return err
			}
		}
		err := o.t.write(ctx, `INSERT INTO deliveries (project_id, kind, run_id, webhook_id, context, message_id, payload, status,
				next_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ProjectID, lathe.DeliveryWebhook, r.ID, h.id, typ, newMessageID(), string(body), lathe.DeliveryQueued, now, now, now)
		if err != nil {
			return fmt.Errorf("queue %s for webhook %d: %w", typ, h.id, err)
		}
		o.wrote = true
	}
	return nil
}

func (o *outboxWriter) subscribers(ctx context.Context, projectID int64) ([]hookSub, error) {
	if subs, ok := o.hooks[projectID]; ok {
		return subs, nil
	}
	rows, err := o.t.query(ctx, `SELECT id, events FROM webhooks WHERE project_id = ? AND active = 1 ORDER BY id`, projectID)
	if err != nil {
		return nil, fmt.Errorf("webhooks of project %d: %w", projectID, err)
	}
	defer rows.Close()
	subs := []hookSub{}
	for rows.Next() {
		var h hookSub
		var events string
		if err := rows.Scan(&h.id, &events); err != nil {
			return nil, err
		}
		if err := fromJSON(events, &h.events); err != nil {
			return nil, fmt.Errorf("webhook %d events: %w", h.id, err)
		}
		subs = append(subs, h)
	}
	o.hooks[projectID] = subs
	return subs, rows.Err()
}

// newMessageID is a webhook message's webhook-id.
func newMessageID() string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return "msg_" + hex.EncodeToString(b)
}

// setOutbound recomputes the webhook bits of a project's outbound column
// from its active webhooks, keeping the statuses bit.
func (t *txn) setOutbound(ctx context.Context, projectID int64) error {
	rows, err := t.query(ctx, `SELECT events FROM webhooks WHERE project_id = ? AND active = 1`, projectID)
	if err != nil {
		return err
	}
	bits := 0
	for rows.Next() {
		var text string
		var events []string
		if err := rows.Scan(&text); err != nil {
			rows.Close()
			return err
		}
		if err := fromJSON(text, &events); err != nil {
			rows.Close()
			return err
		}
		if slices.Contains(events, lathe.WebhookRun) {
			bits |= outRunHooks
		}
		if slices.Contains(events, lathe.WebhookJob) {
			bits |= outJobHooks
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	_, err = t.exec(ctx, `UPDATE projects SET outbound = (outbound & ?) | ? WHERE id = ?`, outStatuses, bits, projectID)
	return err
}

// SetCommitStatuses turns the commit statuses of a project's runs on or
// off: on once the project names a repository on a connected forge. Runs
// that change status afterwards queue a status per change.
func (s *Store) SetCommitStatuses(ctx context.Context, projectID int64, on bool) error {
	return s.tx(ctx, func(t *txn) error { return t.setCommitStatuses(ctx, projectID, on) })
}

// setCommitStatuses is SetCommitStatuses inside a transaction (that of a
// change of the project's forge repository).
func (t *txn) setCommitStatuses(ctx context.Context, projectID int64, on bool) error {
	q, bits := `UPDATE projects SET outbound = outbound | ? WHERE id = ?`, outStatuses
	if !on {
		q, bits = `UPDATE projects SET outbound = outbound & ? WHERE id = ?`, ^outStatuses
	}
	res, err := t.exec(ctx, q, bits, projectID)
	if err != nil {
		return err
	}
	return mustAffect(res, "project", projectID)
}
