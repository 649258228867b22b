package agent

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/executor"
	"github.com/lathe-ci/lathe/git"
	"github.com/lathe-ci/lathe/internal/rmtree"
	"github.com/lathe-ci/lathe/secret"
)

// runJob runs one attempt to the end and makes sure the server hears how it
// ended. Step 0 is the checkout; the pipeline's steps follow. With a claim
// (its ID set), the finish also claims the agent's next job: runJob returns
// it, or nil, and whether the claim ID went out.
func (a *Agent) runJob(ctx context.Context, as *lathe.Assignment, c nextClaim) (next *lathe.Assignment, claimSent bool) {
	log := a.Log.With("agent", a.Name, "job_id", as.JobID, "attempt_id", as.AttemptID, "job", as.Job)
	// The claim's answer has just come: the server took the lease before.
	claimed := time.Now()
	jobCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// held ends when the job stops being the agent's to run (shutdown, a
	// cancel, a lost lease), not when it times out: what runs after a
	// timeout runs in it (see afterTimeout).
	held := jobCtx
	if as.TimeoutSec > 0 {
		var stop context.CancelFunc
		jobCtx, stop = context.WithTimeoutCause(jobCtx, time.Duration(as.TimeoutSec)*time.Second, errTimedOut)
		defer stop()
	}
	logs := filepath.Join(a.WorkDir, "logs")
	ttl := a.LeaseTTL
	if told := time.Duration(as.LeaseTTLSec) * time.Second; told > 0 && ttl > 0 {
		ttl = min(ttl, told)
	}
	lease := newLeaseWatch(ttl, a.grace(), claimed, func() {
		log.Warn("the server has not heard from this agent for nearly the lease TTL; stopping the job, which it runs again elsewhere",
			"lease_ttl", ttl)
		cancel(errLeaseLost)
	})
	out, err := newShipper(a.Client, as.AttemptID, filepath.Join(logs, strconv.FormatInt(as.AttemptID, 10)+".log"),
		filepath.Join(logs, spareSpool), lease.heartbeat(a.Heartbeat), log, func() { cancel(nil) })
	if err != nil {
		log.Error("cannot run job", "err", err)
		return nil, false
	}
	defer out.Close()
	out.lease = lease
	defer func() { next, claimSent = out.nextClaimed() }()
	masks := secret.VarMasks(as.Secrets)
	out.maskSecrets(masks)
	// The shipper outlives a canceled job so the final report still goes out.
	shipCtx, stopShipping := context.WithCancel(context.WithoutCancel(ctx))
	defer stopShipping()
	go out.Run(shipCtx)

	ws := filepath.Join(a.WorkDir, "ws", strconv.FormatInt(as.AttemptID, 10))
	if abs, err := filepath.Abs(ws); err == nil {
		ws = abs // a hold shows where the workspace is on this machine
	}
	mirror := a.mirrors.For(as.RepoURL)
	status := lathe.StatusFailed
	checkedOut := false
	var shape treeShape // the workspace as checked out, for keepIdle
	if jd, err := a.newJobDirs(as.AttemptID); err != nil {
		fmt.Fprintf(out, "cannot prepare the job: %v\n", err)
	} else {
		defer a.releaseJobDirs(jd, as.AttemptID)
		checkout := func(ctx context.Context, commit, dir string) error {
			err := a.checkoutWorkspace(ctx, mirror, as, commit, dir, log)
			checkedOut = err == nil
			if checkedOut && reusable(as) {
				shape = readShape(dir)
			}
			return err
		}
		watchCtx, stopWatching := context.WithCancel(held)
		go a.watchStop(watchCtx, as.AttemptID, out, log)
		lease.watching(ctx, func() { status = a.runSteps(jobCtx, held, as, ws, mirror, jd, out, checkout) })
		if ctx.Err() == nil && context.Cause(jobCtx) != errLeaseLost {
			a.sendReports(ctx, as, ws, masks, out)
		}
		stopWatching()
	}
	a.noteFullDisk(status, ws, out)
	if err := out.EndOutput(); err != nil {
		log.Warn("log spool", "err", err)
	}
	if (ctx.Err() != nil || context.Cause(jobCtx) == errLeaseLost) && status != lathe.StatusSuccess {
		// The agent is shutting down, or the server is about to run the
		// job elsewhere: hand the attempt back.
		status = lathe.StatusLost
	}
	var holdable string
	if status == lathe.StatusFailed || status == lathe.StatusTimedOut {
		holdable = ws // only a failure can be held
	}
	if c.id != "" && ctx.Err() == nil && !a.draining() {
		out.claimNext(c.id, c.first)
	}
	out.Finish(status, holdable)
	select {
	case <-out.finished:
	case <-ctx.Done():
		// Shutting down: give the final report a bounded moment.
		select {
		case <-out.finished:
		case <-time.After(10 * time.Second):
		}
	}
	if until := out.HoldUntil(); until != nil && holdable != "" && time.Now().Before(*until) && a.held != nil {
		err := a.held.Keep(as.AttemptID, ws, as.RepoURL, *until)
		if err == nil {
			log.Info("workspace held", "dir", ws, "until", until.Format(time.RFC3339))
			return nil, false
		}
		log.Warn("cannot keep held workspace; deleting it", "dir", ws, "err", err)
	}
	if checkedOut && ctx.Err() == nil && a.keepIdle(ctx, mirror, as, ws, shape, log) {
		log.Debug("job finished; workspace kept for the repository's next job", "status", status)
		return nil, false
	}
	a.remover.remove(func() error {
		if err := mirror.RemoveWorktree(ws); err != nil {
			return fmt.Errorf("remove workspace %s: %w", ws, err)
		}
		return nil
	})
	log.Debug("job finished", "status", status)
	return nil, false
}

