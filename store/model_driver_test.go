package store_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/clock"
	"github.com/lathe-ci/lathe/dispatch"
	"github.com/lathe-ci/lathe/pipeline"
	"github.com/lathe-ci/lathe/secret"
	"github.com/lathe-ci/lathe/store"
	"github.com/lathe-ci/lathe/trigger"
)

// modelDriver is the one place the model-based test touches the scheduling
// API: everything a user, an agent or the sweeper does goes through one of
// its methods, and everything the checks read comes from snapshot. Claims
// go through the dispatch service, which delivers the job's secrets as the
// server does; the rest calls the store.
type modelDriver struct {
	s       *store.Store
	disp    *dispatch.Service
	clock   *clock.Manual
	project *lathe.Project
	// tag is a label every job of this case needs and every agent of it
	// has, so cases sharing a store never take each other's jobs.
	tag string
	pl  *pipeline.Pipeline
}

// modelLeaseTTL is long next to job timeouts, so time passing beyond a
// timeout does not always lose the lease too.
const modelLeaseTTL = 30 * time.Minute

// modelSweep is the sweeper's policy in the model.
var modelSweep = store.SweepPolicy{InfraRetries: 1, TimeoutGrace: 10 * time.Second, Limit: 1000}

// newModelDriver makes a project for one case, whose pipeline file is yaml.
func newModelDriver(ctx context.Context, s *store.Store, clk *clock.Manual, tag, yaml string) (*modelDriver, error) {
	ps, err := pipeline.Parse([]pipeline.File{{Path: ".lathe.yml", Data: []byte(yaml)}})
	if err != nil {
		return nil, fmt.Errorf("parse generated pipeline: %w\n%s", err, yaml)
	}
	p := &lathe.Project{Name: tag, URL: "https://git.example/" + tag + ".git", DefaultBranch: "main"}
	if err := s.CreateProject(ctx, p); err != nil {
		return nil, err
	}
	// The secret the generated jobs name, which an untrusted run must
	// never receive.
	keys, err := secret.NewKeyring(secret.NewKey())
	if err != nil {
		return nil, err
	}
	if _, err := s.CreateSecret(ctx, keys, p.ID, "API_KEY", "model-secret-"+tag, "admin"); err != nil {
		return nil, err
	}
	disp := dispatch.New(s, nil, slog.New(slog.DiscardHandler))
	disp.SetKeyring(keys)
	return &modelDriver{s: s, disp: disp, clock: clk, project: p, tag: tag, pl: ps[0]}, nil
}

// modelCommit is the commit every run of a case builds, so approving it for
// one untrusted run approves it for the others (approvals are per commit).
const modelCommit = "0123456789abcdef0123456789abcdef01234567"

// startRun plans the pipeline as the server's trigger does and stores the
// run: a fork's pull request when untrusted, a re-run of parent when given.
func (d *modelDriver) startRun(ctx context.Context, untrusted bool, parent *lathe.Run) (*lathe.Run, error) {
	ev := pipeline.Event{Kind: pipeline.EventPush, Branch: "main", Ref: "refs/heads/main", Commit: modelCommit}
	if untrusted {
		ev.Kind = pipeline.EventPullRequest
	}
	if parent != nil {
		ev.Kind = parent.Event
	}
	nr, err := trigger.PlanFor(d.pl, pipeline.PlanInput{Event: ev})
	if err != nil {
		return nil, err
	}
	for _, j := range nr.Jobs {
		j.RunsOn = append(j.RunsOn, d.tag)
	}
	nr.Run.ProjectID, nr.Run.Project = d.project.ID, d.project.Name
	nr.Run.Ref, nr.Run.Branch, nr.Run.Commit, nr.Run.Event = ev.Ref, ev.Branch, ev.Commit, ev.Kind
	nr.Run.Untrusted = untrusted
	if parent != nil {
		// As trigger.Service.Rerun: the parent's commit, event and trust.
		nr.Run.ParentID, nr.Run.Event, nr.Run.Untrusted = &parent.ID, lathe.EventRerun, parent.Untrusted
	}
	if err := d.s.CreateRun(ctx, nr); err != nil {
		return nil, err
	}
	return nr.Run, nil
}

// register makes an agent of this case.
func (d *modelDriver) register(ctx context.Context, name string, labels []string) (*lathe.Agent, error) {
	a := &lathe.Agent{Name: d.tag + "-" + name, Labels: append(append([]string{}, labels...), d.tag)}
	err := d.s.PutAgent(ctx, a, "hash-of-"+a.Name)
	return a, err
}

// claim asks for a job as agent a through the dispatch service, as the
// server's claim route does, without waiting for one.
func (d *modelDriver) claim(ctx context.Context, a *lathe.Agent) (*lathe.Assignment, error) {
	return d.disp.Claim(ctx, dispatch.Actor{Agent: a}, &dispatch.ClaimRequest{End: time.Now()})
}

// delivered reports whether the claim carried secret values to the agent.
func delivered(as *lathe.Assignment) bool { return len(as.Secrets) > 0 }

func (d *modelDriver) heartbeat(ctx context.Context, agentID, attemptID int64) error {
	_, err := d.s.Report(ctx, agentID, attemptID, &lathe.Report{})
	return err
}

