package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	lathe "github.com/lathe-ci/lathe"
)

const agentsUsage = `Usage:
  lathe agents list [--authorized=BOOL] [--online=BOOL] [--disabled=BOOL] [--group G] [--label L]
  lathe agents get AGENT
  lathe agents update AGENT... [--name N] [--labels a,b] [--authorized=BOOL] [--disabled=BOOL]
  lathe agents delete AGENT
  lathe agents attempts AGENT
  lathe agents tokens create [NAME] | list | revoke ID
  lathe agents groups create NAME [--description D] | list | get G | update G [--name N] [--description D] | delete G
  lathe agents groups agents G | add G AGENT... | remove G AGENT
AGENT is a name or an ID.`

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

func (o *optBool) IsBoolFlag() bool { return true }

func cmdAgents(ctx context.Context, args []string, env *Env) int {
	if len(args) == 0 {
		fmt.Fprintln(env.Stderr, agentsUsage)
		return 2
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "tokens":
		return cmdRegTokens(ctx, args, env)
	case "groups":
		return cmdGroups(ctx, args, env)
	}
	fs := newFlags(env, "agents "+sub, "")
	mk := clientFlags(fs, env)
	var authorized, online, disabled optBool
	fs.Var(&authorized, "authorized", "list: only (un)authorized agents; update: authorize or not")
	fs.Var(&disabled, "disabled", "list: only disabled (or enabled) agents; update: disable or enable")
	fs.Var(&online, "online", "list: only agents heard from within 60s (or not)")
	group := fs.String("group", "", "list: only members of this group")
	label := fs.String("label", "", "list: only agents with this label")
	name := fs.String("name", "", "update: new name")
	labels := fs.String("labels", "", "update: new comma-separated labels")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	c := mk()
	switch {
	case sub == "list" && len(pos) == 0:
		q := url.Values{"limit": {"200"}}
		for k, o := range map[string]optBool{"authorized": authorized, "online": online, "disabled": disabled} {
			if o.v != nil {
				q.Set(k, fmt.Sprint(*o.v))
			}
		}
		if *group != "" {
			q.Set("group", *group)
		}
		if *label != "" {
			q.Set("label", *label)
		}
		var page lathe.Page[*lathe.Agent]
		if err := c.Do(ctx, http.MethodGet, "/api/v1/agents?"+q.Encode(), nil, &page); err != nil {
			return fail(env, err)
		}
		if *asJSON {
			return printJSON(env, page)
		}
		printAgents(env, page.Items)
		return 0
	case sub == "get" && len(pos) == 1:
		var a lathe.Agent
		if err := c.Do(ctx, http.MethodGet, "/api/v1/agents/"+url.PathEscape(pos[0]), nil, &a); err != nil {
			return fail(env, err)
		}
		if *asJSON {
			return printJSON(env, a)
		}
		printAgents(env, []*lathe.Agent{&a})
		return 0
	case sub == "update" && len(pos) >= 1:
		change := map[string]any{}
		if *name != "" {
			if len(pos) > 1 {
				return fail(env, fmt.Errorf("--name renames one agent; %d given", len(pos)))
			}
			change["name"] = *name
		}
		if flagSet(fs, "labels") {
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
		var out lathe.Page[*lathe.Agent]
		if err := c.Do(ctx, http.MethodPatch, "/api/v1/agents", items, &out); err != nil {
			return fail(env, err)
		}
		if *asJSON {
			return printJSON(env, out.Items)
		}
		printAgents(env, out.Items)
		return 0
	case sub == "delete" && len(pos) == 1:
		if err := c.Do(ctx, http.MethodDelete, "/api/v1/agents/"+url.PathEscape(pos[0]), nil, nil); err != nil {
			return fail(env, err)
		}
		fmt.Fprintf(env.Stdout, "deleted agent %s\n", pos[0])
		return 0
	case sub == "attempts" && len(pos) == 1:
		var page lathe.Page[*lathe.Attempt]
		if err := c.Do(ctx, http.MethodGet, "/api/v1/agents/"+url.PathEscape(pos[0])+"/attempts?limit=50", nil, &page); err != nil {
			return fail(env, err)
		}
		if *asJSON {
			return printJSON(env, page)
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ATTEMPT\tJOB\tNUMBER\tSTATUS\tCREATED")
		for _, at := range page.Items {
			fmt.Fprintf(tw, "%d\t%d\t%d\t%s\t%s\n", at.ID, at.JobID, at.Number, at.Status, at.CreatedAt.Local().Format(time.DateTime))
		}
		tw.Flush()
		return 0
	}
	fmt.Fprintln(env.Stderr, agentsUsage)
	return 2
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

func cmdRegTokens(ctx context.Context, args []string, env *Env) int {
	if len(args) == 0 {
		fmt.Fprintln(env.Stderr, agentsUsage)
		return 2
	}
	sub, args := args[0], args[1:]
	fs := newFlags(env, "agents tokens "+sub, "")
	mk := clientFlags(fs, env)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	c := mk()
	var rt lathe.RegistrationToken
	switch {
	case sub == "create" && len(pos) <= 1:
		in := map[string]string{}
		if len(pos) == 1 {
			in["name"] = pos[0]
		}
		if err := c.Do(ctx, http.MethodPost, "/api/v1/registration-tokens", in, &rt); err != nil {
			return fail(env, err)
		}
		if *asJSON {
			return printJSON(env, rt)
		}
		fmt.Fprintf(env.Stdout, "Registration token %d %q (shown once; keep it secret):\n%s\n", rt.ID, rt.Name, rt.Token)
		fmt.Fprintf(env.Stdout, "Start an agent with: lathe agent --server %s --token %s --labels linux\n", c.BaseURL, rt.Token)
		return 0
	case sub == "list" && len(pos) == 0:
		var page lathe.Page[*lathe.RegistrationToken]
		if err := c.Do(ctx, http.MethodGet, "/api/v1/registration-tokens?limit=200", nil, &page); err != nil {
			return fail(env, err)
		}
		if *asJSON {
			return printJSON(env, page)
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tCREATED\tLAST USED\tREVOKED")
		for _, t := range page.Items {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.CreatedAt.Local().Format(time.DateTime), fmtTime(t.LastUsed), fmtTime(t.RevokedAt))
		}
		tw.Flush()
		return 0
	case sub == "revoke" && len(pos) == 1:
		if err := c.Do(ctx, http.MethodPost, "/api/v1/registration-tokens/"+url.PathEscape(pos[0])+"/revoke", nil, &rt); err != nil {
			return fail(env, err)
		}
		fmt.Fprintf(env.Stdout, "revoked registration token %d\n", rt.ID)
		return 0
	}
	fmt.Fprintln(env.Stderr, agentsUsage)
	return 2
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Local().Format(time.DateTime)
}

func cmdGroups(ctx context.Context, args []string, env *Env) int {
	if len(args) == 0 {
		fmt.Fprintln(env.Stderr, agentsUsage)
		return 2
	}
	sub, args := args[0], args[1:]
	fs := newFlags(env, "agents groups "+sub, "")
	mk := clientFlags(fs, env)
	name := fs.String("name", "", "update: new name")
	desc := fs.String("description", "", "create, update: description")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	c := mk()
	var g lathe.AgentGroup
	path := func(key string) string { return "/api/v1/agent-groups/" + url.PathEscape(key) }
	switch {
	case sub == "create" && len(pos) == 1:
		if err := c.Do(ctx, http.MethodPost, "/api/v1/agent-groups", map[string]string{"name": pos[0], "description": *desc}, &g); err != nil {
			return fail(env, err)
		}
	case sub == "get" && len(pos) == 1:
		if err := c.Do(ctx, http.MethodGet, path(pos[0]), nil, &g); err != nil {
			return fail(env, err)
		}
	case sub == "update" && len(pos) == 1:
		in := map[string]string{}
		if *name != "" {
			in["name"] = *name
		}
		if flagSet(fs, "description") {
			in["description"] = *desc
		}
		if err := c.Do(ctx, http.MethodPatch, path(pos[0]), in, &g); err != nil {
			return fail(env, err)
		}
	case sub == "delete" && len(pos) == 1:
		if err := c.Do(ctx, http.MethodDelete, path(pos[0]), nil, nil); err != nil {
			return fail(env, err)
		}
		fmt.Fprintf(env.Stdout, "deleted agent group %s\n", pos[0])
		return 0
	case sub == "add" && len(pos) >= 2:
		if err := c.Do(ctx, http.MethodPost, path(pos[0])+"/agents", map[string][]string{"agents": pos[1:]}, &g); err != nil {
			return fail(env, err)
		}
	case sub == "remove" && len(pos) == 2:
		if err := c.Do(ctx, http.MethodDelete, path(pos[0])+"/agents/"+url.PathEscape(pos[1]), nil, nil); err != nil {
			return fail(env, err)
		}
		fmt.Fprintf(env.Stdout, "removed agent %s from group %s\n", pos[1], pos[0])
		return 0
	case sub == "agents" && len(pos) == 1:
		var page lathe.Page[*lathe.Agent]
		if err := c.Do(ctx, http.MethodGet, path(pos[0])+"/agents?limit=200", nil, &page); err != nil {
			return fail(env, err)
		}
		if *asJSON {
			return printJSON(env, page)
		}
		printAgents(env, page.Items)
		return 0
	case sub == "list" && len(pos) == 0:
		var page lathe.Page[*lathe.AgentGroup]
		if err := c.Do(ctx, http.MethodGet, "/api/v1/agent-groups?limit=200", nil, &page); err != nil {
			return fail(env, err)
		}
		if *asJSON {
			return printJSON(env, page)
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tAGENTS\tLABEL\tDESCRIPTION")
		for _, g := range page.Items {
			fmt.Fprintf(tw, "%d\t%s\t%d\t%s%s\t%s\n", g.ID, g.Name, g.AgentsCount, lathe.GroupLabelPrefix, g.Name, g.Description)
		}
		tw.Flush()
		return 0
	default:
		fmt.Fprintln(env.Stderr, agentsUsage)
		return 2
	}
	if *asJSON {
		return printJSON(env, g)
	}
	fmt.Fprintf(env.Stdout, "agent group %s (id %d): %d agents, jobs route to it with runs-on: [%s%s]\n", g.Name, g.ID, g.AgentsCount, lathe.GroupLabelPrefix, g.Name)
	return 0
}