// nextClaim is the claim a finish may carry: its ID ("" for none) and
// whether it was never sent before.
type nextClaim struct {
	id    string
	first bool
}

var errTimedOut = fmt.Errorf("job timed out")

// runSteps checks out the commit and runs the steps in order, stopping at the
// first failure. It returns the attempt's status. The workspace ws is a
// worktree of mirror. held is ctx without its timeout: once the job has
// timed out, the steps that run after a failure (artifacts `when:
// on_failure|always`) still run in it, for at most afterTimeoutLimit.
func (a *Agent) runSteps(ctx, held context.Context, as *lathe.Assignment, ws string, mirror *git.Mirror, jd jobDirs, out *shipper,
	checkout func(context.Context, string, string) error) lathe.Status {
	report := func(i int, name string, st lathe.Status, start int64, started, finished *time.Time, exit *int) {
		r := lathe.StepReport{Index: i, Name: name, Status: st, LogStart: start, StartedAt: started, FinishedAt: finished, ExitCode: exit}
		if finished != nil {
			end := out.Offset()
			r.LogEnd = &end
		}
		out.Step(r)
	}

	// Step 0: checkout.
	start, t0 := out.Offset(), time.Now()
	report(0, "checkout", lathe.StatusRunning, start, &t0, nil, nil)
	fmt.Fprintf(out, "$ git checkout %s\n", as.Commit)
	if err := checkout(ctx, as.Commit, ws); err != nil {
		fmt.Fprintf(out, "checkout failed: %v\n", err)
		t1 := time.Now()
		report(0, "checkout", lathe.StatusFailed, start, &t0, &t1, nil)
		return stopStatus(ctx, lathe.StatusFailed)
	}
	t1 := time.Now()
	report(0, "checkout", lathe.StatusSuccess, start, &t0, &t1, new(int))

	ex, base := a.executorFor(as, jd.home)
	if ex == nil {
		fmt.Fprintf(out, "cannot run the job: it names image %s, and this agent has no container engine\n", as.Container.Image)
		return lathe.StatusFailed
	}
	envAs, secretDir, err := secretFiles(as, jd.control)
	if err != nil {
		fmt.Fprintf(out, "cannot prepare the job's secrets: %v\n", err)
		return lathe.StatusFailed
	}
	env := executor.JobEnv(base, envAs, ws)
	output, err := out.StartOutput()
	if err != nil {
		fmt.Fprintf(out, "cannot run the job: %v\n", err)
		return lathe.StatusFailed
	}
	// The steps read the mirror, where the workspace's .git file leads,
	// so git works in the workspace; git reads a worktree only when its
	// user owns the worktree's record, as it owns the workspace.
	job, err := ex.Start(ctx, executor.Spec{Workspace: ws, Home: jd.home, Control: jd.control, ReadOnly: []string{mirror.Dir},
		Env: env, Log: output, Container: as.Container, Attempt: as.AttemptID})
	if err != nil {
		fmt.Fprintf(out, "cannot start the job's %s executor: %v\n", ex.Isolation(), err)
		return stopStatus(ctx, lathe.StatusFailed)
	}
	defer job.Close()
	if err := job.Own(mirror.WorktreeGitDir(ws)); err != nil {
		fmt.Fprintf(out, "cannot give the job its workspace's git record: %v\n", err)
		return lathe.StatusFailed
	}
	if secretDir != "" {
		// The files go as soon as the steps are over, before the finish is
		// reported: the job's directories are removed only later, in the
		// background.
		defer rmtree.RemoveAll(secretDir)
		// The steps' user reads the files, and no one else.
		if err := job.Own(secretDir); err != nil {
			fmt.Fprintf(out, "cannot give the job its secret files: %v\n", err)
			return lathe.StatusFailed
		}
	}
	jr := &jobRun{as: as, ws: ws, home: jd.home, control: jd.control, job: job, caches: cacheState{keys: map[string]string{}, hits: map[string]bool{}}}
	// failed is the status of the first step that failed; the steps after
	// it are skipped, except actions that run after a failure (artifacts
	// `when: on_failure|always`), whose own result leaves it as it is.
	failed := lathe.StatusSuccess
	stepCtx := ctx
	var after *afterTimeout
	defer func() { after.end() }()
	for i, step := range as.Steps {
		idx := i + 1
		if failed == lathe.StatusSuccess && ctx.Err() != nil {
			// Stopped between steps: no step starts any more.
			failed = stopStatus(ctx, lathe.StatusCanceled)
			fmt.Fprintf(out, "job %s: %v\n", failed, context.Cause(ctx))
		}
		if failed != lathe.StatusSuccess && !step.Action.RunsAfterFailure() || failed == lathe.StatusSuccess && !step.Action.RunsAfterSuccess() {
			now := time.Now()
			report(idx, step.Name, lathe.StatusSkipped, out.Offset(), nil, &now, nil)
			continue
		}
		if failed != lathe.StatusSuccess && stepCtx.Err() != nil {
			if after == nil && timedOut(context.Cause(ctx)) {
				after = startAfterTimeout(held, out)
				stepCtx = after.ctx
			}
			if stepCtx.Err() != nil {
				now := time.Now()
				report(idx, step.Name, lathe.StatusSkipped, out.Offset(), nil, &now, nil)
				continue
			}
		}
		ctx := stepCtx
		start, t0 := out.Offset(), time.Now()
		report(idx, step.Name, lathe.StatusRunning, start, &t0, nil, nil)
		var code int
		var err error
		if step.Action != nil && step.Action.Kind == lathe.ActionTool {
			code, err = a.toolStep(ctx, jr, step.Action, out)
		} else if step.Action != nil {
			jr.infra = ""
			code, err = a.actionStep(ctx, jr, step.Action, out)
			if err == nil && code == 0 && step.Action.Kind == lathe.ActionDownload {
				if oerr := job.Own(ws); oerr != nil {
					fmt.Fprintf(out, "download: give the job the files: %v\n", oerr)
					code = 1
				}
			}
		} else {
			code, err = commandStep(ctx, job, step.Run, out)
		}
		t1 := time.Now()
		st := lathe.StatusSuccess
		switch {
		case err != nil:
			st = stopStatus(ctx, lathe.StatusFailed)
			fmt.Fprintf(out, "step %s: %v\n", st, context.Cause(ctx))
		case code != 0:
			st = lathe.StatusFailed
			if step.Action == nil || step.Action.Kind == lathe.ActionTool { // an action has said why it failed
				fmt.Fprintf(out, "exit status %d\n", code)
			}
		}
		var exit *int
		if code >= 0 {
			exit = &code
		}
		report(idx, step.Name, st, start, &t0, &t1, exit)
		if st != lathe.StatusSuccess && failed == lathe.StatusSuccess {
			failed = st
			if step.Action != nil && jr.infra != "" {
				out.setReason(jr.infra) // the job failed because the server could not take its files
			}
		}
	}
	return failed
}

// commandStep runs a step's command with the shell, its output in the job's log.
func commandStep(ctx context.Context, job executor.Job, run string, out *shipper) (int, error) {
	fmt.Fprintf(out, "$ %s\n", firstLine(run))
	stepOut, endOutput, err := out.StepOutput()
	if err != nil {
		return -1, err
	}
	defer endOutput()
	return job.Run(ctx, executor.Step{Script: run, Output: stepOut})
}

// stopStatus names why ctx ended: timed out, canceled, or (if it did not) def.
func stopStatus(ctx context.Context, def lathe.Status) lathe.Status {
	switch {
	case timedOut(context.Cause(ctx)):
		return lathe.StatusTimedOut
	case ctx.Err() != nil:
		return lathe.StatusCanceled
	}
	return def
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}
