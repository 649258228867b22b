package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	lathe "github.com/lathe-ci/lathe"
)

// regTokensCmd is `lathe agents tokens`: the tokens agents register with.
func regTokensCmd(env *Env) *cobra.Command {
	create := env.leaf("create [NAME]", "make a registration token (shown once)", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		out := outputFlags(fs, true)
		return func(ctx context.Context, pos []string) int {
			if len(pos) > 1 {
				return badUsage
			}
			in := map[string]string{}
			if len(pos) == 1 {
				in["name"] = pos[0]
			}
			c := mk()
			var rt lathe.RegistrationToken
			if err := out.wrap(c.Do)(ctx, http.MethodPost, "/api/v1/registration-tokens", in, &rt); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, rt)
			}
			fmt.Fprintf(env.Stdout, "Registration token %d %q (shown once; keep it secret):\n%s\n", rt.ID, rt.Name, rt.Token)
			fmt.Fprintf(env.Stdout, "Start an agent with: lathe agent --server %s --token %s --labels linux\n", c.BaseURL, rt.Token)
			return 0
		}
	})
	list := env.leaf("list", "list registration tokens", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		out := outputFlags(fs, true)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 0 {
				return badUsage
			}
			var page lathe.Page[*lathe.RegistrationToken]
			if err := out.wrap(mk().Do)(ctx, http.MethodGet, "/api/v1/registration-tokens?limit=200", nil, &page); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, page)
			}
			rows := make([]tokenRow, len(page.Items))
			for i, t := range page.Items {
				rows[i] = tokenRow{t.ID, t.Name, t.CreatedAt, t.LastUsed, t.RevokedAt}
			}
			printTokens(env.Stdout, rows)
			return 0
		}
	})
	revoke := env.leaf("revoke ID", "stop a registration token (agents registered with it keep working)", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 1 {
				return badUsage
			}
			var rt lathe.RegistrationToken
			if err := mk().Do(ctx, http.MethodPost, "/api/v1/registration-tokens/"+url.PathEscape(pos[0])+"/revoke", nil, &rt); err != nil {
				return fail(env, err)
			}
			fmt.Fprintf(env.Stdout, "revoked registration token %d\n", rt.ID)
			return 0
		}
	})
	return group("tokens", "manage registration tokens: create, list, revoke", "", create, list, revoke)
}

