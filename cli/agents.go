package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	lathe "github.com/lathe-ci/lathe"
)

// optBool is a flag that remembers whether it was given.
type optBool struct{ v *bool }

func (o *optBool) String() string {
	if o.v == nil {
		return ""
	}
	return fmt.Sprint(*o.v)
}

func (o *optBool) Set(s string) error {
	var b bool
	if _, err := fmt.Sscan(s, &b); err != nil {
		return fmt.Errorf("%q is not true or false", s)
	}
	o.v = &b
	return nil
}

func (o *optBool) Type() string { return "bool" }

// optBoolVar adds an optBool flag that, given bare, means true.
func optBoolVar(fs *pflag.FlagSet, o *optBool, name, usage string) {
	fs.Var(o, name, usage)
	boolFlag(fs, name)
}

func agentsCmd(env *Env) *cobra.Command {
	list := answerCmd(env, "list", "list agents", 0, true,
		func(fs *pflag.FlagSet) func(pos []string) (request, error) {
			var authorized, online, disabled optBool
			optBoolVar(fs, &authorized, "authorized", "only (un)authorized agents")
			optBoolVar(fs, &disabled, "disabled", "only disabled (or enabled) agents")
			optBoolVar(fs, &online, "online", "only agents heard from within 60s (or not)")
			group := fs.String("group", "", "only members of this group")
			label := fs.String("label", "", "only agents with this label")
			return func(pos []string) (request, error) {
				q := url.Values{"limit": {"200"}}
				for k, o := range map[string]optBool{"authorized": authorized, "online": online, "disabled": disabled} {
					if o.v != nil {
						q.Set(k, fmt.Sprint(*o.v))
					}
				}
				queryFlags(q, map[string]*string{"group": group, "label": label})
				return get("/api/v1/agents?" + q.Encode()), nil
			}
		},
		func(env *Env, page *lathe.Page[*lathe.Agent], _ []string) { printAgents(env, page.Items) })
	show := answerCmd(env, "get AGENT", "show an agent (AGENT: a name or an ID)", 1, false,
		noFlags(func(pos []string) request { return get("/api/v1/agents/" + url.PathEscape(pos[0])) }),
		func(env *Env, a *lathe.Agent, _ []string) { printAgents(env, []*lathe.Agent{a}) })
	update := env.leaf("update AGENT...", "rename, relabel, authorize, disable or enable agents (all or none)", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		var authorized, disabled optBool
		optBoolVar(fs, &authorized, "authorized", "authorize or not")
		optBoolVar(fs, &disabled, "disabled", "disable or enable")
		name := fs.String("name", "", "new name")
		labels := fs.String("labels", "", "new comma-separated labels")
		out := outputFlags(fs, false)
		return func(ctx context.Context, pos []string) int {
			if len(pos) == 0 {
				return badUsage
			}
			c := mk()
			change := map[string]any{}
			if *name != "" {
				if len(pos) > 1 {
					return fail(env, fmt.Errorf("--name renames one agent; %d given", len(pos)))
				}
				change["name"] = *name
			}
			if fs.Changed("labels") {
				change["labels"] = splitList(*labels)
			}
			if authorized.v != nil {
				change["authorized"] = *authorized.v
			}
			if disabled.v != nil {
				change["disabled"] = *disabled.v
			}
			// One request for all: the server applies every change or none.
			var items []map[string]any
			for _, key := range pos {
				var a lathe.Agent
				if err := c.Do(ctx, http.MethodGet, "/api/v1/agents/"+url.PathEscape(key), nil, &a); err != nil {
					return fail(env, err)
				}
				item := map[string]any{"id": a.ID}
				for k, v := range change {
					item[k] = v
				}
				items = append(items, item)
			}
			var page lathe.Page[*lathe.Agent]
			if err := out.wrap(c.Do)(ctx, http.MethodPatch, "/api/v1/agents", items, &page); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, page)
			}
			printAgents(env, page.Items)
			return 0
		}
	})
	del := deleteCmd(env, "delete AGENT", "delete an agent", 1,
		func(pos []string) string { return "/api/v1/agents/" + url.PathEscape(pos[0]) },
		func(pos []string) string { return fmt.Sprintf("deleted agent %s", pos[0]) })
	attempts := answerCmd(env, "attempts AGENT", "the attempts an agent ran, latest first", 1, true,
		noFlags(func(pos []string) request {
			return get("/api/v1/agents/" + url.PathEscape(pos[0]) + "/attempts?limit=50")
		}),
		func(env *Env, page *lathe.Page[*lathe.Attempt], _ []string) {
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ATTEMPT\tJOB\tNUMBER\tSTATUS\tCREATED")
			for _, at := range page.Items {
				fmt.Fprintf(tw, "%d\t%d\t%d\t%s\t%s\n", at.ID, at.JobID, at.Number, at.Status, at.CreatedAt.Local().Format(time.DateTime))
			}
			tw.Flush()
		})
	type systemList struct {
		Systems []*lathe.System `json:"systems"`
	}
	systems := answerCmd(env, "systems", "list the systems jobs ran on: each container image, and host (the agent's machine), most lately used first", 0, false,
		noFlags(func([]string) request { return get("/api/v1/systems") }),
		func(env *Env, list *systemList, _ []string) {
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "EXECUTOR\tIMAGE\tJOBS\tATTEMPTS\tLAST USED")
			for _, sy := range list.Systems {
				image := sy.Image
				if image == "" {
					image = "-"
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\n", field(sy.Executor), field(image), sy.Jobs, sy.Attempts, fmtTime(sy.LastUsed))
			}
			tw.Flush()
		})
	return group("agents", "manage agents, agent groups and registration tokens; list the systems jobs ran on", "AGENT is a name or an ID.",
		list, show, update, del, attempts, systems, regTokensCmd(env), agentGroupsCmd(env))
}

func splitList(s string) []string {
	out := []string{}
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func printAgents(env *Env, agents []*lathe.Agent) {
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSTATE\tISOLATION\tLABELS\tGROUPS\tHOST\tLAST SEEN")
	for _, a := range agents {
		state := "offline"
		if a.Online {
			state = "online"
		}
		if !a.Authorized {
			state += ",unauthorized"
		}
		if a.Disabled {
			state += ",disabled"
		}
		seen := "never"
		if a.LastSeen != nil {
			seen = time.Since(*a.LastSeen).Round(time.Second).String() + " ago"
		}
		host := fmt.Sprintf("%s %s/%s %d cpu %d MiB %s", field(a.Host.Hostname), field(a.Host.OS), field(a.Host.Arch), a.Host.CPUs, a.Host.MemoryBytes>>20, field(a.Host.Version))
		isolation := a.Host.Isolation
		if isolation == "" {
			isolation = "?"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.ID, field(a.Name), state, field(isolation), fields(a.Labels), fields(a.Groups), host, seen)
	}
	tw.Flush()
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Local().Format(time.DateTime)
}
