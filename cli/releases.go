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
	release := func(pos []string) string { return base(pos[0]) + "/releases/" + url.PathEscape(pos[1]) }
	showRelease := func(env *Env, rl *lathe.Release, _ []string) { printReleases(env, []*lathe.Release{rl}) }
	create := answerCmd(env, "create PROJECT VERSION-rcN --commit SHA", "make a release candidate of a commit (--build: run the build pipeline for it)", 2, false,
		func(fs *pflag.FlagSet) func([]string) (request, error) {
			commit := fs.String("commit", "", "the full commit ID of the candidate")
			build := fs.Bool("build", false, "run the build pipeline; the candidate is ready when it succeeds")
			buildPipeline := fs.String("build-pipeline", "", "the build pipeline --build runs (default: the project's release settings', \"build\" unless set)")
			return func(pos []string) (request, error) {
				in := map[string]any{"commit": *commit, "trigger_build": *build, "build_pipeline": *buildPipeline}
				return request{method: http.MethodPost, path: release(pos), body: in}, nil
			}
		}, showRelease)
	show := answerCmd(env, "get PROJECT VERSION", "show a release and its candidates", 2, false,
		noFlags(func(pos []string) request { return get(release(pos)) }), showRelease)
	final := answerCmd(env, "final PROJECT VERSION", "mark a release final: it takes no more candidates", 2, false,
		noFlags(func(pos []string) request { return request{method: http.MethodPost, path: release(pos) + "/final"} }), showRelease)
	list := answerCmd(env, "list PROJECT", "list a project's releases and their candidates, newest first", 1, false,
		func(fs *pflag.FlagSet) func([]string) (request, error) {
			page := pageFlags(fs, "releases", 20, 200)
			return func(pos []string) (request, error) {
				return get(base(pos[0]) + "/releases?" + page.query(url.Values{})), nil
			}
		},
		func(env *Env, list *lathe.Page[*lathe.Release], _ []string) {
			printReleases(env, list.Items)
			printMore(env, list.Next)
		})
	promote := answerCmd(env, "promote PROJECT ENV", "deploy what runs in ENV to the next environment", 2, true,
		noFlags(func(pos []string) request {
			return request{method: http.MethodPost, path: base(pos[0]) + "/environments/" + url.PathEscape(pos[1]) + "/promote"}
		}), printDeployed)
	type deployments lathe.Page[*lathe.Deployment]
	deploymentsOf := answerCmd(env, "deployments PROJECT VERSION", "list the deployments of a release's candidates (VERSION or VERSION-rcN), newest first", 2, true,
		func(fs *pflag.FlagSet) func([]string) (request, error) {
			page := pageFlags(fs, "deployments", 20, 200)
			return func(pos []string) (request, error) {
				return get(release(pos) + "/deployments?" + page.query(url.Values{})), nil
			}
		},
		func(env *Env, list *deployments, _ []string) {
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
			printMore(env, list.Next)
		})
	var setSettings bool // whether settings sets them (--build-pipeline) rather than shows them
	settings := answerCmd(env, "settings PROJECT [--build-pipeline P]", "show a project's release settings, or (--build-pipeline) set the pipeline a candidate's build runs", 1, false,
		func(fs *pflag.FlagSet) func([]string) (request, error) {
			buildPipeline := fs.String("build-pipeline", "", "set the pipeline create --build runs when it names none (default \""+lathe.DefaultBuildPipeline+"\")")
			return func(pos []string) (request, error) {
				r := get(base(pos[0]) + "/release-settings")
				if setSettings = fs.Changed("build-pipeline"); setSettings {
					r.method, r.body = http.MethodPut, map[string]string{"build_pipeline": *buildPipeline}
				}
				return r, nil
			}
		},
		func(env *Env, rs *lathe.ReleaseSettings, pos []string) {
			if setSettings {
				fmt.Fprintf(env.Stdout, "release settings of %s: build pipeline %s\n", field(pos[0]), field(rs.BuildPipeline))
				return
			}
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "BUILD PIPELINE\tUPDATED\tBY")
			updated, by := "- (the default)", "-"
			if rs.UpdatedAt != nil {
				updated, by = rs.UpdatedAt.Local().Format("2006-01-02 15:04:05"), field(rs.UpdatedBy)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", field(rs.BuildPipeline), updated, by)
			tw.Flush()
		})
	return group("release", "manage release candidates: create, list, get, final, their deployments, the release settings; promote what runs in an environment to the next", releaseLong,
		create, list, show, final, deploymentsOf, settings, promote)
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

// printDeployed prints the deployment a command started.
func printDeployed(env *Env, d *lathe.Deployment, _ []string) {
	fmt.Fprintf(env.Stdout, "deployment %d: %s to %s, %s (run %d)\n", d.ID, field(d.Version), field(d.Environment), d.Status, d.RunID)
}

// deployCmd deploys a release candidate to an environment.
func deployCmd(env *Env) *cobra.Command {
	return answerCmd(env, "deploy PROJECT ENV VERSION-rcN", "deploy a release candidate to an environment", 3, true,
		noFlags(func(pos []string) request {
			path := "/api/v1/projects/" + url.PathEscape(pos[0]) + "/environments/" + url.PathEscape(pos[1]) + "/deployments"
			return request{method: http.MethodPost, path: path, body: map[string]string{"release_candidate_version": pos[2]}}
		}), printDeployed)
}

// rollbackCmd deploys an environment's previous successful candidate again.
func rollbackCmd(env *Env) *cobra.Command {
	return answerCmd(env, "rollback PROJECT ENV", "deploy an environment's previous successful candidate again", 2, true,
		noFlags(func(pos []string) request {
			path := "/api/v1/projects/" + url.PathEscape(pos[0]) + "/environments/" + url.PathEscape(pos[1]) + "/rollback"
			return request{method: http.MethodPost, path: path}
		}), printDeployed)
}

// environmentsCmd shows what runs where: each environment of a project
// with its current deployment.
func environmentsCmd(env *Env) *cobra.Command {
	type matrix items[*lathe.MatrixRow]
	return answerCmd(env, "environments PROJECT", "show what runs where: each environment of a project with its current version", 1, false,
		noFlags(func(pos []string) request { return get("/api/v1/projects/" + url.PathEscape(pos[0]) + "/deployments") }),
		func(env *Env, m *matrix, _ []string) {
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
		})
}
