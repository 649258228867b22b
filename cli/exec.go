package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/executor"
	"github.com/lathe-ci/lathe/local"
	"github.com/lathe-ci/lathe/pipeline"
)

// exitInterrupted is the shell's code for a command stopped by Ctrl-C.
const exitInterrupted = 130

// cmdExec runs a pipeline from a directory on this machine, with no server,
// through the engine and executor the server and agents use (package
// local). The exit code is the run's: 0 only when it succeeded, 130 when
// interrupted.
func execCmd(env *Env) *cobra.Command {
	return env.leaf("exec [PIPELINE]", "run a pipeline from this directory on this machine, with no server", func(fs *pflag.FlagSet) body {
		return execBody(fs, env)
	})
}

func execBody(fs *pflag.FlagSet, env *Env) body {
	job := fs.String("job", "", "run only this job and the jobs it needs")
	var params, vars keyValues
	fs.Var(&params, "param", "`K=V`: a parameter of the run (repeatable)")
	fs.Var(&vars, "env", "`K=V`: set in every job's environment, over the pipeline's and job's own (repeatable)")
	event := fs.String("event", "", "the `kind` of event that when: conditions see: push, pull_request, tag, schedule, manual, webhook or pipeline (default: from the repository, as a server sees a push: push on a branch, tag at a detached tag, else manual; LATHE_EVENT is exec either way)")
	approve := fs.Bool("approve", false, "answer approval gates and run the jobs behind them (default: skip them and their dependents)")
	dir := fs.String("dir", ".", "directory holding .lathe.yml or .lathe/*.yml; each job gets its own copy of it as it is now (uncommitted changes included, ignored files left out)")
	shared := fs.Bool("shared-workspace", false, "run every job in --dir itself, as you (shell executor), instead of in a copy of its own; jobs then see each other's files")
	var exOpts executor.Options
	fs.StringVar(&exOpts.Kind, "executor", "", "where steps run: sandbox (bubblewrap, as on an agent: only the job's workspace is writable) or shell (as you, no isolation) (default: sandbox; shell with --shared-workspace)")
	fs.StringVar(&exOpts.JobUser, "job-user", "nobody", "with the sandbox, run as root: the user steps run as, a name or UID[:GID]")
	parallel := fs.Int("parallel", 1, "how many jobs may run at once")
	grace := fs.Duration("grace", 10*time.Second, "after Ctrl-C, how long a step has between SIGTERM and SIGKILL")
	return func(ctx context.Context, pos []string) int {
		if len(pos) > 1 {
			return badUsage
		}
		opts := local.Options{
			Dir:             *dir,
			Job:             *job,
			Event:           *event,
			Env:             vars.vars,
			Approve:         *approve,
			Parallel:        *parallel,
			Grace:           *grace,
			SharedWorkspace: *shared,
			Executor:        exOpts,
			Out:             env.Stdout,
			Color:           colorOn(env),
		}
		if len(pos) == 1 {
			opts.Pipeline = pos[0]
		}
		if len(params.vars) > 0 {
			opts.Params = map[string]string{}
			for _, p := range params.vars {
				opts.Params[p.Name] = p.Value
			}
		}
		ctx, outputClosed, stop := stopOnClosedOutput(ctx)
		defer stop()
		res, err := local.Run(ctx, opts)
		if outputClosed() {
			return exitClosedOutput // quietly, as `yes | head` does
		}
		var invalid pipeline.ErrorList
		var badParams pipeline.ParamErrors
		switch {
		case errors.As(err, &invalid):
			fmt.Fprintf(env.Stderr, "lathe: the pipeline files are invalid:\n%v\n", invalid)
			return 1
		case errors.As(err, &badParams):
			for _, e := range badParams {
				fmt.Fprintf(env.Stderr, "lathe: %v\n", e)
			}
			return 1
		case err != nil:
			return fail(env, err)
		case ctx.Err() != nil:
			return exitInterrupted
		case res.Status != lathe.StatusSuccess:
			return 1
		}
		return 0
	}
}

// keyValues is a repeatable K=V flag, kept in the order given.
type keyValues struct{ vars []lathe.EnvVar }

func (kv *keyValues) String() string {
	var s []string
	for _, v := range kv.vars {
		s = append(s, v.Name+"="+v.Value)
	}
	return strings.Join(s, " ")
}

func (kv *keyValues) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want K=V, got %q", s)
	}
	kv.vars = append(kv.vars, lathe.EnvVar{Name: k, Value: v})
	return nil
}

func (kv *keyValues) Type() string { return "K=V" }

// colorOn reports whether output may be colored: stdout is a terminal and
// NO_COLOR (https://no-color.org) is unset or empty.
func colorOn(env *Env) bool {
	if env.Getenv != nil && env.Getenv("NO_COLOR") != "" {
		return false
	}
	return isTerminal(env.Stdout)
}

// isTerminal reports whether w is a character device such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
