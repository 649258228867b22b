package cli

import (
	"fmt"
	"net/url"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	lathe "github.com/lathe-ci/lathe"
)

// configErrorsCmd is `lathe config-errors PROJECT`: the problems the
// server met the last time it read each branch's pipeline files, one line
// each as lathe lint prints them (FILE:LINE:COL: error|warning: MESSAGE
// (FIELD)), under a line naming the branch and the commit read.
func configErrorsCmd(env *Env) *cobra.Command {
	type configErrors items[*lathe.ConfigErrors]
	cmd := answerCmd(env, "config-errors PROJECT", "show the problems the server met reading each branch's pipeline files", 1, false,
		func(fs *pflag.FlagSet) func(pos []string) (request, error) {
			flags := map[string]*string{
				"branch":   fs.String("branch", "", "only this branch's"),
				"severity": fs.String("severity", "", "only problems of this severity: error or warning"),
			}
			return func(pos []string) (request, error) {
				path := "/api/v1/projects/" + url.PathEscape(pos[0]) + "/config-errors"
				q := url.Values{}
				queryFlags(q, flags)
				if len(q) > 0 {
					path += "?" + q.Encode()
				}
				return get(path), nil
			}
		},
		func(env *Env, list *configErrors, pos []string) {
			if len(list.Items) == 0 {
				fmt.Fprintf(env.Stdout, "no pipeline configuration problems in %s\n", field(pos[0]))
				return
			}
			for i, ce := range list.Items {
				if i > 0 {
					fmt.Fprintln(env.Stdout)
				}
				fmt.Fprintf(env.Stdout, "branch %s at %.12s (read %s):\n", field(ce.Branch), field(ce.Commit), ce.UpdatedAt.Local().Format("2006-01-02 15:04:05"))
				for _, e := range ce.Errors {
					sev := e.Severity
					if sev != "warning" {
						sev = "error"
					}
					where := ""
					if e.Field != "" {
						where = " (" + field(e.Field) + ")"
					}
					fmt.Fprintf(env.Stdout, "%s:%d:%d: %s: %s%s\n", field(e.File), e.Line, e.Column, sev, printable(e.Message, ""), where)
				}
			}
		})
	cmd.Long = "Shows the problems Lathe met the last time it read the pipeline files of each\n" +
		"branch of PROJECT, as lathe lint prints them (FILE:LINE:COL: error|warning: MESSAGE).\n" +
		"A branch is listed while its newest read commit has problems; reading a clean\n" +
		"commit of it clears them."
	return cmd
}
