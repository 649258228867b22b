package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
)

func logsCmd(env *Env) *cobra.Command {
	return env.leaf("logs RUN", "print a run's logs (-f to follow live)", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		follow := fs.BoolP("follow", "f", false, "stream the logs live until the run ends, saying why jobs wait (Ctrl-C detaches)")
		timestamps := fs.Bool("timestamps", false, "start each line with the time it reached the server (UTC, microseconds)")
		step := fs.String("step", "", "only step `N` of each job's log (0 is the checkout, the pipeline's steps follow); with -f, waits for the step to start")
		attempt := fs.Int("attempt", 0, "only attempt `N` of each job (1 is the first); without it, -f follows every attempt in turn and the plain read prints each job's latest")
		tail := fs.Int("tail", 0, "only the last `N` lines of each job's log (or of what --grep selects; at most 10000)")
		grep := fs.String("grep", "", "only the lines containing `TEXT`, ignoring case, with their line numbers")
		return func(ctx context.Context, pos []string) int {
			id, err := runArg(pos)
			if err != nil {
				return argFail(env, err)
			}
			q := logQuery{step: -1, timestamps: *timestamps}
			if *step != "" {
				if q.step, err = strconv.Atoi(*step); err != nil || q.step < 0 {
					return fail(env, fmt.Errorf("--step %q: want a step's index, 0 or more", *step))
				}
			}
			if *attempt < 0 {
				return fail(env, fmt.Errorf("--attempt %d: want an attempt's number, 1 or more", *attempt))
			}
			q.attempt = *attempt
			lines := lineQuery{logQuery: q, tail: *tail, grep: *grep}
			switch {
			case *tail < 0 || *tail > maxTail:
				return fail(env, fmt.Errorf("--tail %d: want 1 to %d lines", *tail, maxTail))
			case *follow && lines.selects():
				return fail(env, fmt.Errorf("--tail and --grep read what is stored: not with -f"))
			}
			c := mk()
			if *follow {
				return followInteractive(ctx, c, id, env, q)
			}
			if lines.selects() {
				if err := printLines(ctx, c, id, env.Stdout, lines); err != nil {
					return fail(env, err)
				}
				return 0
			}
			if err := printLogs(ctx, c, id, env.Stdout, q); err != nil {
				return fail(env, err)
			}
			return 0
		}
	})
}

// printLogs prints the whole log (or the part q asks for) of every job of
// a run that has one: its latest attempt's, or attempt q.attempt's.
func printLogs(ctx context.Context, c *client.Client, runID int64, w io.Writer, q logQuery) error {
	out := &lockedWriter{w: w}
	return eachJobLog(ctx, c, runID, q, func(j *lathe.Job) error {
		resp, err := c.Request(ctx, http.MethodGet, fmt.Sprintf("/api/v1/jobs/%d/log%s", j.ID, q), nil, nil)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		pw := &prefixWriter{prefix: "[" + j.Name + "] ", out: out}
		_, err = io.Copy(pw, resp.Body)
		pw.Flush()
		return err
	})
}

// eachJobLog calls read for every job of a run whose log q can read, in
// the run's order. Jobs without the attempt, and with a step those that
// never reached it (read answers 404), are left out; it is an error when
// no started job has them.
func eachJobLog(ctx context.Context, c *client.Client, runID int64, q logQuery, read func(j *lathe.Job) error) error {
	var run lathe.Run
	if err := c.Do(ctx, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d", runID), nil, &run); err != nil {
		return err
	}
	asked, printed := 0, 0
	for _, j := range run.Jobs {
		if j.Attempt == 0 || j.Attempt < q.attempt {
			continue
		}
		asked++
		err := read(j)
		if q.step >= 0 && client.StatusOf(err) == http.StatusNotFound {
			continue
		}
		if err != nil {
			return err
		}
		printed++
	}
	switch {
	case q.attempt > 0 && asked == 0:
		return fmt.Errorf("no job of run %d has an attempt %d", runID, q.attempt)
	case asked > 0 && printed == 0:
		return fmt.Errorf("no job of run %d has a step %d (step 0 is the checkout)", runID, q.step)
	}
	return nil
}
