package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/executor"
	"github.com/lathe-ci/lathe/pipeline"
	"github.com/lathe-ci/lathe/secret"
)

var errTimedOut = errors.New("job timed out")

// runJob runs job i to the end, retrying a failed attempt as its `retry`
// allows, and returns the job's status and, unless it succeeded, why.
func (r *run) runJob(ctx context.Context, i int) (lathe.Status, string) {
	j := r.jobs[i]
	prefix := r.prefix(i)
	secrets, missing := jobSecrets(j)
	log, err := r.con.openLog(prefix, secret.VarMasks(secrets))
	if err != nil {
		r.con.printf("%s%v", prefix, err)
		return lathe.StatusFailed, err.Error()
	}
	start := time.Now()
	started := "▶ started"
	if j.Stage != pipeline.DefaultStage {
		started += " in stage " + j.Stage
	}
	r.con.printf("%s%s", prefix, r.con.paint(bold, started))
	for _, s := range missing {
		msg := "secret " + s.Name + " is not set; on this machine secrets come from the environment"
		if s.Encrypted != "" {
			msg = "secret " + s.Name + " is encrypted in the pipeline file and only the server can open it; the job runs without it unless " + s.Name + " is set in the environment"
		}
		r.con.printf("%s%s", prefix, r.con.paint(yellow, msg))
	}
	var st lathe.Status
	var reason string
	for attempt := 1; ; attempt++ {
		st, reason = r.attempt(ctx, j, i, attempt, secrets, log)
		if st == lathe.StatusSuccess || !retries(j.Retry, st, attempt) || ctx.Err() != nil {
			break
		}
		fmt.Fprintf(log.W, "%c%s\n", headerMark, r.con.paint(yellow, fmt.Sprintf("↻ %s: attempt %d of %d", reason, attempt+1, j.Retry.Count+1)))
	}
	log.close()
	mark := r.con.paint(green, "✓ "+string(st))
	if st != lathe.StatusSuccess {
		mark = r.con.paint(red, "✗ "+string(st))
	}
	line := fmt.Sprintf("%s%s in %s", prefix, mark, round(time.Since(start)))
	if reason != "" {
		line += ": " + reason
	}
	r.con.printf("%s", line)
	return st, reason
}

// jobSecrets reads the secrets the job names from this process's environment,
// the only place a local run can have them from; passing them as the
// Assignment's secrets keeps the agent's rule that a secret wins over an
// env value of its name. It also returns the secrets that are not set.
// A value encrypted in the pipeline file is no exception: only the server
// holds the project's private key, so here it too comes from the
// environment, and the job runs without it (with a notice) when unset.
func jobSecrets(j *pipeline.Job) (vals []lathe.EnvVar, missing []pipeline.SecretRef) {
	for _, s := range j.Secrets {
		if v, ok := os.LookupEnv(s.Name); ok {
			vals = append(vals, lathe.EnvVar{Name: s.Name, Value: v})
		} else {
			missing = append(missing, s)
		}
	}
	return vals, missing
}

// retries reports whether an attempt that ended in st is tried again.
func retries(rt pipeline.Retry, st lathe.Status, attempt int) bool {
	if attempt > rt.Count {
		return false
	}
	switch st {
	case lathe.StatusFailed:
		return slices.Contains(rt.On, pipeline.RetryFailure)
	case lathe.StatusTimedOut:
		return slices.Contains(rt.On, pipeline.RetryTimeout)
	}
	return false
}

