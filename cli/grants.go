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

// grantsCmd is `lathe user projects NAME` and `lathe team projects NAME`:
// the roles a user or team holds on projects. collection is "users" or "teams".
func grantsCmd(env *Env, collection, short string) *cobra.Command {
	return env.leaf("projects NAME", short, func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		out := outputFlags(fs, false)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 1 {
				return badUsage
			}
			var list items[lathe.ProjectGrant]
			path := "/api/v1/" + collection + "/" + url.PathEscape(pos[0]) + "/projects"
			if err := out.wrap(mk().Do)(ctx, http.MethodGet, path, nil, &list); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, list)
			}
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "PROJECT\tROLE\tTHROUGH TEAM")
			for _, g := range list.Items {
				team := g.Team
				if team == "" {
					team = "-"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", field(g.Project), g.Role, field(team))
			}
			tw.Flush()
			return 0
		}
	})
}

// rolesCmd is `lathe roles`: the project roles and what each allows.
func rolesCmd(env *Env) *cobra.Command {
	return env.leaf("roles", "list the project roles and what each allows", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		out := outputFlags(fs, false)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 0 {
				return badUsage
			}
			var list items[lathe.RoleInfo]
			if err := out.wrap(mk().Do)(ctx, http.MethodGet, "/api/v1/roles", nil, &list); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, list)
			}
			for _, r := range list.Items {
				fmt.Fprintf(env.Stdout, "%-6s %s\n", r.Name, r.Description)
			}
			return 0
		}
	})
}
