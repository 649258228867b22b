package cli

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	lathe "github.com/lathe-ci/lathe"
)

// storedPipelineCmd is `lathe stored-pipeline`: pipelines the server
// keeps for a project, beside its repository's files.
func storedPipelineCmd(env *Env) *cobra.Command {
	path := func(project, name string) string {
		p := "/api/v1/projects/" + url.PathEscape(project) + "/stored-pipelines"
		if name != "" {
			p += "/" + url.PathEscape(name)
		}
		return p
	}
	put := answerCmd(env, "put PROJECT NAME [FILE]", "store a pipeline for a project, from FILE or stdin (owners); it runs beside the repository's", -1, false,
		func(*pflag.FlagSet) func([]string) (request, error) {
			return func(pos []string) (request, error) {
				if len(pos) != 2 && len(pos) != 3 {
					return request{}, errUsage
				}
				var b []byte
				var err error
				if len(pos) == 3 {
					b, err = os.ReadFile(pos[2])
				} else {
					b, err = io.ReadAll(io.LimitReader(env.Stdin, 4<<20))
				}
				if err != nil {
					return request{}, fmt.Errorf("read the pipeline: %w", err)
				}
				return request{method: http.MethodPut, path: path(pos[0], pos[1]), body: map[string]string{"pipeline_yaml": string(b)}}, nil
			}
		},
		func(env *Env, sp *lathe.StoredPipeline, pos []string) {
			fmt.Fprintf(env.Stdout, "stored pipeline %s of %s (runs beside the repository's pipelines; a file of the same name there wins)\n", field(sp.Name), field(pos[0]))
		})
	show := answerCmd(env, "get PROJECT NAME", "print a stored pipeline's YAML", 2, false,
		noFlags(func(pos []string) request { return get(path(pos[0], pos[1])) }),
		func(env *Env, sp *lathe.StoredPipeline, _ []string) { fmt.Fprint(env.Stdout, sp.YAML) })
	type storedPipelines items[lathe.StoredPipeline]
	list := answerCmd(env, "list PROJECT", "list a project's stored pipelines", 1, false,
		noFlags(func(pos []string) request { return get(path(pos[0], "")) }),
		func(env *Env, list *storedPipelines, _ []string) {
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tUPDATED\tBY")
			for _, sp := range list.Items {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", field(sp.Name), sp.UpdatedAt.Local().Format("2006-01-02 15:04"), field(sp.UpdatedBy))
			}
			tw.Flush()
		})
	del := deleteCmd(env, "delete PROJECT NAME", "delete a stored pipeline (owners); its runs stay", 2,
		func(pos []string) string { return path(pos[0], pos[1]) },
		func(pos []string) string { return fmt.Sprintf("deleted stored pipeline %s of %s", pos[1], pos[0]) })
	return group("stored-pipeline", "pipelines the server keeps for a project, beside its repository's files: put, get, list, delete", "",
		put, show, list, del)
}
