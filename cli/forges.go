package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	lathe "github.com/lathe-ci/lathe"
)

// forgeCmd is `lathe forge`: the connections to GitHub, GitLab and Gitea
// that projects name for hooks, statuses and permission checks.
func forgeCmd(env *Env) *cobra.Command {
	path := func(name string) string { return "/api/v1/forges/" + url.PathEscape(name) }
	show := func(out *output, f *lathe.Forge) int {
		if out.structured() {
			return out.print(env, f)
		}
		fmt.Fprintf(env.Stdout, "forge %s: %s at %s (API %s)\n", field(f.Name), f.Kind, field(f.URL), field(f.APIURL))
		return 0
	}
	// settings are the flags create and update share; token asks for the
	// connection's token (read without echo, or from stdin).
	settings := func(fs *pflag.FlagSet) (kind, webURL, apiURL *string, token *bool) {
		kind = fs.String("kind", "", "github, gitlab or gitea")
		webURL = fs.String("url", "", "the forge's web base URL (https://github.com)")
		apiURL = fs.String("api-url", "", "its REST API's base URL (default: from --url and --kind)")
		token = fs.Bool("with-token", false, "read the connection's API token on the forge (without echo, or from stdin)")
		return
	}
	input := func(fs *pflag.FlagSet, kind, webURL, apiURL *string, token bool) (map[string]any, error) {
		in := map[string]any{}
		for flag, v := range map[string]*string{"kind": kind, "url": webURL, "api_url": apiURL} {
			if fs.Changed(strings.ReplaceAll(flag, "_", "-")) {
				in[flag] = *v
			}
		}
		if token {
			t, err := readPassword(env, "API token: ", false)
			if err != nil {
				return nil, fmt.Errorf("read the token: %w", err)
			}
			in["token"] = t
		}
		return in, nil
	}
	create := env.leaf("create NAME --kind K --url URL [--api-url URL] [--with-token]", "connect a forge (admins)", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		kind, webURL, apiURL, token := settings(fs)
		out := outputFlags(fs, false)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 1 {
				return badUsage
			}
			in, err := input(fs, kind, webURL, apiURL, *token)
			if err != nil {
				return fail(env, err)
			}
			in["name"] = pos[0]
			var f lathe.Forge
			if err := out.wrap(mk().Do)(ctx, http.MethodPost, "/api/v1/forges", in, &f); err != nil {
				return fail(env, err)
			}
			return show(out, &f)
		}
	})
	update := env.leaf("update NAME [--kind K] [--url URL] [--api-url URL] [--with-token]", "change a forge connection (admins)", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		kind, webURL, apiURL, token := settings(fs)
		out := outputFlags(fs, false)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 1 {
				return badUsage
			}
			in, err := input(fs, kind, webURL, apiURL, *token)
			if err != nil {
				return fail(env, err)
			}
			var f lathe.Forge
			if err := out.wrap(mk().Do)(ctx, http.MethodPatch, path(pos[0]), in, &f); err != nil {
				return fail(env, err)
			}
			return show(out, &f)
		}
	})
	get := env.leaf("get NAME", "show a forge connection (admins)", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		out := outputFlags(fs, false)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 1 {
				return badUsage
			}
			var f lathe.Forge
			if err := out.wrap(mk().Do)(ctx, http.MethodGet, path(pos[0]), nil, &f); err != nil {
				return fail(env, err)
			}
			return show(out, &f)
		}
	})
	list := env.leaf("list", "list the forge connections (admins)", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		out := outputFlags(fs, false)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 0 {
				return badUsage
			}
			var list items[lathe.Forge]
			if err := out.wrap(mk().Do)(ctx, http.MethodGet, "/api/v1/forges", nil, &list); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, list)
			}
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tKIND\tURL\tAPI URL")
			for _, f := range list.Items {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", field(f.Name), f.Kind, field(f.URL), field(f.APIURL))
			}
			tw.Flush()
			return 0
		}
	})
	del := deleteCmd(env, "delete NAME", "remove a forge connection (admins)", 1,
		func(pos []string) string { return path(pos[0]) },
		func(pos []string) string { return fmt.Sprintf("deleted forge %s", pos[0]) })
	repos := env.leaf("repos NAME", "list the repositories a forge connection's account sees, to make projects from (admins)", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		page := fs.Int("page", 1, "the forge's page (100 repositories a page)")
		out := outputFlags(fs, false)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 1 {
				return badUsage
			}
			var list struct {
				Items []struct {
					FullName string `json:"full_name"`
					CloneURL string `json:"clone_url"`
					Private  bool   `json:"private"`
				} `json:"items"`
				NextPage *int `json:"next_page"`
			}
			if err := out.wrap(mk().Do)(ctx, http.MethodGet, path(pos[0])+"/repositories?page="+strconv.Itoa(*page), nil, &list); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, list)
			}
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "REPOSITORY\tPRIVATE\tCLONE URL")
			for _, r := range list.Items {
				fmt.Fprintf(tw, "%s\t%v\t%s\n", field(r.FullName), r.Private, field(r.CloneURL))
			}
			tw.Flush()
			if list.NextPage != nil {
				fmt.Fprintf(env.Stdout, "more: lathe forge repos %s --page %d\n", pos[0], *list.NextPage)
			}
			return 0
		}
	})
	return group("forge", "manage forge connections (GitHub, GitLab, Gitea): create, list, get, update, delete, repos", "",
		create, list, get, update, del, repos)
}
