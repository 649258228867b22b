package cli

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	lathe "github.com/lathe-ci/lathe"
)

const scheduleLong = `A schedule is one cron trigger of a pipeline (its on: schedule:), as the server
last read the pipelines of the project's default branch. A paused schedule does
not fire; resumed, it fires next at its next time from then, never for the
firings it missed.`

// scheduleCmd lists a project's cron schedules and pauses or resumes one.
func scheduleCmd(env *Env) *cobra.Command {
	base := func(project string) string { return "/api/v1/projects/" + url.PathEscape(project) + "/schedules" }
	type schedules items[*lathe.Schedule]
	list := answerCmd(env, "list PROJECT", "list a project's cron schedules: pipeline, branch, next firing (UTC), last firing, paused", 1, true,
		noFlags(func(pos []string) request { return get(base(pos[0])) }),
		func(env *Env, list *schedules, _ []string) {
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tPIPELINE\tBRANCH\tCRON\tNEXT (UTC)\tLAST FIRED\tPAUSED")
			for _, sc := range list.Items {
				last := "never"
				if sc.LastFiredAt != nil {
					last = sc.LastFiredAt.UTC().Format("2006-01-02 15:04:05")
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%t\n", sc.ID, field(sc.Pipeline), field(sc.Branch), field(sc.Cron),
					sc.NextAt.UTC().Format("2006-01-02 15:04:05"), last, sc.Paused)
			}
			tw.Flush()
		})
	// set pauses or resumes a schedule.
	set := func(verb, short string) *cobra.Command {
		return answerCmd(env, verb+" PROJECT ID", short, 2, false,
			func(*pflag.FlagSet) func(pos []string) (request, error) {
				return func(pos []string) (request, error) {
					id, err := strconv.ParseInt(pos[1], 10, 64)
					if err != nil || id <= 0 {
						return request{}, fmt.Errorf("%q is not a schedule ID (lathe schedule list %s shows them)", pos[1], pos[0])
					}
					return request{method: http.MethodPost, path: fmt.Sprintf("%s/%d/%s", base(pos[0]), id, verb)}, nil
				}
			},
			func(env *Env, sc *lathe.Schedule, pos []string) {
				state := "paused"
				if !sc.Paused {
					state = "resumed: next firing " + sc.NextAt.UTC().Format("2006-01-02 15:04:05") + " UTC"
				}
				fmt.Fprintf(env.Stdout, "schedule %d of %s (%s, %s) %s\n", sc.ID, field(pos[0]), field(sc.Pipeline), field(sc.Cron), state)
			})
	}
	return group("schedule", "manage a project's cron schedules: list, pause, resume", scheduleLong,
		list, set("pause", "pause a schedule: it does not fire until resumed"),
		set("resume", "resume a paused schedule: it fires next at its next time from now"))
}