// attempt runs the job's steps once, as an agent does (agent/job_runner.go):
// in a workspace of its own (unless the run shares its directory), through
// the same executor, job environment and step statuses, stopping at the
// first failure except for the actions that run after one (artifacts
// `when: on_failure|always`). Processes the steps left in the background
// end with the attempt, as on an agent.
func (r *run) attempt(ctx context.Context, j *pipeline.Job, i, attempt int, secrets []lathe.EnvVar, log *jobLog) (lathe.Status, string) {
	if j.Timeout > 0 {
		var stop context.CancelFunc
		ctx, stop = context.WithTimeoutCause(ctx, j.Timeout, errTimedOut)
		defer stop()
	}
	jd, err := r.jobDirs(ctx, i, attempt)
	if err != nil {
		fmt.Fprintf(log.W, "%v\n", err)
		return stopStatus(ctx, lathe.StatusFailed), err.Error()
	}
	defer jd.remove()
	env := executor.JobEnv(r.baseEnv(jd.home), &lathe.Assignment{
		Attempt:  attempt,
		Project:  filepath.Base(r.dir),
		Pipeline: r.pl.Name,
		Stage:    j.Stage,
		Job:      j.Name,
		Commit:   r.repo.commit,
		Ref:      r.repo.ref,
		Branch:   r.repo.branch,
		Event:    Event,
		Env:      pipeline.MergeEnv(j.Env, r.opts.Env),
		Secrets:  secrets,
	}, jd.ws)
	spec := executor.Spec{Workspace: jd.ws, Home: jd.home, Control: jd.control, Env: env, Log: log.W}
	var fillErr error // set before Start returns
	if jd.fill != nil {
		spec.Fill = func() error { fillErr = jd.fill(ctx); return fillErr }
		if r.repo.gitDir != "" {
			// As on an agent, the steps read the repository a worktree
			// workspace belongs to (under /tmp, which the sandbox hides,
			// too), so git works in the workspace.
			spec.ReadOnly = []string{commonDir(r.repo.gitDir)}
		}
	}
	job, err := r.start(ctx, spec)
	if err != nil {
		err = fmt.Errorf("cannot start the job's %s executor: %w", r.ex.Isolation(), err)
		if fillErr != nil {
			err = fmt.Errorf("cannot prepare the job's workspace: %w", fillErr)
		}
		fmt.Fprintf(log.W, "%v\n", err)
		return stopStatus(ctx, lathe.StatusFailed), err.Error()
	}
	defer job.Close()
	if record, ok := worktreeRecord(jd.ws); ok && jd.fill != nil {
		// git reads a worktree only when its user owns the worktree's
		// record, as the steps' user owns the workspace.
		if err := job.Own(record); err != nil {
			fmt.Fprintf(log.W, "cannot give the job its workspace's git record: %v\n", err)
			return lathe.StatusFailed, err.Error()
		}
	}
	if c := j.Container; c != nil {
		// Containers need an agent's engine; here the steps run on this
		// machine, which says so.
		fmt.Fprintf(log.W, "%c%s\n", headerMark, r.con.paint(dim, "── image "+c.Image+": lathe exec runs the steps on this machine, not in the image; services are not started"))
	}
	status, reason := lathe.StatusSuccess, ""
	steps := j.Steps
	for k, step := range steps {
		where := fmt.Sprintf("step %d/%d", k+1, len(steps))
		a := step.Action
		if status != lathe.StatusSuccess && !a.RunsAfterFailure() || status == lathe.StatusSuccess && !a.RunsAfterSuccess() ||
			status != lathe.StatusSuccess && ctx.Err() != nil {
			continue
		}
		// A command step is named when its name says more than its
		// command; an action's header says what it does.
		named := step.Name != "" && a == nil && !strings.HasPrefix(firstLine(step.Run), step.Name)
		if named {
			where += ": " + step.Name
		}
		if ctx.Err() != nil {
			return stopStatus(ctx, lathe.StatusCanceled), fmt.Sprintf("%s before %s", stopReason(ctx, j), where)
		}
		st, why := r.step(ctx, job, jd.ws, j, step, where, named, log)
		if st != lathe.StatusSuccess && status == lathe.StatusSuccess {
			status, reason = st, why
		}
	}
	return status, reason
}

// step runs one step of a job and returns its status and, unless it
// succeeded, why not. Headers go through the job's pipe so they stay in
// order with the output of the step before; the mark makes them start a
// line.
func (r *run) step(ctx context.Context, job executor.Job, ws string, j *pipeline.Job, step lathe.StepDef, where string, named bool, log *jobLog) (lathe.Status, string) {
	if a := step.Action; a != nil {
		fmt.Fprintf(log.W, "%c%s\n", headerMark, r.con.paint(dim, "── "+where+": "+describeAction(a)))
		err := r.action(ws, j.Name, a, log.W)
		if err == nil && a.Kind == lathe.ActionDownload {
			err = job.Own(ws)
		}
		if err != nil {
			fmt.Fprintf(log.W, "%v\n", err)
			return lathe.StatusFailed, fmt.Sprintf("%v in %s", err, where)
		}
		return lathe.StatusSuccess, ""
	}
	if named {
		fmt.Fprintf(log.W, "%c%s\n", headerMark, r.con.paint(dim, "── "+where))
	}
	fmt.Fprintf(log.W, "%c%s\n", headerMark, r.con.paint(bold, "$ "+firstLine(step.Run)))
	code, err := job.Run(ctx, executor.Step{Script: step.Run, Output: log.W})
	switch {
	case err != nil && ctx.Err() != nil:
		return stopStatus(ctx, lathe.StatusCanceled), fmt.Sprintf("%s in %s", stopReason(ctx, j), where)
	case err != nil:
		fmt.Fprintf(log.W, "%v\n", err)
		return lathe.StatusFailed, fmt.Sprintf("%v in %s", err, where)
	case code != 0:
		fmt.Fprintf(log.W, "exit status %d\n", code)
		return lathe.StatusFailed, fmt.Sprintf("exit status %d in %s", code, where)
	}
	return lathe.StatusSuccess, ""
}

// describeAction is an action step's header.
func describeAction(a *lathe.StepAction) string {
	switch a.Kind {
	case lathe.ActionUpload:
		return fmt.Sprintf("upload %s (%s)", a.Name, strings.Join(a.Paths, ", "))
	case lathe.ActionDownload:
		return "download " + a.Name
	case lathe.ActionArtifacts:
		return "artifacts (" + strings.Join(a.Paths, ", ") + ")"
	case lathe.ActionCacheRestore:
		return "restore cache " + a.Key
	case lathe.ActionCacheSave:
		return "save cache " + a.Key
	case lathe.ActionTool:
		return "tool " + a.Tool
	}
	return a.Kind
}

// stopStatus names why ctx ended: the job timed out, or the run was
// canceled; def when it has not ended.
func stopStatus(ctx context.Context, def lathe.Status) lathe.Status {
	switch {
	case context.Cause(ctx) == errTimedOut:
		return lathe.StatusTimedOut
	case ctx.Err() != nil:
		return lathe.StatusCanceled
	}
	return def
}

func stopReason(ctx context.Context, j *pipeline.Job) string {
	if context.Cause(ctx) == errTimedOut {
		return fmt.Sprintf("timed out after %s", j.Timeout)
	}
	return "canceled"
}

// firstLine is the first line of a command, with " …" when there are more.
func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}

// round shortens a duration for people: milliseconds under a second,
// tenths of a second above.
func round(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(100 * time.Millisecond)
}
