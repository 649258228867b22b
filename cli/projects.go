package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/git"
)

func projectCmd(env *Env) *cobra.Command {
	// one is a command answering with one project.
	one := func(use, short string, call func(ctx context.Context, c doFunc, pos []string, p *lathe.Project) (int, error)) *cobra.Command {
		return env.leaf(use, short, func(fs *pflag.FlagSet) body {
			mk := clientFlags(fs, env)
			out := outputFlags(fs, false)
			return func(ctx context.Context, pos []string) int {
				var p lathe.Project
				if code, err := call(ctx, out.wrap(mk().Do), pos, &p); code != 0 || err != nil {
					if err != nil {
						return fail(env, err)
					}
					return code
				}
				if out.structured() {
					return out.print(env, p)
				}
				fmt.Fprintf(env.Stdout, "project %s (id %d): %s, default branch %s\n", p.Name, p.ID, p.URL, p.DefaultBranch)
				return 0
			}
		})
	}
	create := env.leaf("create NAME GIT_URL", "add a project from a git repository (a URL, or a path on the server: a relative one is made absolute when the server is on this machine)", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		branch := fs.String("default-branch", "", "default branch (default: the one the repository's HEAD names, else main)")
		out := outputFlags(fs, true)
		out.key = "name"
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 2 {
				return badUsage
			}
			c := mk()
			in := map[string]string{"name": pos[0], "url": repoURL(c.BaseURL, pos[1])}
			if *branch != "" {
				in["default_branch"] = *branch
			}
			var p lathe.Project
			if err := out.wrap(c.Do)(ctx, http.MethodPost, "/api/v1/projects", in, &p); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, p)
			}
			fmt.Fprintf(env.Stdout, "project %s (id %d): %s, default branch %s\n", p.Name, p.ID, p.URL, p.DefaultBranch)
			return 0
		}
	})
	update := env.leaf("update NAME", "change a project's git URL, default branch, or its forge settings (forge, repository, protected branches, pull request trust, where untrusted runs go)", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		branch := fs.String("default-branch", "", "new default branch")
		newURL := fs.String("url", "", "new git URL")
		forgeName := fs.String("forge", "", "the forge connection its statuses go to and its hooks come from (lathe forge list); \"\" for none")
		repo := fs.String("repo", "", "its repository on that forge: OWNER/NAME (GitLab: the path with its groups)")
		protected := fs.StringSlice("protected-branches", nil, "branch globs whose pushes are trusted (comma-separated or repeated; \"\" for none)")
		prTrust := fs.String("pr-trust", "", "how other hooks' authors are trusted: write_on_forge, write_in_lathe or everyone")
		untrusted := fs.StringSlice("untrusted-labels", nil, "labels added to the runs-on of every job of an untrusted run (a fork's pull request), to keep it on agents kept for it; group:NAME for a group (comma-separated or repeated; \"\" for none)")
		out := outputFlags(fs, false)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 1 {
				return badUsage
			}
			c := mk()
			in := map[string]any{}
			if *branch != "" {
				in["default_branch"] = *branch
			}
			if *newURL != "" {
				in["url"] = repoURL(c.BaseURL, *newURL)
			}
			// These may be set to nothing: given at all, they are sent.
			if fs.Changed("forge") {
				in["forge"] = *forgeName
			}
			if fs.Changed("repo") {
				in["repo"] = *repo
			}
			if fs.Changed("protected-branches") {
				in["protected_branches"] = givenItems(*protected)
			}
			if fs.Changed("untrusted-labels") {
				in["untrusted_labels"] = givenItems(*untrusted)
			}
			if *prTrust != "" {
				in["pr_trust"] = *prTrust
			}
			var p lathe.Project
			if err := out.wrap(c.Do)(ctx, http.MethodPatch, "/api/v1/projects/"+url.PathEscape(pos[0]), in, &p); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, p)
			}
			fmt.Fprintf(env.Stdout, "project %s (id %d): %s, default branch %s\n", p.Name, p.ID, p.URL, p.DefaultBranch)
			if p.Forge != "" {
				fmt.Fprintf(env.Stdout, "on forge %s as %s; protected branches %v; pull requests trusted: %s\n", p.Forge, p.Repo,
					p.ProtectedBranches, p.PRTrust)
			}
			if len(p.UntrustedLabels) > 0 {
				fmt.Fprintf(env.Stdout, "untrusted runs' jobs run on agents with %s\n", strings.Join(p.UntrustedLabels, ", "))
			}
			return 0
		}
	})
	get := one("get NAME", "show a project", func(ctx context.Context, do doFunc, pos []string, p *lathe.Project) (int, error) {
		if len(pos) != 1 {
			return badUsage, nil
		}
		return 0, do(ctx, http.MethodGet, "/api/v1/projects/"+url.PathEscape(pos[0]), nil, p)
	})
	del := deleteCmd(env, "delete NAME", "delete a project with its runs", 1,
		func(pos []string) string { return "/api/v1/projects/" + url.PathEscape(pos[0]) },
		func(pos []string) string { return fmt.Sprintf("deleted project %s", pos[0]) })
	list := env.leaf("list", "list projects", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		out := outputFlags(fs, true)
		out.key = "name"
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 0 {
				return badUsage
			}
			var page lathe.Page[*lathe.Project]
			if err := out.wrap(mk().Do)(ctx, http.MethodGet, "/api/v1/projects?limit=200", nil, &page); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, page)
			}
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tDEFAULT BRANCH\tURL")
			for _, p := range page.Items {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", p.Name, p.DefaultBranch, p.URL)
			}
			tw.Flush()
			return 0
		}
	})
	return group("project", "manage projects: create, list, get, update, delete; members and their roles; SSH keys", "",
		create, list, get, update, del, membersCmd(env), projectSSHKeyCmd(env))
}

