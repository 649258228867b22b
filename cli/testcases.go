package cli

import (
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
	// casePage adds --limit and --before and returns the query they make.
	casePage := func(fs *pflag.FlagSet, what string) func() url.Values {
		limit := fs.Int("limit", 50, "how many "+what)
		before := fs.String("before", "", "the page after this cursor")
		return func() url.Values {
			q := url.Values{"limit": {strconv.Itoa(*limit)}}
			queryFlags(q, map[string]*string{"before": before})
			return q
		}
	}
	history := answerCmd(env, "history ID", "show a test case's results across runs, newest first", 1, false,
		func(fs *pflag.FlagSet) func(pos []string) (request, error) {
			branch := fs.String("branch", "", "only runs of this branch")
			page := casePage(fs, "results")
			return func(pos []string) (request, error) {
				id, err := testCaseArg(pos)
				if err != nil {
					return request{}, err
				}
				q := page()
				queryFlags(q, map[string]*string{"branch": branch})
				return get(base(id) + "/history?" + q.Encode()), nil
			}
		},
		func(env *Env, h *lathe.TestHistory, _ []string) {
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
		})
	type commentPage struct {
		Items []*lathe.TestComment `json:"items"`
		Next  *int64               `json:"next"`
	}
	comments := answerCmd(env, "comments ID", "list the comments on a test case, newest first", 1, true,
		func(fs *pflag.FlagSet) func(pos []string) (request, error) {
			page := casePage(fs, "comments")
			return func(pos []string) (request, error) {
				id, err := testCaseArg(pos)
				if err != nil {
					return request{}, err
				}
				return get(base(id) + "/comments?" + page().Encode()), nil
			}
		},
		func(env *Env, list *commentPage, _ []string) {
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTATE\tAUTHOR\tCREATED\tTEXT")
			for _, c := range list.Items {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", c.ID, c.State, field(c.Author), c.CreatedAt.Local().Format(time.DateTime), field(c.Text))
			}
			tw.Flush()
			printMore(env, list.Next)
		})
	comment := answerCmd(env, "comment ID TEXT", "comment on a test case, putting it in a state (--state: "+strings.Join(lathe.TestCaseStates, ", ")+")", 2, false,
		func(fs *pflag.FlagSet) func(pos []string) (request, error) {
			state := fs.String("state", "", "the state the comment puts the test case in: "+strings.Join(lathe.TestCaseStates, ", ")+" (default open)")
			return func(pos []string) (request, error) {
				id, err := testCaseArg(pos)
				if err != nil {
					return request{}, err
				}
				in := map[string]string{"text": pos[1]}
				if *state != "" {
					in["state"] = *state
				}
				return request{method: http.MethodPost, path: base(id) + "/comments", body: in}, nil
			}
		},
		func(env *Env, c *lathe.TestComment, _ []string) {
			fmt.Fprintf(env.Stdout, "comment %d on test case %d: %s\n", c.ID, c.TestCaseID, c.State)
		})
	return group("test-case", "show a test case's history across runs, and its comments: history, comments, comment", testCaseLong,
		history, comments, comment)
}

// testCaseArg reads the test case ID, the first positional argument.
func testCaseArg(pos []string) (int64, error) {
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%q is not a test case ID (see the CASE column of lathe tests RUN)", pos[0])
	}
	return id, nil
}