// finish ends an attempt as its agent does (status lost hands it back).
func (d *modelDriver) finish(ctx context.Context, agentID, attemptID int64, status lathe.Status, reason string) error {
	reply, err := d.s.Report(ctx, agentID, attemptID, &lathe.Report{Finish: &lathe.FinishReport{Status: status, Reason: reason}})
	if err == nil && !reply.Finished {
		return fmt.Errorf("finish of attempt %d not confirmed: %+v", attemptID, reply)
	}
	return err
}

func (d *modelDriver) setDisabled(ctx context.Context, agentID int64, disabled bool) error {
	return d.s.UpdateAgents(ctx, map[int64]store.AgentChange{agentID: {Disabled: &disabled}})
}

// sweep lets time pass and runs the lease sweeper once.
func (d *modelDriver) sweep(ctx context.Context, after time.Duration) error {
	d.clock.Advance(after)
	_, err := d.s.Sweep(ctx, modelSweep)
	return err
}

// queueTimeout lets two hours pass, so no agent was heard from lately, and
// runs the sweeper with a queue timeout of one hour: queued jobs fail.
func (d *modelDriver) queueTimeout(ctx context.Context) error {
	d.clock.Advance(2 * time.Hour)
	p := modelSweep
	p.QueueTimeout = time.Hour
	_, err := d.s.Sweep(ctx, p)
	return err
}

// restart stands for the server that runs agent a restarting: the attempts
// a still runs are lost without using up a retry (the server does this for
// its embedded agents at start).
func (d *modelDriver) restart(ctx context.Context, a *lathe.Agent) error {
	_, err := d.s.LoseAttemptsOfAgent(ctx, a.Name)
	return err
}

func (d *modelDriver) cancelRun(ctx context.Context, id int64) error { return d.s.CancelRun(ctx, id) }
func (d *modelDriver) cancelJob(ctx context.Context, id int64) error { return d.s.CancelJob(ctx, id) }
func (d *modelDriver) approveJob(ctx context.Context, id int64) error {
	return d.s.ApproveJob(ctx, id, "carol")
}
func (d *modelDriver) rejectJob(ctx context.Context, id int64) error {
	return d.s.RejectJob(ctx, id, "carol", "")
}
func (d *modelDriver) approveRun(ctx context.Context, id int64) error {
	return d.s.ApproveRun(ctx, id, "carol")
}

// rerunJob and rerunFailed make a new run that re-runs jobs of a finished one.
func (d *modelDriver) rerunJob(ctx context.Context, id int64) error {
	_, err := d.s.RerunJob(ctx, id, "model")
	return err
}
func (d *modelDriver) rerunFailed(ctx context.Context, id int64) error {
	_, err := d.s.RerunFailed(ctx, id, "model")
	return err
}

// rerunRun re-runs a whole run as the API does: a new run of its pipeline
// at its commit (see trigger.Service.Rerun).
func (d *modelDriver) rerunRun(ctx context.Context, id int64) (*lathe.Run, error) {
	parent, err := d.s.Run(ctx, id)
	if err != nil {
		return nil, err
	}
	return d.startRun(ctx, parent.Untrusted, parent)
}

// modelSnapshot is everything the checks read about a case, after a step.
type modelSnapshot struct {
	runs     []*lathe.Run // oldest first, with Stages and Jobs (Jobs without Attempts)
	jobs     map[int64]*lathe.Job
	attempts map[int64]*lathe.Attempt
	// byJob lists each job's attempts, oldest first.
	byJob map[int64][]*lathe.Attempt
	// trustGated jobs wait behind their run's trust gate; cancel runs had
	// their cancel asked for.
	trustGated, cancel map[int64]bool
}

func (d *modelDriver) snapshot(ctx context.Context) (*modelSnapshot, error) {
	st, err := store.ReadModelState(ctx, d.s, d.project.ID)
	if err != nil {
		return nil, err
	}
	snap := &modelSnapshot{runs: st.Runs, jobs: map[int64]*lathe.Job{}, attempts: map[int64]*lathe.Attempt{},
		byJob: map[int64][]*lathe.Attempt{}, trustGated: st.TrustGated, cancel: st.CancelRequested}
	for _, r := range st.Runs {
		for _, j := range r.Jobs {
			snap.jobs[j.ID] = j
		}
	}
	for _, a := range st.Attempts {
		snap.attempts[a.ID] = a
		snap.byJob[a.JobID] = append(snap.byJob[a.JobID], a)
	}
	return snap, nil
}

// retire ends what a finished case left running or queued, so the cases
// after it on the same store sweep and claim past none of it. Errors are
// ignored: the case's checks are over, and a job left queued only costs
// later claims a little reading.
func (d *modelDriver) retire(ctx context.Context) {
	snap, err := d.snapshot(ctx)
	if err != nil {
		return
	}
	for _, r := range snap.runs {
		if !r.Status.Terminal() {
			_ = d.cancelRun(ctx, r.ID)
		}
	}
	for _, a := range snap.attempts {
		if a.Status == lathe.StatusRunning {
			_ = d.finish(ctx, a.AgentID, a.ID, lathe.StatusCanceled, "")
		}
	}
}