func pipelinesCmd(env *Env) *cobra.Command {
	return env.leaf("pipelines [PROJECT [PIPELINE]]", "show the pipelines of a project at a ref (PIPELINE: its triggers, parameters and last run on each branch), or of every project you may read", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		ref := fs.String("ref", "", "branch, tag or commit (default: the project's default branch)")
		limit := fs.Int("limit", 20, "without PROJECT: projects per page (1–50)")
		before := fs.Int64("before", 0, "without PROJECT: the page after this cursor (a page's next)")
		o := outputFlags(fs, false)
		return func(ctx context.Context, pos []string) int {
			if len(pos) > 2 || len(pos) == 0 && *ref != "" {
				return badUsage
			}
			if len(pos) == 2 {
				return showPipeline(ctx, env, mk().Do, o, pos[0], pos[1], *ref)
			}
			var out struct {
				Items []struct {
					Project string   `json:"project"`
					Name    string   `json:"name"`
					File    string   `json:"file"`
					Commit  string   `json:"commit"`
					Stages  []string `json:"stages"`
					Jobs    []struct {
						Name  string   `json:"name"`
						Stage string   `json:"stage"`
						Deps  []string `json:"deps"`
					} `json:"jobs"`
				} `json:"items"`
				Problems []struct {
					Project string `json:"project"`
					Detail  string `json:"detail"`
				} `json:"problems"`
				Next *int64 `json:"next"`
			}
			path := fmt.Sprintf("/api/v1/pipelines?limit=%d", *limit)
			if *before > 0 {
				path += fmt.Sprintf("&before=%d", *before)
			}
			if len(pos) == 1 {
				path = "/api/v1/projects/" + url.PathEscape(pos[0]) + "/pipelines?ref=" + url.QueryEscape(*ref)
			}
			if err := o.wrap(mk().Do)(ctx, http.MethodGet, path, nil, &out); err != nil {
				return fail(env, err)
			}
			if o.structured() {
				return o.print(env, out)
			}
			for _, p := range out.Items {
				name := field(p.Name)
				if p.Project != "" {
					name = field(p.Project) + "/" + name
				}
				fmt.Fprintf(env.Stdout, "pipeline %s (%s at %.12s)\n", name, field(p.File), p.Commit)
				for _, j := range p.Jobs {
					fmt.Fprintf(env.Stdout, "  %-12s %-20s needs %s\n", field(j.Stage), field(j.Name), fields(j.Deps))
				}
			}
			for _, p := range out.Problems {
				fmt.Fprintf(env.Stdout, "project %s: no pipelines listed: %s\n", field(p.Project), field(p.Detail))
			}
			if out.Next != nil {
				fmt.Fprintf(env.Stdout, "more projects: lathe pipelines --before %d\n", *out.Next)
			}
			return 0
		}
	})
}

// repoURL is a project's repository as the server must be told it: a
// relative path names a directory here, so for a server on this machine
// (srv) it is made absolute; the server refuses relative paths, which it
// would read from its own working directory.
func repoURL(srv, raw string) string {
	r, err := git.ParseRemote(raw)
	if err != nil || !r.Local || r.Scheme == "file" || filepath.IsAbs(raw) || !isLocal(srv) {
		return raw
	}
	abs, err := filepath.Abs(raw)
	if err != nil {
		return raw
	}
	return abs
}

// givenItems is a list flag's items without the empty ones, so that
// --flag "" sends an empty list.
func givenItems(items []string) []string {
	out := []string{}
	for _, it := range items {
		if it != "" {
			out = append(out, it)
		}
	}
	return out
}
