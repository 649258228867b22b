package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/lathe-ci/lathe/local"
	"github.com/lathe-ci/lathe/pipeline"
)

// cmdLint checks pipeline files without running anything: the files named,
// or those of the working directory (.lathe.yml, .lathe/*.yml) as the
// server would read them. It prints one line per problem,
// FILE:LINE:COL: error|warning: MESSAGE (FIELD), and exits 1 when there is
// an error, 0 when there are only warnings or nothing.
func lintCmd(env *Env) *cobra.Command {
	cmd := env.leaf("lint [FILE...]", "check pipeline files (.lathe.yml, .lathe/*.yml or FILE...) and report errors and warnings", func(fs *pflag.FlagSet) body {
		dir := fs.String("dir", ".", "the directory whose pipeline files to check when no FILE is named")
		return func(_ context.Context, pos []string) int { return lint(env, *dir, pos) }
	})
	cmd.Long = "Checks pipeline files; with no FILE, .lathe.yml and .lathe/*.yml of DIR."
	return cmd
}

func lint(env *Env, dir string, names []string) int {
	files, err := lintFiles(dir, names)
	if err != nil {
		fmt.Fprintf(env.Stderr, "lathe lint: %v\n", err)
		return 1
	}
	errs, warns := pipeline.Lint(files)
	for _, list := range []pipeline.ErrorList{errs, warns} {
		for _, e := range list {
			sev := "error"
			if e.Severity == pipeline.SeverityWarning {
				sev = "warning"
			}
			field := ""
			if e.Field != "" {
				field = " (" + e.Field + ")"
			}
			fmt.Fprintf(env.Stdout, "%s:%d:%d: %s: %s%s\n", e.File, e.Line, e.Column, sev, e.Message, field)
		}
	}
	if len(errs) > 0 {
		fmt.Fprintf(env.Stderr, "%d error(s), %d warning(s) in %d file(s)\n", len(errs), len(warns), len(files))
		return 1
	}
	return 0
}

// lintFiles reads the named files, or dir's pipeline files, exactly as
// `lathe exec` finds them, when none are named.
func lintFiles(dir string, names []string) ([]pipeline.File, error) {
	if len(names) == 0 {
		return local.ReadFiles(dir)
	}
	files := make([]pipeline.File, 0, len(names))
	for _, name := range names {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		files = append(files, pipeline.File{Path: name, Data: data})
	}
	return files, nil
}
