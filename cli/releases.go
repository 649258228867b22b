package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	lathe "github.com/lathe-ci/lathe"
)

const releaseLong = `A release is a version; each of its candidates (VERSION-rc1, -rc2, ...) is one commit.
(lathe promote moves a run in its queue; deployment promotion is lathe release promote.)`

func releaseCmd(env *Env) *cobra.Command {
	base := func(project string) string { return "/api/v1/projects/" + url.PathEscape(project) }
	// one is a command answering with one release.
	one := func(use, short string, flags func(fs *pflag.FlagSet) func(pos []string) (string, string, any)) *cobra.Command {
		return env.leaf(use, short, func(fs *pflag.FlagSet) body {
			mk := clientFlags(fs, env)
			req := flags(fs)
			out := outputFlags(fs, false)
			return func(ctx context.Context, pos []string) int {
				if len(pos) != 2 {
					return badUsage
				}
				method, path, in := req(pos)
				var rl lathe.Release
				if err := out.wrap(mk().Do)(ctx, method, path, in, &rl); err != nil {
					return fail(env, err)
				}
				if out.structured() {
					return out.print(env, rl)
				}
				printReleases(env, []*lathe.Release{&rl})
				return 0
			}
		})
	}
	create := one("create PROJECT VERSION-rcN --commit SHA", "make a release candidate of a commit (--build: run the build pipeline for it)", func(fs *pflag.FlagSet) func([]string) (string, string, any) {
		commit := fs.String("commit", "", "the full commit ID of the candidate")
		build := fs.Bool("build", false, "run the build pipeline; the candidate is ready when it succeeds")
		buildPipeline := fs.String("build-pipeline", "", "the build pipeline --build runs (default: the project's release settings', \"build\" unless set)")
		return func(pos []string) (string, string, any) {
			in := map[string]any{"commit": *commit, "trigger_build": *build, "build_pipeline": *buildPipeline}
			return http.MethodPost, base(pos[0]) + "/releases/" + url.PathEscape(pos[1]), in
		}
	})
	get := one("get PROJECT VERSION", "show a release and its candidates", func(fs *pflag.FlagSet) func([]string) (string, string, any) {
		return func(pos []string) (string, string, any) {
			return http.MethodGet, base(pos[0]) + "/releases/" + url.PathEscape(pos[1]), nil
		}
	})
	final := one("final PROJECT VERSION", "mark a release final: it takes no more candidates", func(fs *pflag.FlagSet) func([]string) (string, string, any) {
		return func(pos []string) (string, string, any) {
			return http.MethodPost, base(pos[0]) + "/releases/" + url.PathEscape(pos[1]) + "/final", nil
		}
	})
	list := env.leaf("list PROJECT", "list a project's releases and their candidates", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		out := outputFlags(fs, false)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 1 {
				return badUsage
			}
			var list struct {
				Items []*lathe.Release `json:"items"`
			}
			if err := out.wrap(mk().Do)(ctx, http.MethodGet, base(pos[0])+"/releases", nil, &list); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, list)
			}
			printReleases(env, list.Items)
			return 0
		}
	})
	promote := env.leaf("promote PROJECT ENV", "deploy what runs in ENV to the next environment", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		out := outputFlags(fs, false)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 2 {
				return badUsage
			}
			return deployCall(ctx, env, out, mk().Do, base(pos[0])+"/environments/"+url.PathEscape(pos[1])+"/promote", nil)
		}
	})
	deployments := env.leaf("deployments PROJECT VERSION", "list the deployments of a release's candidates (VERSION or VERSION-rcN), newest first", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		out := outputFlags(fs, true)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 2 {
				return badUsage
			}
			var list struct {
				Items []*lathe.Deployment `json:"items"`
			}
			if err := out.wrap(mk().Do)(ctx, http.MethodGet, base(pos[0])+"/releases/"+url.PathEscape(pos[1])+"/deployments", nil, &list); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, list)
			}
			paint := newPainter(env)
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "ID\tENVIRONMENT\tVERSION\tCOMMIT\t%s\tRUN\tBY\tWHEN\n", paint.header("STATUS"))
			for _, d := range list.Items {
				run := "-"
				if d.RunID != 0 {
					run = fmt.Sprint(d.RunID)
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%.12s\t%s\t%s\t%s\t%s\n", d.ID, field(d.Environment), field(d.Version), d.Commit,
					paint.status(d.Status), run, field(d.CreatedBy), d.CreatedAt.Local().Format("2006-01-02 15:04"))
			}
			tw.Flush()
			return 0
		}
	})
	settings := env.leaf("settings PROJECT [--build-pipeline P]", "show a project's release settings, or (--build-pipeline) set the pipeline a candidate's build runs", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		buildPipeline := fs.String("build-pipeline", "", "set the pipeline create --build runs when it names none (default \""+lathe.DefaultBuildPipeline+"\")")
		out := outputFlags(fs, false)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 1 {
				return badUsage
			}
			method, in := http.MethodGet, any(nil)
			if fs.Changed("build-pipeline") {
				method, in = http.MethodPut, map[string]string{"build_pipeline": *buildPipeline}
			}
			var rs lathe.ReleaseSettings
			if err := out.wrap(mk().Do)(ctx, method, base(pos[0])+"/release-settings", in, &rs); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, rs)
			}
			if method == http.MethodPut {
				fmt.Fprintf(env.Stdout, "release settings of %s: build pipeline %s\n", field(pos[0]), field(rs.BuildPipeline))
				return 0
			}
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "BUILD PIPELINE\tUPDATED\tBY")
			updated, by := "- (the default)", "-"
			if rs.UpdatedAt != nil {
				updated, by = rs.UpdatedAt.Local().Format("2006-01-02 15:04:05"), field(rs.UpdatedBy)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", field(rs.BuildPipeline), updated, by)
			tw.Flush()
			return 0
		}
	})
	return group("release", "manage release candidates: create, list, get, final, their deployments, the release settings; promote what runs in an environment to the next", releaseLong,
		create, list, get, final, deployments, settings, promote)
}