// agentGroupsCmd is `lathe agents groups`.
func agentGroupsCmd(env *Env) *cobra.Command {
	path := func(key string) string { return "/api/v1/agent-groups/" + url.PathEscape(key) }
	// one is a command answering with a group.
	one := func(use, short string, nargs int, flags func(fs *pflag.FlagSet) func(pos []string) (string, string, any)) *cobra.Command {
		return env.leaf(use, short, func(fs *pflag.FlagSet) body {
			mk := clientFlags(fs, env)
			req := flags(fs)
			out := outputFlags(fs, false)
			return func(ctx context.Context, pos []string) int {
				if len(pos) < nargs || nargs < 2 && len(pos) != nargs {
					return badUsage
				}
				method, p, in := req(pos)
				var g lathe.AgentGroup
				if err := out.wrap(mk().Do)(ctx, method, p, in, &g); err != nil {
					return fail(env, err)
				}
				if out.structured() {
					return out.print(env, g)
				}
				fmt.Fprintf(env.Stdout, "agent group %s (id %d): %d agents, jobs route to it with runs-on: [%s%s]\n", g.Name, g.ID, g.AgentsCount, lathe.GroupLabelPrefix, g.Name)
				return 0
			}
		})
	}
	create := one("create NAME", "create an agent group", 1, func(fs *pflag.FlagSet) func([]string) (string, string, any) {
		desc := fs.String("description", "", "description")
		return func(pos []string) (string, string, any) {
			return http.MethodPost, "/api/v1/agent-groups", map[string]string{"name": pos[0], "description": *desc}
		}
	})
	get := one("get GROUP", "show an agent group", 1, func(fs *pflag.FlagSet) func([]string) (string, string, any) {
		return func(pos []string) (string, string, any) { return http.MethodGet, path(pos[0]), nil }
	})
	update := one("update GROUP", "rename an agent group or change its description", 1, func(fs *pflag.FlagSet) func([]string) (string, string, any) {
		name := fs.String("name", "", "new name")
		desc := fs.String("description", "", "new description")
		return func(pos []string) (string, string, any) {
			in := map[string]string{}
			if *name != "" {
				in["name"] = *name
			}
			if fs.Changed("description") {
				in["description"] = *desc
			}
			return http.MethodPatch, path(pos[0]), in
		}
	})
	add := one("add GROUP AGENT...", "add agents to a group", 2, func(fs *pflag.FlagSet) func([]string) (string, string, any) {
		return func(pos []string) (string, string, any) {
			return http.MethodPost, path(pos[0]) + "/agents", map[string][]string{"agents": pos[1:]}
		}
	})
	del := env.leaf("delete GROUP", "delete an agent group", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 1 {
				return badUsage
			}
			if err := mk().Do(ctx, http.MethodDelete, path(pos[0]), nil, nil); err != nil {
				return fail(env, err)
			}
			fmt.Fprintf(env.Stdout, "deleted agent group %s\n", pos[0])
			return 0
		}
	})
	remove := env.leaf("remove GROUP AGENT", "remove an agent from a group", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 2 {
				return badUsage
			}
			if err := mk().Do(ctx, http.MethodDelete, path(pos[0])+"/agents/"+url.PathEscape(pos[1]), nil, nil); err != nil {
				return fail(env, err)
			}
			fmt.Fprintf(env.Stdout, "removed agent %s from group %s\n", pos[1], pos[0])
			return 0
		}
	})
	agents := env.leaf("agents GROUP", "list the agents of a group", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		out := outputFlags(fs, true)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 1 {
				return badUsage
			}
			var page lathe.Page[*lathe.Agent]
			if err := out.wrap(mk().Do)(ctx, http.MethodGet, path(pos[0])+"/agents?limit=200", nil, &page); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, page)
			}
			printAgents(env, page.Items)
			return 0
		}
	})
	list := env.leaf("list", "list agent groups", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		out := outputFlags(fs, true)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 0 {
				return badUsage
			}
			var page lathe.Page[*lathe.AgentGroup]
			if err := out.wrap(mk().Do)(ctx, http.MethodGet, "/api/v1/agent-groups?limit=200", nil, &page); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, page)
			}
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tAGENTS\tLABEL\tDESCRIPTION")
			for _, g := range page.Items {
				fmt.Fprintf(tw, "%d\t%s\t%d\t%s%s\t%s\n", g.ID, g.Name, g.AgentsCount, lathe.GroupLabelPrefix, g.Name, g.Description)
			}
			tw.Flush()
			return 0
		}
	})
	instances := env.leaf("instances GROUP", "list the agents a group's provider started, with their states", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		out := outputFlags(fs, true)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 1 {
				return badUsage
			}
			var list struct {
				Items []*lathe.AgentInstance `json:"items"`
			}
			if err := out.wrap(mk().Do)(ctx, http.MethodGet, path(pos[0])+"/instances", nil, &list); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, list)
			}
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tSTATE\tHANDLE\tJOB\tRAN\tIDLE SINCE\tCREATED\tERROR")
			for _, in := range list.Items {
				job := "-"
				if in.Job != nil {
					job = fmt.Sprint(*in.Job)
				}
				name, handle := in.Name, in.Handle
				if name == "" {
					name = "-"
				}
				if handle == "" {
					handle = "-"
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", in.ID, field(name), field(in.State), field(handle), job, in.Ran,
					fmtTime(in.IdleSince), in.CreatedAt.Local().Format(time.DateTime), field(in.Error))
			}
			tw.Flush()
			return 0
		}
	})
	return group("groups", "manage agent groups: create, list, get, update, delete, add, remove, agents, instances", "",
		create, list, get, update, del, add, remove, agents, instances)
}
