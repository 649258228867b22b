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
)

var errTimedOut = errors.New("job timed out")

// runJob runs job i to the end, retrying a failed attempt as its `retry`
// allows, and returns the job's status and, unless it succeeded, why.
func (r *run) runJob(ctx context.Context, i int) (lathe.Status, string) {
	j := r.jobs[i]
	prefix := r.prefix(i)
	log, err := r.con.openLog(prefix)
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
	secrets, missing := jobSecrets(j)
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
		st, reason = r.attempt(ctx, j, attempt, secrets, log)
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

// attempt runs the job's steps once, in order in the run's directory,
// stopping at the first failure, as an agent does (agent/job_runner.go):
// the same shell executor, job environment and step statuses. Processes
// the steps left in the background end with the attempt, as on an agent.
func (r *run) attempt(ctx context.Context, j *pipeline.Job, attempt int, secrets []lathe.EnvVar, log *jobLog) (lathe.Status, string) {
	if j.Timeout > 0 {
		var stop context.CancelFunc
		ctx, stop = context.WithTimeoutCause(ctx, j.Timeout, errTimedOut)
		defer stop()
	}
	env := executor.JobEnv(os.Environ(), &lathe.Assignment{
		Attempt:  attempt,
		Project:  filepath.Base(r.dir),
		Pipeline: r.pl.Name,
		Stage:    j.Stage,
		Job:      j.Name,
		Commit:   r.head.commit,
		Ref:      r.head.ref,
		Branch:   r.head.branch,
		Event:    Event,
		Env:      pipeline.MergeEnv(j.Env, r.opts.Env),
		Secrets:  secrets,
	}, r.dir)
	// lathe exec runs on the user's own machine, in the user's own
	// environment, like the commands they type.
	sh := &executor.Shell{Grace: r.opts.Grace, Dir: r.dir, Env: env}
	defer sh.Close()
	if c := j.Container; c != nil {
		// Containers need an agent's engine and a checkout of their own;
		// here the steps run as the user typed them, which says so.
		fmt.Fprintf(log.W, "%c%s\n", headerMark, r.con.paint(dim, "── image "+c.Image+": lathe exec runs the steps on this machine, not in the image; services are not started"))
	}
	steps := j.Steps
	for k, step := range steps {
		where := fmt.Sprintf("step %d/%d", k+1, len(steps))
		a := step.Action
		// A step is named when its name says more than its command (or
		// than its action's kind).
		named := step.Name != "" && (a == nil && !strings.HasPrefix(firstLine(step.Run), step.Name) || a != nil && step.Name != a.Kind)
		if named {
			where += ": " + step.Name
		}
		if ctx.Err() != nil {
			return stopStatus(ctx), fmt.Sprintf("%s before %s", stopReason(ctx, j), where)
		}
		// Headers go through the job's pipe so they stay in order with the
		// output of the step before; the mark makes them start a line.
		if a != nil {
			fmt.Fprintf(log.W, "%c%s\n", headerMark, r.con.paint(dim, "── "+where+": "+actionNote(a)))
			continue
		}
		if named {
			fmt.Fprintf(log.W, "%c%s\n", headerMark, r.con.paint(dim, "── "+where))
		}
		fmt.Fprintf(log.W, "%c%s\n", headerMark, r.con.paint(bold, "$ "+firstLine(step.Run)))
		code, err := sh.Run(ctx, executor.Step{Script: step.Run, Output: log.W})
		switch {
		case err != nil && ctx.Err() != nil:
			return stopStatus(ctx), fmt.Sprintf("%s in %s", stopReason(ctx, j), where)
		case err != nil:
			fmt.Fprintf(log.W, "%v\n", err)
			return lathe.StatusFailed, fmt.Sprintf("%v in %s", err, where)
		case code != 0:
			fmt.Fprintf(log.W, "exit status %d\n", code)
			return lathe.StatusFailed, fmt.Sprintf("exit status %d in %s", code, where)
		}
	}
	return lathe.StatusSuccess, ""
}

// actionNote says what a built-in action amounts to here: nothing, since
// every job runs in the one working directory, which is already checked out
// and where uploaded files stay for later jobs.
func actionNote(a *lathe.StepAction) string {
	switch a.Kind {
	case lathe.ActionCheckout:
		return "checkout: the working directory is used as it is"
	case lathe.ActionUpload:
		return "upload " + a.Name + ": the files stay in the working directory, which later jobs share"
	case lathe.ActionDownload:
		return "download " + a.Name + ": the working directory already holds what earlier jobs left"
	case lathe.ActionArtifacts:
		return "artifacts: the files stay in the working directory; a server keeps them"
	case lathe.ActionCacheRestore, lathe.ActionCacheSave:
		return "cache " + a.Key + ": this machine's own directories are used as they are"
	case lathe.ActionTool:
		return "tool " + a.Tool + ": tools are published on a server and run by its agents; skipped here"
	}
	return a.Kind + ": not done on this machine"
}

// stopStatus names why ctx ended: the job timed out, or the run was canceled.
func stopStatus(ctx context.Context) lathe.Status {
	if context.Cause(ctx) == errTimedOut {
		return lathe.StatusTimedOut
	}
	return lathe.StatusCanceled
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
