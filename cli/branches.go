package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	lathe "github.com/lathe-ci/lathe"
)

const branchLong = `Lathe tracks the branches its runs and forge hooks show it. An owner sets a
branch's env (added to every job of its runs after the pipeline's and the job's
env: for the same name the branch's value wins) and its retention numbers.
Deleting a branch forgets it and its settings, never its runs.`

// branchCmd lists, shows, sets and forgets a project's tracked branches.
func branchCmd(env *Env) *cobra.Command {
	base := func(project string) string { return "/api/v1/projects/" + url.PathEscape(project) + "/branches" }
	// one is the path of one branch: a slash in its name is sent as %2F.
	one := func(pos []string) string { return base(pos[0]) + "/" + url.PathEscape(pos[1]) }

	list := env.leaf("list PROJECT", "list a project's tracked branches, newest first", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		pg := pageFlags(fs, "branches", 20, 200)
		out := outputFlags(fs, true)
		out.key = "name"
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 1 {
				return badUsage
			}
			var page lathe.Page[*lathe.Branch]
			if err := out.wrap(mk().Do)(ctx, http.MethodGet, base(pos[0])+"?"+pg.query(url.Values{}), nil, &page); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, page)
			}
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tHEAD\tLAST SEEN\tENV\tKEEP RUNS\tKEEP DAYS")
			for _, b := range page.Items {
				fmt.Fprintf(tw, "%s\t%.12s\t%s\t%s\t%s\t%s\n", field(b.Name), field(b.HeadCommit), b.LastSeenAt.Local().Format("2006-01-02 15:04:05"),
					branchEnvNames(b.Settings.Env), branchIntOr(b.Settings.KeepRuns, "default"), branchIntOr(b.Settings.KeepDays, "default"))
			}
			tw.Flush()
			printMore(env, page.Next)
			return 0
		}
	})

	show := answerCmd(env, "get PROJECT BRANCH", "show a branch: its head, the last run of each pipeline, its runs by status and its settings", 2, false,
		noFlags(func(pos []string) request { return get(one(pos)) }),
		func(env *Env, b *lathe.Branch, _ []string) { printBranch(env, b) })

	update := env.leaf("update PROJECT BRANCH", "set a branch's env (--env NAME=VALUE, --clear-env) and retention (--keep-runs, --keep-days, --ci-logs, …); owners", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		vars := fs.StringArray("env", nil, "a variable of the branch's env as `NAME=VALUE` (repeat it); the list given replaces the branch's")
		clearEnv := fs.Bool("clear-env", false, "empty the branch's env")
		keepRuns := fs.Int("keep-runs", 0, "keep the branch's newest `N` runs (0: back to the server's default)")
		keepDays := fs.Int("keep-days", 0, "keep the branch's runs `DAYS` days (0: back to the server's default)")
		retention := []struct{ flag, key, help string }{
			{"ci-logs", "ci_logs", "keep the logs of CI runs `DAYS` days (0: forever)"},
			{"ci-artifacts", "ci_artifacts", "keep the artifacts of CI runs `DAYS` days; a job's expire_in wins (0: forever)"},
			{"manual-logs", "manual_logs", "keep the logs of manual runs `DAYS` days (0: forever)"},
			{"manual-artifacts", "manual_artifacts", "keep the artifacts of manual runs `DAYS` days; a job's expire_in wins (0: forever)"},
		}
		days := make([]*int, len(retention))
		for i, r := range retention {
			days[i] = fs.Int(r.flag, 0, r.help)
		}
		out := outputFlags(fs, false)
		// orNull is n, or null (the default) for 0.
		orNull := func(n int) any {
			if n == 0 {
				return nil
			}
			return n
		}
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 2 {
				return badUsage
			}
			in := map[string]any{}
			var changed []string
			switch {
			case *clearEnv && fs.Changed("env"):
				return fail(env, errors.New("--env and --clear-env: give one"))
			case *clearEnv:
				in["env"] = []lathe.EnvVar{}
				changed = append(changed, "env")
			case fs.Changed("env"):
				list := []lathe.EnvVar{}
				for _, v := range *vars {
					name, value, ok := strings.Cut(v, "=")
					if !ok || name == "" {
						return fail(env, fmt.Errorf("--env %q: want NAME=VALUE", v))
					}
					list = append(list, lathe.EnvVar{Name: name, Value: value})
				}
				in["env"] = list
				changed = append(changed, "env")
			}
			if fs.Changed("keep-runs") {
				in["keep_runs"] = orNull(*keepRuns)
				changed = append(changed, "keep runs")
			}
			if fs.Changed("keep-days") {
				in["keep_days"] = orNull(*keepDays)
				changed = append(changed, "keep days")
			}
			rt := map[string]any{}
			for i, r := range retention {
				if fs.Changed(r.flag) {
					rt[r.key] = orNull(*days[i])
					changed = append(changed, strings.ReplaceAll(r.flag, "-", " "))
				}
			}
			if len(rt) > 0 {
				in["retention"] = rt
			}
			if len(in) == 0 {
				return fail(env, errors.New("nothing to change: give --env, --clear-env, --keep-runs, --keep-days, --ci-logs, --ci-artifacts, --manual-logs or --manual-artifacts"))
			}
			var b lathe.Branch
			if err := out.wrap(mk().Do)(ctx, http.MethodPatch, one(pos), in, &b); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, b)
			}
			fmt.Fprintf(env.Stdout, "branch %s of %s updated: %s\n", field(pos[1]), field(pos[0]), strings.Join(changed, ", "))
			return 0
		}
	})

	del := deleteCmd(env, "delete PROJECT BRANCH", "forget a branch and its settings (its runs stay); owners", 2,
		func(pos []string) string { return one(pos) },
		func(pos []string) string {
			return fmt.Sprintf("branch %s of %s forgotten (its runs stay)", field(pos[1]), field(pos[0]))
		})
	return group("branch", "manage a project's tracked branches (list, get, update, delete): their env and retention", branchLong,
		list, show, update, del)
}

