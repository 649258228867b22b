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
	return group("release", "manage release candidates: create, list, get, final; promote what runs in an environment to the next", releaseLong,
		create, list, get, final, promote)
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
