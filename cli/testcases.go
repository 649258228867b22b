package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	lathe "github.com/lathe-ci/lathe"
)

const testCaseLong = `A test case is one test of one job of a pipeline, across its runs. Its ID is
the CASE column of lathe tests RUN (the id of each item of lathe tests RUN --json).`

// testCaseCmd is `lathe test-case`: a test case's history across runs and
// the comments on it.
func testCaseCmd(env *Env) *cobra.Command {
	base := func(id int64) string { return fmt.Sprintf("/api/v1/test-cases/%d", id) }
	// pageFlags adds --limit and --before and returns the query they make.
	pageFlags := func(fs *pflag.FlagSet, what string) func() url.Values {
		limit := fs.Int("limit", 50, "how many "+what)
		before := fs.String("before", "", "the page after this cursor")
		return func() url.Values {
			q := url.Values{"limit": {strconv.Itoa(*limit)}}
			queryFlags(q, map[string]*string{"before": before})
			return q
		}
	}
	history := env.leaf("history ID", "show a test case's results across runs, newest first", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		branch := fs.String("branch", "", "only runs of this branch")
		page := pageFlags(fs, "results")
		out := outputFlags(fs, false)
		return func(ctx context.Context, pos []string) int {
			id, code, ok := testCaseArg(env, pos, 1)
			if !ok {
				return code
			}
			q := page()
			queryFlags(q, map[string]*string{"branch": branch})
			var h lathe.TestHistory
			if err := out.wrap(mk().Do)(ctx, http.MethodGet, base(id)+"/history?"+q.Encode(), nil, &h); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, h)
			}
			if tc := h.TestCase; tc != nil {
				fmt.Fprintf(env.Stdout, "test case %d: %s %s (job %s of pipeline %s)\n", tc.ID, field(tc.Suite), field(tc.Name), field(tc.Job), field(tc.Pipeline))
			}
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "RUN\tBRANCH\tCOMMIT\tSTATUS\tCHANGE\tINSTABILITY\tMS\tMESSAGE")
			for _, e := range h.Items {
				fmt.Fprintf(tw, "%d\t%s\t%.12s\t%s\t%s\t%d\t%d\t%s\n", e.RunID, field(e.Branch), e.Commit, e.Status, e.Change, e.Instability, e.DurationMS, field(e.Message))
			}
			tw.Flush()
			if h.Next != nil {
				fmt.Fprintf(env.Stdout, "more: --before %d\n", *h.Next)
			}
			return 0
		}
	})
	comments := env.leaf("comments ID", "list the comments on a test case, newest first", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		page := pageFlags(fs, "comments")
		out := outputFlags(fs, true)
		return func(ctx context.Context, pos []string) int {
			id, code, ok := testCaseArg(env, pos, 1)
			if !ok {
				return code
			}
			var list struct {
				Items []*lathe.TestComment `json:"items"`
				Next  *int64               `json:"next"`
			}
			if err := out.wrap(mk().Do)(ctx, http.MethodGet, base(id)+"/comments?"+page().Encode(), nil, &list); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, list)
			}
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTATE\tAUTHOR\tCREATED\tTEXT")
			for _, c := range list.Items {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", c.ID, c.State, field(c.Author), c.CreatedAt.Local().Format(time.DateTime), field(c.Text))
			}
			tw.Flush()
			if list.Next != nil {
				fmt.Fprintf(env.Stdout, "more: --before %d\n", *list.Next)
			}
			return 0
		}
	})
	comment := env.leaf("comment ID TEXT", "comment on a test case, putting it in a state (--state: "+strings.Join(lathe.TestCaseStates, ", ")+")", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		state := fs.String("state", "", "the state the comment puts the test case in: "+strings.Join(lathe.TestCaseStates, ", ")+" (default open)")
		out := outputFlags(fs, false)
		return func(ctx context.Context, pos []string) int {
			id, code, ok := testCaseArg(env, pos, 2)
			if !ok {
				return code
			}
			in := map[string]string{"text": pos[1]}
			if *state != "" {
				in["state"] = *state
			}
			var c lathe.TestComment
			if err := out.wrap(mk().Do)(ctx, http.MethodPost, base(id)+"/comments", in, &c); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, c)
			}
			fmt.Fprintf(env.Stdout, "comment %d on test case %d: %s\n", c.ID, c.TestCaseID, c.State)
			return 0
		}
	})
	return group("test-case", "show a test case's history across runs, and its comments: history, comments, comment", testCaseLong,
		history, comments, comment)
}

// testCaseArg reads the test case ID of a command taking n positional
// arguments, the first of them the ID.
func testCaseArg(env *Env, pos []string, n int) (int64, int, bool) {
	if len(pos) != n {
		return 0, badUsage, false
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil || id <= 0 {
		return 0, fail(env, fmt.Errorf("%q is not a test case ID (see the CASE column of lathe tests RUN)", pos[0])), false
	}
	return id, 0, true
}
