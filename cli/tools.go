package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/tool"
)

const toolLong = `A tool is a directory with a lathe-tool.yml manifest:
  name: greet
  version: "1.0"
  description: Says hello
  entrypoint: run.sh          # an executable file of the directory
  params:
    who: {type: string}                    # no default: required
    times: {type: number, default: "1"}    # string, number or boolean
A step runs it as ` + "`uses: greet@1.0`" + ` with ` + "`with: {who: world}`" + `; the entry point
gets each parameter as INPUT_<NAME> (INPUT_WHO) and its own directory as
LATHE_TOOL_DIR, and runs in the job's workspace.`

func toolCmd(env *Env) *cobra.Command {
	push := env.leaf("push DIR", "publish the tool in DIR (admins)", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		out := outputFlags(fs, false)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 1 {
				return badUsage
			}
			t, err := pushTool(ctx, mk(), pos[0])
			if err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, t)
			}
			fmt.Fprintf(env.Stdout, "published %s@%s (%d bytes, sha256 %s)\n", t.Name, t.Version, t.Size, t.SHA256)
			return 0
		}
	})
	list := env.leaf("list [NAME]", "list published tools (NAME: its versions)", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		out := outputFlags(fs, false)
		return func(ctx context.Context, pos []string) int {
			if len(pos) > 1 {
				return badUsage
			}
			list, err := mk().Tools(ctx, pos0(pos))
			if err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, map[string]any{"items": list})
			}
			printTools(env, list)
			return 0
		}
	})
	del := env.leaf("delete NAME@VERSION", "delete a published version (admins)", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 1 {
				return badUsage
			}
			name, version, err := lathe.ParseToolRef(pos[0])
			if err != nil {
				return fail(env, err)
			}
			if err := mk().DeleteTool(ctx, name, version); err != nil {
				return fail(env, err)
			}
			fmt.Fprintf(env.Stdout, "deleted %s\n", pos[0])
			return 0
		}
	})
	get := env.leaf("get NAME@VERSION", "show a published version: its size, checksum, parameters and who published it", func(fs *pflag.FlagSet) body {
		mk := clientFlags(fs, env)
		out := outputFlags(fs, false)
		return func(ctx context.Context, pos []string) int {
			if len(pos) != 1 {
				return badUsage
			}
			name, version, err := lathe.ParseToolRef(pos[0])
			if err != nil {
				return fail(env, err)
			}
			var t lathe.Tool
			if err := out.wrap(mk().Do)(ctx, http.MethodGet, "/api/v1/tools/"+url.PathEscape(name)+"/"+url.PathEscape(version), nil, &t); err != nil {
				return fail(env, err)
			}
			if out.structured() {
				return out.print(env, t)
			}
			printTools(env, []*lathe.Tool{&t})
			fmt.Fprintf(env.Stdout, "sha256 %s\n", t.SHA256)
			return 0
		}
	})
	return group("tool", "publish (push DIR), list, get or delete reusable tools that steps run with uses: NAME@VERSION", toolLong, push, list, get, del)
}

// toolClient is what pushTool needs of the client.
type toolClient interface {
	PublishTool(ctx context.Context, archive io.Reader, size int64, sum string) (*lathe.Tool, error)
}

// pushTool archives the tool directory dir (checking it as the server
// will) and publishes it.
func pushTool(ctx context.Context, c toolClient, dir string) (*lathe.Tool, error) {
	tmp, err := os.CreateTemp("", "lathe-tool-*.tar.gz")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	h := sha256.New()
	if _, err := tool.Pack(io.MultiWriter(tmp, h), dir); err != nil {
		return nil, fmt.Errorf("tool %s: %w", dir, err)
	}
	size, err := tmp.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, err
	}
	if _, err := tool.Inspect(io.NewSectionReader(tmp, 0, size), tool.DefaultLimits); err != nil {
		return nil, fmt.Errorf("tool %s: %w", dir, err)
	}
	return c.PublishTool(ctx, io.NewSectionReader(tmp, 0, size), size, hex.EncodeToString(h.Sum(nil)))
}

func printTools(env *Env, list []*lathe.Tool) {
	if len(list) == 0 {
		fmt.Fprintln(env.Stdout, "no tools: publish one with `lathe tool push DIR`")
		return
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TOOL\tVERSION\tSIZE\tPUBLISHED\tBY\tDESCRIPTION")
	for _, t := range list {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", field(t.Name), field(t.Version), t.Size, fmtTime(&t.CreatedAt), field(t.CreatedBy), field(t.Description))
	}
	tw.Flush()
}
