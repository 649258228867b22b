package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"text/tabwriter"
	"time"

	lathe "github.com/lathe-ci/lathe"
)

const holdUsage = `Usage:
  lathe hold create PROJECT --pipeline P --job J [--count N] [--duration 2h] [--reason R]
  lathe hold list PROJECT
  lathe hold get PROJECT HOLD
  lathe hold delete PROJECT HOLD
A hold keeps the workspaces of a job's next N failed attempts on their agents
for the duration, and shows where they are.`

func cmdHold(ctx context.Context, args []string, env *Env) int {
	if len(args) == 0 {
		fmt.Fprintln(env.Stderr, holdUsage)
		return 2
	}
	sub, args := args[0], args[1:]
	fs := newFlags(env, "hold "+sub, "PROJECT [HOLD]")
	mk := clientFlags(fs, env)
	pipeline := fs.String("pipeline", "", "create: the pipeline of the job")
	job := fs.String("job", "", "create: the job whose failures to hold")
	count := fs.Int("count", 1, "create: how many failed attempts to hold")
	duration := fs.String("duration", "2h", "create: how long to keep each workspace")
	reason := fs.String("reason", "", "create: why (shown with the hold)")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) == 0 {
		fmt.Fprintln(env.Stderr, holdUsage)
		return 2
	}
	c := mk()
	base := "/api/v1/projects/" + url.PathEscape(pos[0]) + "/holds"
	var holds []*lathe.Hold
	switch {
	case sub == "create" && len(pos) == 1:
		if *pipeline == "" || *job == "" {
			return fail(env, fmt.Errorf("hold create: --pipeline and --job are required"))
		}
		in := map[string]any{"pipeline": *pipeline, "job": *job, "count": *count, "duration": *duration, "reason": *reason}
		var h lathe.Hold
		if err := c.Do(ctx, http.MethodPost, base, in, &h); err != nil {
			return fail(env, err)
		}
		if *asJSON {
			return printJSON(env, h)
		}
		holds = []*lathe.Hold{&h}
	case sub == "list" && len(pos) == 1:
		var list struct {
			Items []*lathe.Hold `json:"items"`
		}
		if err := c.Do(ctx, http.MethodGet, base, nil, &list); err != nil {
			return fail(env, err)
		}
		if *asJSON {
			return printJSON(env, list)
		}
		holds = list.Items
	case sub == "get" && len(pos) == 2:
		var h lathe.Hold
		if err := c.Do(ctx, http.MethodGet, base+"/"+url.PathEscape(pos[1]), nil, &h); err != nil {
			return fail(env, err)
		}
		if *asJSON {
			return printJSON(env, h)
		}
		holds = []*lathe.Hold{&h}
	case sub == "delete" && len(pos) == 2:
		if err := c.Do(ctx, http.MethodDelete, base+"/"+url.PathEscape(pos[1]), nil, nil); err != nil {
			return fail(env, err)
		}
		fmt.Fprintf(env.Stdout, "deleted hold %s; workspaces it kept stay until they expire\n", pos[1])
		return 0
	default:
		fmt.Fprintln(env.Stderr, holdUsage)
		return 2
	}
	printHolds(env, holds)
	return 0
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
