package cli

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	lathe "github.com/lathe-ci/lathe"
)

const secretRulesLong = `A global secret reaches only the projects it is granted to (admins only).
protect limits a secret to runs on branches matching LIST (comma-separated
names or patterns such as main,release/*; a tag run is matched by its tag
name, a pull request's run never) and started by the events in LIST (push,
pull_request, tag, schedule, manual, webhook, pipeline). An empty LIST ("")
removes that limit; a flag left out keeps it. The server decides from the
run's own ref and event; a job naming a secret its run may not have fails,
saying which secret and why.`

// secretRuleCmd is `lathe secrets grant|revoke|protect`: who may have a
// secret (PATCH on the secret).
func secretRuleCmd(env *Env, sub string) *cobra.Command {
	use := map[string]string{"grant": "grant NAME PROJECT...", "revoke": "revoke NAME PROJECT...", "protect": "protect NAME"}[sub]
	short := map[string]string{
		"grant":   "let these projects' jobs have the global secret NAME (admins)",
		"revoke":  "take the global secret NAME from these projects (admins)",
		"protect": "limit a secret to runs on some branches (--branches) and events (--events)",
	}[sub]
	cmd := env.leaf(use, short, func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		var project, branches, events *string
		if sub == "protect" {
			project = fs.String("project", "", "the project whose secret it is; empty: a global secret")
			branches = fs.String("branches", "", "comma-separated branch names or patterns; \"\" removes the limit")
			events = fs.String("events", "", "comma-separated events; \"\" removes the limit")
		}
		out := outputFlags(fs, false)
		return func(ctx context.Context, pos []string) int {
			c := mk()
			var rules lathe.SecretRules
			path := "/api/v1/secrets/"
			switch {
			case sub != "protect" && len(pos) >= 2:
				var sec lathe.Secret
				if err := c.Do(ctx, http.MethodGet, path+url.PathEscape(pos[0]), nil, &sec); err != nil {
					return fail(env, err)
				}
				projects := slices.DeleteFunc(sec.Projects, func(p string) bool { return slices.Contains(pos[1:], p) })
				if sub == "grant" {
					projects = append(projects, pos[1:]...)
				}
				rules.Projects = &projects
			case sub == "protect" && len(pos) == 1 && (fs.Changed("branches") || fs.Changed("events")):
				if *project != "" {
					path = "/api/v1/projects/" + url.PathEscape(*project) + "/secrets/"
				}
				if fs.Changed("branches") {
					list := splitList(*branches)
					rules.Branches = &list
				}
				if fs.Changed("events") {
					list := splitList(*events)
					rules.Events = &list
				}
			default:
				return badUsage
			}
			var sec lathe.Secret
			if err := out.wrap(c.Do)(ctx, http.MethodPatch, path+url.PathEscape(pos[0]), rules, &sec); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, sec)
			}
			printSecrets(env, []*lathe.Secret{&sec})
			return 0
		}
	})
	cmd.Long = secretRulesLong
	return cmd
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

// orNone is fields of list, or "(none)" for an empty one.
func orNone(list []string) string {
	if len(list) == 0 {
		return "(none)"
	}
	return fields(list)
}
