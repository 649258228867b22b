package cli

import (
	"fmt"
	"net/http"
	"net/url"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	lathe "github.com/lathe-ci/lathe"
)

const holdLong = `A hold keeps the workspaces of a job's next N failed attempts on their agents
for the duration, and shows where they are.`

func holdCmd(env *Env) *cobra.Command {
	base := func(project string) string { return "/api/v1/projects/" + url.PathEscape(project) + "/holds" }
	showOne := func(env *Env, h *lathe.Hold, _ []string) { printHolds(env, []*lathe.Hold{h}) }
	create := answerCmd(env, "create PROJECT --pipeline P --job J", "hold the workspaces of a job's next failures", 1, true,
		func(fs *pflag.FlagSet) func([]string) (request, error) {
			pipeline := fs.String("pipeline", "", "the pipeline of the job (required)")
			job := fs.String("job", "", "the job whose failures to hold (required)")
			count := fs.Int("count", 1, "how many failed attempts to hold")
			duration := fs.String("duration", "2h", "how long to keep each workspace")
			reason := fs.String("reason", "", "why (shown with the hold)")
			return func(pos []string) (request, error) {
				if *pipeline == "" || *job == "" {
					return request{}, fmt.Errorf("hold create: --pipeline and --job are required")
				}
				in := map[string]any{"pipeline": *pipeline, "job": *job, "count": *count, "duration": *duration, "reason": *reason}
				return request{method: http.MethodPost, path: base(pos[0]), body: in}, nil
			}
		}, showOne)
	type holds items[*lathe.Hold]
	list := answerCmd(env, "list PROJECT", "list a project's holds and the workspaces they keep", 1, true,
		noFlags(func(pos []string) request { return get(base(pos[0])) }),
		func(env *Env, list *holds, _ []string) { printHolds(env, list.Items) })
	show := answerCmd(env, "get PROJECT HOLD", "show a hold and the workspaces it keeps", 2, false,
		noFlags(func(pos []string) request { return get(base(pos[0]) + "/" + url.PathEscape(pos[1])) }), showOne)
	del := deleteCmd(env, "delete PROJECT HOLD", "delete a hold (the workspaces it kept stay until they expire)", 2,
		func(pos []string) string { return base(pos[0]) + "/" + url.PathEscape(pos[1]) },
		func(pos []string) string {
			return fmt.Sprintf("deleted hold %s; workspaces it kept stay until they expire", pos[1])
		})
	return group("hold", "keep the workspaces of a job's next failures for inspection: create, list, get, delete", holdLong, create, list, show, del)
}

// printHolds prints one line per hold, then one per workspace it kept.
func printHolds(env *Env, holds []*lathe.Hold) {
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOLD\tPIPELINE\tJOB\tLEFT\tKEEP\tREASON")
	for _, h := range holds {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\n", h.ID, field(h.Pipeline), field(h.Job), h.Count, time.Duration(h.DurationSec)*time.Second, field(h.Reason))
		for _, x := range h.Held {
			fmt.Fprintf(tw, "\tattempt %d (%s)\ton %s\tuntil %s\t%s\t\n", x.AttemptID, x.Status, field(x.Agent),
				x.ExpiresAt.Local().Format(time.DateTime), field(x.Path))
		}
	}
	tw.Flush()
}
