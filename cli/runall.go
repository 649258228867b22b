package cli

import (
	"context"
	"fmt"
	"net/http"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
)

// runAll starts every pipeline a trigger without --pipeline selects (the
// server answers with the list), prints each run (or the answer, as o
// asks) and why others did not start, and with --follow follows the run
// when there is one.
func runAll(ctx context.Context, c *client.Client, path string, in map[string]any, follow bool, o *output, env *Env) int {
	var out struct {
		Items  []*lathe.Run `json:"items"`
		Errors []string     `json:"errors"`
	}
	if err := o.wrap(c.Do)(ctx, http.MethodPost, path, in, &out); err != nil {
		return fail(env, err)
	}
	if o.structured() {
		if code := o.print(env, out); code != 0 {
			return code
		}
	} else {
		for _, run := range out.Items {
			printStarted(env, run)
		}
	}
	for _, e := range out.Errors {
		fmt.Fprintf(env.Stderr, "not started: %s\n", e)
	}
	if !follow {
		return 0
	}
	if len(out.Items) != 1 {
		fmt.Fprintf(env.Stderr, "%d runs started; follow one with `lathe logs -f RUN`, or name a pipeline with --pipeline\n", len(out.Items))
		return 1
	}
	return followInteractive(ctx, c, out.Items[0].ID, env, logQuery{step: -1})
}
