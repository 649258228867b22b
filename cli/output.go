package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/itchyny/gojq"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// output is how a list or get command prints what the server answered:
// a table for people (the default), or the answer itself with the API's
// field names (--json, -o json|yaml, --jq EXPR), or only its IDs (--quiet).
type output struct {
	json   bool
	jq     string
	format formatValue
	quiet  bool
	// key is the field --quiet prints when it is not the id (a project's name).
	key string
	raw json.RawMessage // the last answer wrap kept
}

// outputFlags adds --json, --jq and -o/--output to fs; withQuiet adds
// --quiet/-q too, for commands whose useful output is an ID.
func outputFlags(fs *pflag.FlagSet, withQuiet bool) *output {
	o := &output{format: "table"}
	fs.BoolVar(&o.json, "json", false, "print the server's answer as JSON (the API's field names)")
	fs.StringVar(&o.jq, "jq", "", "filter the JSON answer with a jq `EXPR`ession (implies --json)")
	fs.VarP(&o.format, "output", "o", "output format: json, yaml or table")
	if withQuiet {
		fs.BoolVarP(&o.quiet, "quiet", "q", false, "print only IDs (names where there is no ID), one a line")
	}
	return o
}

// outputConflict refuses output flags that ask for two different things
// (--json with -o yaml, --quiet with --jq): which one wins would be a
// guess. --jq and -o json agree with --json, which they imply.
func outputConflict(fs *pflag.FlagSet) error {
	var asked []string
	want := ""
	for _, name := range []string{"json", "jq", "output", "quiet"} {
		f := fs.Lookup(name)
		if f == nil || !f.Changed {
			continue
		}
		kind := "json"
		switch name {
		case "output":
			kind = f.Value.String()
			name = "output " + kind
		case "quiet":
			kind = "ids"
		}
		asked = append(asked, "--"+name)
		if want != "" && kind != want {
			return fmt.Errorf("%s ask for different outputs: give one of them", strings.Join(asked, " and "))
		}
		want = kind
	}
	return nil
}

// structured reports whether the answer is printed as data rather than
// as a table.
func (o *output) structured() bool {
	return o.json || o.jq != "" || o.format != "table" || o.quiet
}

// print prints v as --json, --jq, -o or --quiet ask, and returns the exit code.
func (o *output) print(env *Env, v any) int {
	if o.raw != nil {
		v = o.raw
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fail(env, err)
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		return fail(env, err)
	}
	switch {
	case o.jq != "":
		return printJQ(env, o.jq, doc)
	case o.quiet:
		printIDs(env.Stdout, doc, o.key)
		return 0
	case o.format == "yaml":
		var buf bytes.Buffer
		enc := yaml.NewEncoder(&buf)
		enc.SetIndent(2)
		if err := enc.Encode(doc); err != nil {
			return fail(env, err)
		}
		env.Stdout.Write(buf.Bytes())
		return 0
	}
	return printJSON(env, v)
}

// printJQ runs a jq expression on doc: strings print raw (as jq -r),
// everything else as JSON, one result a line.
func printJQ(env *Env, expr string, doc any) int {
	q, err := gojq.Parse(expr)
	if err != nil {
		return fail(env, fmt.Errorf("--jq %q: %w", expr, err))
	}
	iter := q.Run(doc)
	for {
		v, ok := iter.Next()
		if !ok {
			return 0
		}
		if err, isErr := v.(error); isErr {
			var halt *gojq.HaltError
			if errors.As(err, &halt) && halt.Value() == nil {
				return 0
			}
			return fail(env, fmt.Errorf("--jq %q: %w", expr, err))
		}
		if s, isStr := v.(string); isStr {
			fmt.Fprintln(env.Stdout, s)
			continue
		}
		b, err := gojq.Marshal(v)
		if err != nil {
			return fail(env, err)
		}
		fmt.Fprintf(env.Stdout, "%s\n", b)
	}
}

// printIDs prints the id (else the name) of each item of a list answer,
// or of the one object answered.
func printIDs(w io.Writer, doc any, key string) {
	items := []any{doc}
	switch d := doc.(type) {
	case []any:
		items = d
	case map[string]any:
		if list, ok := d["items"].([]any); ok {
			items = list
		}
	}
	for _, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			fmt.Fprintln(w, it)
			continue
		}
		for _, k := range []string{key, "id", "name", "version", "user", "team"} {
			if v, ok := m[k]; ok && k != "" && v != nil && v != "" {
				if f, isNum := v.(float64); isNum {
					fmt.Fprintf(w, "%.0f\n", f)
				} else {
					fmt.Fprintln(w, v)
				}
				break
			}
		}
	}
}

// printJSON prints v as indented JSON.
func printJSON(env *Env, v any) int {
	enc := json.NewEncoder(env.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fail(env, err)
	}
	return 0
}

// formatValue is -o/--output: json, yaml or table.
type formatValue string

func (f *formatValue) String() string { return string(*f) }
func (f *formatValue) Type() string   { return "format" }
func (f *formatValue) Set(s string) error {
	switch s = strings.ToLower(s); s {
	case "json", "yaml", "table":
		*f = formatValue(s)
		return nil
	}
	return fmt.Errorf("%q is not an output format: json, yaml or table", s)
}

// completeFormats lets the shell complete cmd's -o/--output, when it has
// one, with the formats (rather than with file names).
func completeFormats(cmd *cobra.Command) {
	f := cmd.Flags().Lookup("output")
	if f == nil {
		return
	}
	if _, ok := f.Value.(*formatValue); ok {
		cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"json", "yaml", "table"}, cobra.ShellCompDirectiveNoFileComp))
	}
}

// colors are the SGR codes of statuses, each two digits so that every
// colored cell of a table column is as wide as the others.
var statusColors = map[string]string{
	"success": "32", "failed": "31", "error": "31", "canceled": "33", "running": "36",
	"queued": "90", "waiting_for_approval": "35", "skipped": "90", "pending": "90", "lost": "31", "timed_out": "31",
}

// painter colors statuses when env's stdout is a terminal and NO_COLOR
// is unset.
type painter bool

func newPainter(env *Env) painter { return painter(colorOn(env)) }

// status is s colored by what it means.
func (p painter) status(s string) string {
	if !p {
		return s
	}
	code, ok := statusColors[s]
	if !ok {
		code = "39"
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// header is a column heading as wide (in bytes) as a colored cell, so
// the columns of a tabwriter stay aligned.
func (p painter) header(s string) string {
	if !p {
		return s
	}
	return "\x1b[01m" + s + "\x1b[0m"
}

// wrap returns do keeping the server's answer as it came, so that print
// shows the API's fields exactly (a typed value drops what it does not know).
func (o *output) wrap(do doFunc) doFunc {
	return func(ctx context.Context, method, path string, body, out any) error {
		var raw json.RawMessage
		if err := do(ctx, method, path, body, &raw); err != nil {
			return err
		}
		o.raw = raw
		if out == nil || len(raw) == 0 {
			return nil
		}
		return json.Unmarshal(raw, out)
	}
}
