package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// body runs a command once its flags are parsed, with its positional
// arguments, and returns the exit code (badUsage: print the usage, exit 2).
type body func(ctx context.Context, pos []string) int

// badUsage is the code a body returns for arguments that do not fit the
// command: the command's usage is printed to stderr and the exit code is 2.
const badUsage = -2

// exitCode carries a command's exit code through cobra as an error.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit %d", int(e)) }

// leaf makes a command: define declares its flags on fs (so help and
// completion know them) and returns the body that runs it. define runs
// only for the command a line names (see materialize): declaring the
// flags of every command would cost more than all else `lathe --help` does.
func (env *Env) leaf(use, short string, define func(fs *pflag.FlagSet) body) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short}
	var run body
	if env.lazy == nil {
		env.lazy = map[*cobra.Command]func(){}
	}
	env.lazy[cmd] = func() {
		run = define(cmd.Flags())
		completeFormats(cmd)
	}
	cmd.RunE = func(c *cobra.Command, args []string) error {
		env.materialize(c)
		if err := outputConflict(c.Flags()); err != nil {
			return flagError{err}
		}
		code := run(c.Context(), args)
		if code == badUsage {
			fmt.Fprintf(c.ErrOrStderr(), "lathe: %s\n\n", usageMismatch(c, args))
			c.SetOut(c.ErrOrStderr())
			c.Usage()
			code = 2
		}
		if code != 0 {
			return exitCode(code)
		}
		return nil
	}
	return cmd
}

// usageMismatch says that a command line does not fit the command's usage,
// quoting the arguments it was given.
func usageMismatch(c *cobra.Command, args []string) string {
	line := strings.TrimSuffix(c.UseLine(), " [flags]")
	if len(args) == 0 {
		return fmt.Sprintf("%s: arguments missing (usage below)", line)
	}
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = shellQuote(a)
	}
	return fmt.Sprintf("%s: the arguments %s do not fit (usage below)", line, strings.Join(quoted, " "))
}

// materialize declares the flags of cmd, once.
func (env *Env) materialize(cmd *cobra.Command) {
	if f, ok := env.lazy[cmd]; ok {
		delete(env.lazy, cmd)
		f()
	}
}

// group makes a command whose verbs are its subcommands: given none it
// prints its help to stderr (exit 2); given an unknown one it names the
// close ones ("did you mean").
func group(use, short, long string, subs ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short, Long: long, SuggestionsMinimumDistance: 2}
	cmd.AddCommand(subs...)
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if len(args) == 0 {
			c.SetOut(c.ErrOrStderr())
			c.Help()
			return exitCode(2)
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
		if s := c.SuggestionsFor(args[0]); len(s) > 0 {
			msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
		}
		return errors.New(msg + "\n\nRun '" + c.CommandPath() + " --help' for its commands.")
	}
	return cmd
}

// ownsSignals marks a command that handles SIGINT and SIGTERM itself, so
// Main does not turn the first signal into a canceled context for it.
func ownsSignals(cmd *cobra.Command) *cobra.Command {
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations["signals"] = "own"
	return cmd
}

// newRoot builds the command tree for the command line args (without the
// program name): the root with only the top-level command args names, or
// with every command when it names none. Building the whole tree costs
// more than all else `lathe exec` does before its first step. It does no
// I/O: flags only read their environment defaults through env.Getenv.
func newRoot(env *Env, args []string) *cobra.Command {
	root := &cobra.Command{
		Use:   "lathe",
		Short: "Lathe — CI/CD server",
		Long: "Lathe — CI/CD server, agent and client in one binary.\n\n" +
			"Client commands find the server in --server, LATHE_SERVER or the last `lathe login`\n" +
			"(default http://127.0.0.1:8080), and a credential in --token, LATHE_TOKEN, the\n" +
			"login kept for that server, or ./.lathe/admin.token for a server on this machine.",
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	showVersion := root.Flags().Bool("version", false, "print the version of lathe (and of the server, when reachable)")
	root.RunE = func(c *cobra.Command, args []string) error {
		if *showVersion {
			return exitErr(printVersion(c.Context(), env, nil))
		}
		return c.Help()
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return flagError{withFlagSuggestion(c, err)} })
	root.SetIn(env.Stdin)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	if cmd := commandFor(env, args); cmd != nil {
		root.AddCommand(cmd)
	} else {
		root.AddCommand(commandTree(env)...)
	}
	return root
}

// flagError is a flag that does not parse: the command's usage follows it.
type flagError struct{ error }

func (e flagError) Unwrap() error { return e.error }

func exitErr(code int) error {
	if code != 0 {
		return exitCode(code)
	}
	return nil
}

// execute runs one command line (without the program name) on root.
func execute(ctx context.Context, root *cobra.Command, args []string, env *Env) int {
	if len(args) > 0 {
		// `lathe help CMD` and `lathe __complete CMD …` need CMD's flags.
		if c, _, err := root.Find(args[1:]); err == nil {
			env.materialize(c)
		}
	}
	root.SetArgs(normalizeArgs(env, root, args))
	cmd, err := root.ExecuteContextC(ctx)
	var code exitCode
	switch {
	case err == nil:
		return 0
	case errors.As(err, &code):
		return int(code)
	}
	fmt.Fprintf(env.Stderr, "lathe: %s\n", err)
	if errors.As(err, new(flagError)) && cmd != nil {
		fmt.Fprintf(env.Stderr, "\n%s", cmd.UsageString())
		return 2
	}
	if cmd != nil && !strings.Contains(err.Error(), "--help") {
		fmt.Fprintf(env.Stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return 2
}

// normalizeArgs turns the single-dash long flags Go's flag package took
// (-follow, -server=URL) into pflag's double-dash form, for the command
// the line names; single letters (-f, -o) and values stay as they are.
func normalizeArgs(env *Env, root *cobra.Command, args []string) []string {
	cmd, _, err := root.Find(args)
	if err != nil || cmd == nil {
		return args
	}
	env.materialize(cmd)
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		if len(a) > 2 && a[0] == '-' && a[1] != '-' {
			name, _, _ := strings.Cut(a[1:], "=")
			if len(name) > 1 && (cmd.Flags().Lookup(name) != nil || cmd.InheritedFlags().Lookup(name) != nil) {
				a = "-" + a
			}
		}
		out = append(out, a)
	}
	return out
}

// withFlagSuggestion adds to an unknown flag's error the command's flag
// whose name is closest to it (at most two edits away), as cobra does for
// commands: "unknown flag: --projcet (did you mean --project?)".
func withFlagSuggestion(c *cobra.Command, err error) error {
	name, ok := strings.CutPrefix(err.Error(), "unknown flag: --")
	if !ok {
		return err
	}
	best, bestDist := "", 3
	c.Flags().VisitAll(func(f *pflag.Flag) {
		if d := editDistance(name, f.Name); d < bestDist {
			best, bestDist = f.Name, d
		}
	})
	if best == "" {
		return err
	}
	return fmt.Errorf("%w (did you mean --%s?)", err, best)
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
