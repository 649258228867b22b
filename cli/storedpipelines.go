package cli

import (
	"context"
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
	put := env.leaf("put PROJECT NAME [FILE]", "store a pipeline for a project, from FILE or stdin (owners); it runs beside the repository's", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		out := outputFlags(fs, false)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 2 && len(pos) != 3 {
				return badUsage
			}
			var b []byte
			var err error
			if len(pos) == 3 {
				b, err = os.ReadFile(pos[2])
			} else {
				b, err = io.ReadAll(io.LimitReader(env.Stdin, 4<<20))
			}
			if err != nil {
				return fail(env, fmt.Errorf("read the pipeline: %w", err))
			}
			var sp lathe.StoredPipeline
			if err := out.wrap(mk().Do)(ctx, http.MethodPut, path(pos[0], pos[1]), map[string]string{"pipeline_yaml": string(b)}, &sp); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, sp)
			}
			fmt.Fprintf(env.Stdout, "stored pipeline %s of %s (runs beside the repository's pipelines; a file of the same name there wins)\n", field(sp.Name), field(pos[0]))
			return 0
		}
	})
	get := env.leaf("get PROJECT NAME", "print a stored pipeline's YAML", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		out := outputFlags(fs, false)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 2 {
				return badUsage
			}
			var sp lathe.StoredPipeline
			if err := out.wrap(mk().Do)(ctx, http.MethodGet, path(pos[0], pos[1]), nil, &sp); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, sp)
			}
			fmt.Fprint(env.Stdout, sp.YAML)
			return 0
		}
	})
	list := env.leaf("list PROJECT", "list a project's stored pipelines", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		out := outputFlags(fs, false)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 1 {
				return badUsage
			}
			var list struct {
				Items []lathe.StoredPipeline `json:"items"`
			}
			if err := out.wrap(mk().Do)(ctx, http.MethodGet, path(pos[0], ""), nil, &list); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, list)
			}
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tUPDATED\tBY")
			for _, sp := range list.Items {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", field(sp.Name), sp.UpdatedAt.Local().Format("2006-01-02 15:04"), field(sp.UpdatedBy))
			}
			tw.Flush()
			return 0
		}
	})
	del := env.leaf("delete PROJECT NAME", "delete a stored pipeline (owners); its runs stay", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 2 {
				return badUsage
			}
			if err := mk().Do(ctx, http.MethodDelete, path(pos[0], pos[1]), nil, nil); err != nil {
				return fail(env, err)
			}
			fmt.Fprintf(env.Stdout, "deleted stored pipeline %s of %s\n", pos[1], pos[0])
			return 0
		}
	})
	return group("stored-pipeline", "pipelines the server keeps for a project, beside its repository's files: put, get, list, delete", "",
		put, get, list, del)
}
