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
	list := answerCmd(env, "list", "list registration tokens", 0, true,
		noFlags(func([]string) request { return get("/api/v1/registration-tokens?limit=200") }),
		func(env *Env, page *lathe.Page[*lathe.RegistrationToken], _ []string) {
			rows := make([]tokenRow, len(page.Items))
			for i, t := range page.Items {
				rows[i] = tokenRow{t.ID, t.Name, t.CreatedAt, t.LastUsed, t.RevokedAt}
			}
			printTokens(env.Stdout, rows)
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
	printGroup := func(env *Env, g *lathe.AgentGroup, _ []string) {
		fmt.Fprintf(env.Stdout, "agent group %s (id %d): %d agents, jobs route to it with runs-on: [%s%s]\n", g.Name, g.ID, g.AgentsCount, lathe.GroupLabelPrefix, g.Name)
	}
	create := answerCmd(env, "create NAME", "create an agent group", 1, false,
		func(fs *pflag.FlagSet) func(pos []string) (request, error) {
			desc := fs.String("description", "", "description")
			return func(pos []string) (request, error) {
				return request{method: http.MethodPost, path: "/api/v1/agent-groups", body: map[string]string{"name": pos[0], "description": *desc}}, nil
			}
		}, printGroup)
	show := answerCmd(env, "get GROUP", "show an agent group", 1, false,
		noFlags(func(pos []string) request { return get(path(pos[0])) }), printGroup)
	update := answerCmd(env, "update GROUP", "rename an agent group or change its description", 1, false,
		func(fs *pflag.FlagSet) func(pos []string) (request, error) {
			name := fs.String("name", "", "new name")
			desc := fs.String("description", "", "new description")
			return func(pos []string) (request, error) {
				in := map[string]string{}
				if *name != "" {
					in["name"] = *name
				}
				if fs.Changed("description") {
					in["description"] = *desc
				}
				return request{method: http.MethodPatch, path: path(pos[0]), body: in}, nil
			}
		}, printGroup)
	add := answerCmd(env, "add GROUP AGENT...", "add agents to a group", -1, false,
		func(*pflag.FlagSet) func(pos []string) (request, error) {
			return func(pos []string) (request, error) {
				if len(pos) < 2 {
					return request{}, errUsage
				}
				return request{method: http.MethodPost, path: path(pos[0]) + "/agents", body: map[string][]string{"agents": pos[1:]}}, nil
			}
		}, printGroup)
	del := deleteCmd(env, "delete GROUP", "delete an agent group", 1,
		func(pos []string) string { return path(pos[0]) },
		func(pos []string) string { return fmt.Sprintf("deleted agent group %s", pos[0]) })
	remove := deleteCmd(env, "remove GROUP AGENT", "remove an agent from a group", 2,
		func(pos []string) string { return path(pos[0]) + "/agents/" + url.PathEscape(pos[1]) },
		func(pos []string) string { return fmt.Sprintf("removed agent %s from group %s", pos[1], pos[0]) })
	agents := answerCmd(env, "agents GROUP", "list the agents of a group", 1, true,
		noFlags(func(pos []string) request { return get(path(pos[0]) + "/agents?limit=200") }),
		func(env *Env, page *lathe.Page[*lathe.Agent], _ []string) { printAgents(env, page.Items) })
	list := answerCmd(env, "list", "list agent groups", 0, true,
		noFlags(func([]string) request { return get("/api/v1/agent-groups?limit=200") }),
		func(env *Env, page *lathe.Page[*lathe.AgentGroup], _ []string) {
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tAGENTS\tLABEL\tDESCRIPTION")
			for _, g := range page.Items {
				fmt.Fprintf(tw, "%d\t%s\t%d\t%s%s\t%s\n", g.ID, g.Name, g.AgentsCount, lathe.GroupLabelPrefix, g.Name, g.Description)
			}
			tw.Flush()
		})
	type instanceList items[*lathe.AgentInstance]
	instances := answerCmd(env, "instances GROUP", "list the agents a group's provider started, with their states", 1, true,
		noFlags(func(pos []string) request { return get(path(pos[0]) + "/instances") }),
		func(env *Env, list *instanceList, _ []string) {
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
		})
	return group("groups", "manage agent groups: create, list, get, update, delete, add, remove, agents, instances", "",
		create, list, show, update, del, add, remove, agents, instances)
}
