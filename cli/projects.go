package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"text/tabwriter"

	lathe "github.com/lathe-ci/lathe"
)

func cmdProject(ctx context.Context, args []string, env *Env) int {
	if len(args) == 0 {
		fmt.Fprintln(env.Stderr, "Usage: lathe project create NAME GIT_URL | list | get NAME | update NAME [--url U] [--default-branch B] | delete NAME")
		return 2
	}
	sub, args := args[0], args[1:]
	fs := newFlags(env, "project "+sub, "")
	mk := clientFlags(fs, env)
	branch := fs.String("default-branch", "", "default branch (create: main)")
	newURL := fs.String("url", "", "git URL (update)")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	c := mk()
	var p lathe.Project
	switch {
	case sub == "create" && len(pos) == 2:
		in := map[string]string{"name": pos[0], "url": pos[1]}
		if *branch != "" {
			in["default_branch"] = *branch
		}
		if err := c.Do(ctx, http.MethodPost, "/api/v1/projects", in, &p); err != nil {
			return fail(env, err)
		}
	case sub == "update" && len(pos) == 1:
		in := map[string]string{}
		if *branch != "" {
			in["default_branch"] = *branch
		}
		if *newURL != "" {
			in["url"] = *newURL
		}
		if err := c.Do(ctx, http.MethodPatch, "/api/v1/projects/"+url.PathEscape(pos[0]), in, &p); err != nil {
			return fail(env, err)
		}
	case sub == "get" && len(pos) == 1:
		if err := c.Do(ctx, http.MethodGet, "/api/v1/projects/"+url.PathEscape(pos[0]), nil, &p); err != nil {
			return fail(env, err)
		}
	case sub == "delete" && len(pos) == 1:
		if err := c.Do(ctx, http.MethodDelete, "/api/v1/projects/"+url.PathEscape(pos[0]), nil, nil); err != nil {
			return fail(env, err)
		}
		fmt.Fprintf(env.Stdout, "deleted project %s\n", pos[0])
		return 0
	case sub == "list" && len(pos) == 0:
		var page lathe.Page[*lathe.Project]
		if err := c.Do(ctx, http.MethodGet, "/api/v1/projects?limit=200", nil, &page); err != nil {
			return fail(env, err)
		}
		if *asJSON {
			return printJSON(env, page)
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tDEFAULT BRANCH\tURL")
		for _, p := range page.Items {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", p.Name, p.DefaultBranch, p.URL)
		}
		tw.Flush()
		return 0
	default:
		fs.Usage()
		return 2
	}
	if *asJSON {
		return printJSON(env, p)
	}
	fmt.Fprintf(env.Stdout, "project %s (id %d): %s, default branch %s\n", p.Name, p.ID, p.URL, p.DefaultBranch)
	return 0
}

func printJSON(env *Env, v any) int {
	enc := json.NewEncoder(env.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fail(env, err)
	}
	return 0
}

func cmdPipelines(ctx context.Context, args []string, env *Env) int {
	fs := newFlags(env, "pipelines", "PROJECT")
	mk := clientFlags(fs, env)
	ref := fs.String("ref", "", "branch, tag or commit (default: the project's default branch)")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		fs.Usage()
		return 2
	}
	var out struct {
		Items []struct {
			Name   string   `json:"name"`
			File   string   `json:"file"`
			Commit string   `json:"commit"`
			Stages []string `json:"stages"`
			Jobs   []struct {
				Name  string   `json:"name"`
				Stage string   `json:"stage"`
				Deps  []string `json:"deps"`
			} `json:"jobs"`
		} `json:"items"`
	}
	path := "/api/v1/projects/" + url.PathEscape(pos[0]) + "/pipelines?ref=" + url.QueryEscape(*ref)
	if err := mk().Do(ctx, http.MethodGet, path, nil, &out); err != nil {
		return fail(env, err)
	}
	if *asJSON {
		return printJSON(env, out)
	}
	for _, p := range out.Items {
		fmt.Fprintf(env.Stdout, "pipeline %s (%s at %.12s)\n", field(p.Name), field(p.File), p.Commit)
		for _, j := range p.Jobs {
			fmt.Fprintf(env.Stdout, "  %-12s %-20s needs %s\n", field(j.Stage), field(j.Name), fields(j.Deps))
		}
	}
	return 0
}
