package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"text/tabwriter"

	lathe "github.com/lathe-ci/lathe"
)

const releaseUsage = `Usage:
  lathe release create PROJECT VERSION-rcN --commit SHA [--build [--build-pipeline P]]
  lathe release list PROJECT
  lathe release get PROJECT VERSION
  lathe release final PROJECT VERSION
  lathe release promote PROJECT ENV     deploy what runs in ENV to the next environment
A release is a version; each of its candidates (VERSION-rc1, -rc2, ...) is one commit.
(lathe promote moves a run in its queue; deployment promotion is lathe release promote.)`

func cmdRelease(ctx context.Context, args []string, env *Env) int {
	if len(args) == 0 {
		fmt.Fprintln(env.Stderr, releaseUsage)
		return 2
	}
	sub, args := args[0], args[1:]
	fs := newFlags(env, "release "+sub, "PROJECT [VERSION|ENV]")
	mk := clientFlags(fs, env)
	commit := fs.String("commit", "", "create: the full commit ID of the candidate")
	build := fs.Bool("build", false, "create: run the build pipeline; the candidate is ready when it succeeds")
	buildPipeline := fs.String("build-pipeline", "", "create: the build pipeline --build runs (default: the project's release settings', \"build\" unless set)")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) == 0 {
		fmt.Fprintln(env.Stderr, releaseUsage)
		return 2
	}
	c := mk()
	base := "/api/v1/projects/" + url.PathEscape(pos[0])
	var rls []*lathe.Release
	switch {
	case sub == "create" && len(pos) == 2:
		var rl lathe.Release
		in := map[string]any{"commit": *commit, "trigger_build": *build, "build_pipeline": *buildPipeline}
		if err := c.Do(ctx, http.MethodPost, base+"/releases/"+url.PathEscape(pos[1]), in, &rl); err != nil {
			return fail(env, err)
		}
		rls = []*lathe.Release{&rl}
	case sub == "list" && len(pos) == 1:
		var list struct {
			Items []*lathe.Release `json:"items"`
		}
		if err := c.Do(ctx, http.MethodGet, base+"/releases", nil, &list); err != nil {
			return fail(env, err)
		}
		if *asJSON {
			return printJSON(env, list)
		}
		rls = list.Items
	case (sub == "get" || sub == "final") && len(pos) == 2:
		var rl lathe.Release
		method, path := http.MethodGet, base+"/releases/"+url.PathEscape(pos[1])
		if sub == "final" {
			method, path = http.MethodPost, path+"/final"
		}
		if err := c.Do(ctx, method, path, nil, &rl); err != nil {
			return fail(env, err)
		}
		rls = []*lathe.Release{&rl}
	case sub == "promote" && len(pos) == 2:
		return deployCall(ctx, env, c.Do, base+"/environments/"+url.PathEscape(pos[1])+"/promote", nil, *asJSON)
	default:
		fmt.Fprintln(env.Stderr, releaseUsage)
		return 2
	}
	if *asJSON && len(rls) == 1 {
		return printJSON(env, rls[0])
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CANDIDATE\tSTATUS\tCOMMIT\tFINAL\tBY")
	for _, rl := range rls {
		for _, cd := range rl.Candidates {
			fmt.Fprintf(tw, "%s\t%s\t%.12s\t%t\t%s\n", field(cd.Version), cd.Status, cd.Commit, rl.Final, field(cd.CreatedBy))
		}
	}
	tw.Flush()
	return 0
}

// doFunc is client.Client.Do.
type doFunc func(ctx context.Context, method, path string, body, out any) error

// deployCall starts a deployment and prints it.
func deployCall(ctx context.Context, env *Env, do doFunc, path string, body any, asJSON bool) int {
	var d lathe.Deployment
	if err := do(ctx, http.MethodPost, path, body, &d); err != nil {
		return fail(env, err)
	}
	if asJSON {
		return printJSON(env, d)
	}
	fmt.Fprintf(env.Stdout, "deployment %d: %s to %s, %s (run %d)\n", d.ID, field(d.Version), field(d.Environment), d.Status, d.RunID)
	return 0
}

// cmdDeploy deploys a release candidate to an environment.
func cmdDeploy(ctx context.Context, args []string, env *Env) int {
	fs := newFlags(env, "deploy", "PROJECT ENV VERSION-rcN")
	mk := clientFlags(fs, env)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 3 {
		fmt.Fprintln(env.Stderr, "Usage: lathe deploy PROJECT ENV VERSION-rcN")
		return 2
	}
	path := "/api/v1/projects/" + url.PathEscape(pos[0]) + "/environments/" + url.PathEscape(pos[1]) + "/deployments"
	return deployCall(ctx, env, mk().Do, path, map[string]string{"release_candidate_version": pos[2]}, *asJSON)
}

// cmdRollback deploys an environment's previous successful candidate again.
func cmdRollback(ctx context.Context, args []string, env *Env) int {
	fs := newFlags(env, "rollback", "PROJECT ENV")
	mk := clientFlags(fs, env)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 2 {
		fmt.Fprintln(env.Stderr, "Usage: lathe rollback PROJECT ENV")
		return 2
	}
	path := "/api/v1/projects/" + url.PathEscape(pos[0]) + "/environments/" + url.PathEscape(pos[1]) + "/rollback"
	return deployCall(ctx, env, mk().Do, path, nil, *asJSON)
}

// cmdEnvironments shows what runs where: each environment of a project
// with its current deployment.
func cmdEnvironments(ctx context.Context, args []string, env *Env) int {
	fs := newFlags(env, "environments", "PROJECT")
	mk := clientFlags(fs, env)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		fmt.Fprintln(env.Stderr, "Usage: lathe environments PROJECT")
		return 2
	}
	var m struct {
		Items []*lathe.MatrixRow `json:"items"`
	}
	if err := mk().Do(ctx, http.MethodGet, "/api/v1/projects/"+url.PathEscape(pos[0])+"/deployments", nil, &m); err != nil {
		return fail(env, err)
	}
	if *asJSON {
		return printJSON(env, m)
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
