package cli

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// auditEvent is one entry of the audit log, as the API sends it.
type auditEvent struct {
	ID        int64          `json:"id"`
	At        string         `json:"at"`
	Actor     string         `json:"actor"`
	Action    string         `json:"action"`
	ProjectID *int64         `json:"project_id"`
	Details   map[string]any `json:"details"`
}

// auditTargets are the details that name what an event acted on, in the
// order the first found is shown as its target.
var auditTargets = []string{"branch", "schedule_id", "environment", "secret", "user", "team", "owner", "agent", "agent_id",
	"run_id", "job_id", "version", "pipeline", "token", "token_id", "webhook_id", "hold_id", "hook_token_id", "forge_id", "tool"}

// eventsCmd is `lathe events`: the audit log, everything (admins) or one
// project's (its owners).
func eventsCmd(env *Env) *cobra.Command {
	type events struct {
		Items []*auditEvent `json:"items"`
		Next  *int64        `json:"next"`
	}
	cmd := answerCmd(env, "events", "show the audit log, newest first: everything (admins) or --project's (its owners)", 0, true,
		func(fs *pflag.FlagSet) func(pos []string) (request, error) {
			project := fs.String("project", "", "only this project's events (its owners may read them)")
			flags := map[string]*string{
				"type":  fs.String("type", "", "only events of this `ACTION` (login, role.granted, schedule.paused, …), or of those under it (agent)"),
				"actor": fs.String("actor", "", "only events of this `USER`"),
				"since": fs.String("since", "", "only events at or after this `TIME` (RFC 3339)"),
				"until": fs.String("until", "", "only events before this `TIME` (RFC 3339)"),
			}
			page := pageFlags(fs, "events", 50, 200)
			return func(pos []string) (request, error) {
				q := url.Values{}
				queryFlags(q, flags)
				path := "/api/v1/events"
				if *project != "" {
					path = "/api/v1/projects/" + url.PathEscape(*project) + "/events"
				}
				return get(path + "?" + page.query(q)), nil
			}
		},
		func(env *Env, page *events, _ []string) {
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TIME\tACTOR\tACTION\tTARGET\tDETAIL")
			for _, ev := range page.Items {
				target, detail := auditTarget(ev.Details)
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", auditTime(ev.At), field(ev.Actor), field(ev.Action), target, detail)
			}
			tw.Flush()
			printMore(env, page.Next)
		})
	cmd.Long = "Shows the audit log: who did what, when. Without --project it is the whole log\n" +
		"(admins); with it, that project's events (its owners)."
	return cmd
}

// auditTime is an event's time in local time, or as sent when it does not parse.
func auditTime(at string) string {
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		return field(at)
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

// auditTarget splits an event's details into what it acted on (its
// project, then the first of auditTargets it has) and the rest, as
// KEY=VALUE pairs ordered by key.
func auditTarget(details map[string]any) (target, detail string) {
	rest := map[string]any{}
	for k, v := range details {
		rest[k] = v
	}
	var parts []string
	if p, ok := rest["project"].(string); ok && p != "" {
		parts = append(parts, field(p))
		delete(rest, "project")
	}
	for _, k := range auditTargets {
		if v, ok := rest[k]; ok && v != nil && v != "" {
			parts = append(parts, strings.TrimSuffix(k, "_id")+" "+auditValue(v))
			delete(rest, k)
			break
		}
	}
	keys := make([]string, 0, len(rest))
	for k := range rest {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	pairs := make([]string, len(keys))
	for i, k := range keys {
		pairs[i] = field(k) + "=" + auditValue(rest[k])
	}
	target, detail = strings.Join(parts, " "), strings.Join(pairs, " ")
	if target == "" {
		target = "-"
	}
	return target, detail
}

// auditValue prints one detail: a string as it is (quoted when it holds a
// space, '=' or '"'), a whole number without an exponent, anything else as JSON.
func auditValue(v any) string {
	switch v := v.(type) {
	case string:
		if v == "" || strings.ContainsAny(v, " =\"") {
			return field(strconv.Quote(v))
		}
		return field(v)
	case float64:
		if v == float64(int64(v)) {
			return strconv.FormatInt(int64(v), 10)
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return field(fmt.Sprint(v))
	}
	return field(string(b))
}