// printBranch prints one branch: its head, settings, last runs and counts.
func printBranch(env *Env, b *lathe.Branch) {
	paint := newPainter(env)
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "branch:\t%s of %s\n", field(b.Name), field(b.Project))
	fmt.Fprintf(tw, "head:\t%s\n", field(b.HeadCommit))
	fmt.Fprintf(tw, "last seen:\t%s\n", b.LastSeenAt.Local().Format("2006-01-02 15:04:05"))
	fmt.Fprintf(tw, "tracked since:\t%s\n", b.CreatedAt.Local().Format("2006-01-02 15:04:05"))
	if len(b.Settings.Env) == 0 {
		fmt.Fprintf(tw, "env:\t-\n")
	}
	for i, v := range b.Settings.Env {
		label := ""
		if i == 0 {
			label = "env:"
		}
		fmt.Fprintf(tw, "%s\t%s=%s\n", label, field(v.Name), field(v.Value))
	}
	s, rt := b.Settings, b.Settings.Retention
	fmt.Fprintf(tw, "keep runs:\t%s\n", branchIntOr(s.KeepRuns, "server default"))
	fmt.Fprintf(tw, "keep days:\t%s\n", branchIntOr(s.KeepDays, "server default"))
	fmt.Fprintf(tw, "retention (days):\tCI logs %s, CI artifacts %s, manual logs %s, manual artifacts %s\n",
		branchIntOr(rt.CILogs, "forever"), branchIntOr(rt.CIArtifacts, "forever"), branchIntOr(rt.ManualLogs, "forever"), branchIntOr(rt.ManualArtifacts, "forever"))
	statuses := make([]string, 0, len(b.RunCounts))
	for st := range b.RunCounts {
		statuses = append(statuses, string(st))
	}
	sort.Strings(statuses)
	counts := make([]string, 0, len(statuses))
	for _, st := range statuses {
		counts = append(counts, fmt.Sprintf("%s %d", paint.status(st), b.RunCounts[lathe.Status(st)]))
	}
	if len(counts) == 0 {
		counts = []string{"none"}
	}
	fmt.Fprintf(tw, "runs:\t%s\n", strings.Join(counts, ", "))
	tw.Flush()
	if len(b.LastRuns) == 0 {
		return
	}
	fmt.Fprintln(env.Stdout)
	tw = tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "PIPELINE\tRUN\tNUMBER\t%s\tCOMMIT\tEVENT\tCREATED\n", paint.header("STATUS"))
	for _, r := range b.LastRuns {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%.12s\t%s\t%s\n", field(r.Pipeline), r.ID, r.Number, paint.status(string(r.Status)), field(r.Commit),
			field(r.Event), r.CreatedAt.Local().Format("2006-01-02 15:04:05"))
	}
	tw.Flush()
}

// branchEnvNames is the names of a branch's env, or "-".
func branchEnvNames(vars []lathe.EnvVar) string {
	if len(vars) == 0 {
		return "-"
	}
	names := make([]string, len(vars))
	for i, v := range vars {
		names[i] = v.Name
	}
	return fields(names)
}

// branchIntOr is *n, or what nil means.
func branchIntOr(n *int, none string) string {
	if n == nil {
		return none
	}
	return strconv.Itoa(*n)
}
