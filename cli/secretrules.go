package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	lathe "github.com/lathe-ci/lathe"
)

const secretRulesUsage = `Usage:
  lathe secrets grant NAME PROJECT...     let these projects' jobs have the global secret NAME
  lathe secrets revoke NAME PROJECT...    take the global secret NAME from these projects
  lathe secrets protect [--project P] [--branches LIST] [--events LIST] NAME
A global secret reaches only the projects it is granted to (admins only).
protect limits a secret to runs on branches matching LIST (comma-separated
names or patterns such as main,release/*; a tag run is matched by its tag
name, a pull request's run never) and started by the events in LIST (push,
pull_request, tag, schedule, manual, webhook, pipeline). An empty LIST ("")
removes that limit; a flag left out keeps it. The server decides from the
run's own ref and event; a job naming a secret its run may not have fails,
saying which secret and why.`

// cmdSecretRules is `lathe secrets grant|revoke|protect`: who may have a
// secret (PATCH on the secret).
func cmdSecretRules(ctx context.Context, sub string, args []string, env *Env) int {
	fs := newFlags(env, "secrets "+sub, "NAME")
	mk := clientFlags(fs, env)
	project := fs.String("project", "", "protect: the project whose secret it is; empty: a global secret")
	branches := fs.String("branches", "", "protect: comma-separated branch names or patterns; \"\" removes the limit")
	events := fs.String("events", "", "protect: comma-separated events; \"\" removes the limit")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	c := mk()
	var rules lathe.SecretRules
	path := "/api/v1/secrets/"
	switch {
	case (sub == "grant" || sub == "revoke") && len(pos) >= 2 && !flagSet(fs, "project"):
		var sec lathe.Secret
		if err := c.Do(ctx, http.MethodGet, path+url.PathEscape(pos[0]), nil, &sec); err != nil {
			return fail(env, err)
		}
		projects := slices.DeleteFunc(sec.Projects, func(p string) bool { return slices.Contains(pos[1:], p) })
		if sub == "grant" {
			projects = append(projects, pos[1:]...)
		}
		rules.Projects = &projects
	case sub == "protect" && len(pos) == 1 && (flagSet(fs, "branches") || flagSet(fs, "events")):
		if *project != "" {
			path = "/api/v1/projects/" + url.PathEscape(*project) + "/secrets/"
		}
		if flagSet(fs, "branches") {
			list := splitList(*branches)
			rules.Branches = &list
		}
		if flagSet(fs, "events") {
			list := splitList(*events)
			rules.Events = &list
		}
	default:
		fmt.Fprintln(env.Stderr, secretRulesUsage)
		return 2
	}
	var sec lathe.Secret
	if err := c.Do(ctx, http.MethodPatch, path+url.PathEscape(pos[0]), rules, &sec); err != nil {
		return fail(env, err)
	}
	if *asJSON {
		return printJSON(env, sec)
	}
	printSecrets(env, []*lathe.Secret{&sec})
	return 0
}

// secretAccess says in a few words who may have a secret.
func secretAccess(s *lathe.Secret) string {
	var parts []string
	if s.Project == "" {
		parts = append(parts, "projects "+orNone(s.Projects))
	}
	if len(s.Branches) > 0 {
		parts = append(parts, "branches "+strings.Join(s.Branches, ","))
	}
	if len(s.Events) > 0 {
		parts = append(parts, "events "+strings.Join(s.Events, ","))
	}
	if len(parts) == 0 {
		return "any run"
	}
	return strings.Join(parts, "; ")
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "(none)"
	}
	return strings.Join(list, ",")
}