// printReleases prints one line per candidate.
func printReleases(env *Env, rls []*lathe.Release) {
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CANDIDATE\tSTATUS\tCOMMIT\tFINAL\tBY")
	for _, rl := range rls {
		for _, cd := range rl.Candidates {
			fmt.Fprintf(tw, "%s\t%s\t%.12s\t%t\t%s\n", field(cd.Version), cd.Status, cd.Commit, rl.Final, field(cd.CreatedBy))
		}
	}
	tw.Flush()
}

// doFunc is client.Client.Do.
type doFunc func(ctx context.Context, method, path string, body, out any) error

// deployCall starts a deployment and prints it.
func deployCall(ctx context.Context, env *Env, out *output, do doFunc, path string, body any) int {
	var d lathe.Deployment
	if err := out.wrap(do)(ctx, http.MethodPost, path, body, &d); err != nil {
		return fail(env, err)
	}
	if out.structured() {
		return out.print(env, d)
	}
	fmt.Fprintf(env.Stdout, "deployment %d: %s to %s, %s (run %d)\n", d.ID, field(d.Version), field(d.Environment), d.Status, d.RunID)
	return 0
}

// deployCmd deploys a release candidate to an environment.
func deployCmd(env *Env) *cobra.Command {
	return env.leaf("deploy PROJECT ENV VERSION-rcN", "deploy a release candidate to an environment", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		out := outputFlags(fs, true)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 3 {
				return badUsage
			}
			path := "/api/v1/projects/" + url.PathEscape(pos[0]) + "/environments/" + url.PathEscape(pos[1]) + "/deployments"
			return deployCall(ctx, env, out, mk().Do, path, map[string]string{"release_candidate_version": pos[2]})
		}
	})
}

// rollbackCmd deploys an environment's previous successful candidate again.
func rollbackCmd(env *Env) *cobra.Command {
	return env.leaf("rollback PROJECT ENV", "deploy an environment's previous successful candidate again", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		out := outputFlags(fs, true)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 2 {
				return badUsage
			}
			path := "/api/v1/projects/" + url.PathEscape(pos[0]) + "/environments/" + url.PathEscape(pos[1]) + "/rollback"
			return deployCall(ctx, env, out, mk().Do, path, nil)
		}
	})
}

// environmentsCmd shows what runs where: each environment of a project
// with its current deployment.
func environmentsCmd(env *Env) *cobra.Command {
	return env.leaf("environments PROJECT", "show what runs where: each environment of a project with its current version", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		out := outputFlags(fs, false)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 1 {
				return badUsage
			}
			var m struct {
				Items []*lathe.MatrixRow `json:"items"`
			}
			if err := out.wrap(mk().Do)(ctx, http.MethodGet, "/api/v1/projects/"+url.PathEscape(pos[0])+"/deployments", nil, &m); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, m)
			}
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ENVIRONMENT\tVERSION\tCOMMIT\tDEPLOYED")
			for _, row := range m.Items {
				if row.Current == nil {
					fmt.Fprintf(tw, "%s\t-\t-\t-\n", field(row.Environment))
					continue
				}
				fmt.Fprintf(tw, "%s\t%s\t%.12s\t%s\n", field(row.Environment), field(row.Current.Version), row.Current.Commit, row.Current.CreatedAt.Local().Format("2006-01-02 15:04:05"))
			}
			tw.Flush()
			return 0
		}
	})
}
