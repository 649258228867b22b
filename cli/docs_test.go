package cli

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/lathe-ci/lathe/local"
	"github.com/lathe-ci/lathe/pipeline"
)

// block is one fenced block of a Markdown file.
type block struct {
	file string
	line int // of the block's first line of content
	lang string
	text string
}

// fencedBlocks reads the fenced blocks of a Markdown file.
func fencedBlocks(t *testing.T, path string) []block {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []block
	var cur *block
	var body strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case cur == nil && strings.HasPrefix(trimmed, "```"):
			cur = &block{file: path, line: n + 1, lang: strings.TrimSpace(strings.TrimPrefix(trimmed, "```"))}
			body.Reset()
		case cur != nil && trimmed == "```":
			cur.text = body.String()
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			body.WriteString(line + "\n")
		}
	}
	return out
}

// docFiles is README.md and every Markdown file under examples/.
func docFiles(t *testing.T) []string {
	t.Helper()
	files := []string{filepath.Join("..", "README.md")}
	err := filepath.WalkDir(filepath.Join("..", "examples"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".md") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// Every YAML example of README.md and examples/ parses, and those that
// are pipelines (they have jobs:) lint with no error; every examples/
// directory's pipeline files lint with no error too.
func TestDocumentedYAMLParsesAndLints(t *testing.T) {
	checked := 0
	for _, f := range docFiles(t) {
		for _, b := range fencedBlocks(t, f) {
			if b.lang != "yaml" && b.lang != "yml" {
				continue
			}
			checked++
			where := fmt.Sprintf("%s:%d", b.file, b.line)
			var doc map[string]any
			if err := yaml.Unmarshal([]byte(b.text), &doc); err != nil {
				t.Errorf("%s: the YAML example does not parse: %v\n%s", where, err, b.text)
				continue
			}
			if _, ok := doc["jobs"]; !ok {
				continue
			}
			errs, _ := pipeline.Lint([]pipeline.File{{Path: ".lathe.yml", Data: []byte(b.text)}})
			for _, e := range errs {
				t.Errorf("%s: the pipeline example does not lint: line %d: %s (%s)", where, e.Line, e.Message, e.Field)
			}
		}
	}
	if checked == 0 {
		t.Fatal("found no YAML example: the block reader is broken")
	}
	dirs, err := os.ReadDir(filepath.Join("..", "examples"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		dir := filepath.Join("..", "examples", d.Name())
		files, err := local.ReadFiles(dir)
		if err != nil {
			t.Errorf("%s: %v", dir, err)
			continue
		}
		errs, _ := pipeline.Lint(files)
		for _, e := range errs {
			t.Errorf("%s:%d:%d: %s (%s)", e.File, e.Line, e.Column, e.Message, e.Field)
		}
	}
}

// Every `lathe …` command line of the shell examples of README.md and
// examples/ names a real command with flags it has. Synopses are read as
// such: [X] is X, and " / " separates two commands.
func TestDocumentedCommandsExist(t *testing.T) {
	checked := 0
	for _, f := range docFiles(t) {
		for _, b := range fencedBlocks(t, f) {
			if b.lang != "sh" && b.lang != "console" && b.lang != "bash" && b.lang != "shell" {
				continue
			}
			for i, line := range shellLines(b.text) {
				for _, words := range latheCommands(line) {
					checked++
					if err := checkCommand(words); err != nil {
						t.Errorf("%s:%d: lathe %s: %v", b.file, b.line+i, strings.Join(words, " "), err)
					}
				}
			}
		}
	}
	if checked < 10 {
		t.Fatalf("checked only %d lathe commands: the block reader is broken", checked)
	}
}

// shellLines joins continued lines (ending in \), drops console prompts
// and the bodies of here-documents; one entry per original first line
// (empty entries keep the numbering).
func shellLines(text string) []string {
	lines := strings.Split(text, "\n")
	out := make([]string, len(lines))
	heredoc := ""
	for i := 0; i < len(lines); i++ {
		start := i
		l := lines[i]
		if heredoc != "" {
			if strings.TrimSpace(l) == heredoc {
				heredoc = ""
			}
			continue
		}
		for strings.HasSuffix(l, "\\") && i+1 < len(lines) {
			i++
			l = strings.TrimSuffix(l, "\\") + " " + lines[i]
		}
		l = strings.TrimPrefix(strings.TrimPrefix(l, "$ "), "# ")
		if _, tag, ok := strings.Cut(l, "<<"); ok {
			heredoc = strings.Trim(strings.Fields(strings.TrimPrefix(tag, "-") + " x")[0], `'"`)
		}
		out[start] = l
	}
	return out
}

// latheCommands splits a shell line into its commands and returns the
// arguments of those that run lathe (lathe, ./lathe, go run ./cmd/lathe).
func latheCommands(line string) [][]string {
	var out [][]string
	for _, cmd := range splitShell(line) {
		for len(cmd) > 0 && strings.Contains(cmd[0], "=") && !strings.HasPrefix(cmd[0], "-") {
			cmd = cmd[1:] // VAR=value before the command
		}
		switch {
		case len(cmd) > 0 && (cmd[0] == "lathe" || strings.HasSuffix(cmd[0], "/lathe")):
			out = append(out, cmd[1:])
		case len(cmd) > 2 && cmd[0] == "go" && cmd[1] == "run" && cmd[2] == "./cmd/lathe":
			out = append(out, cmd[3:])
		}
	}
	return out
}

// splitShell splits a line into words, quoted as a shell quotes, and into
// commands at && || | ; and " / " (a synopsis' alternatives); it stops at
// a comment. Brackets of a synopsis ([--job J]) are dropped.
func splitShell(line string) [][]string {
	var cmds [][]string
	var words []string
	var w strings.Builder
	inWord, quote := false, rune(0)
	endWord := func() {
		if inWord {
			words = append(words, w.String())
		}
		w.Reset()
		inWord = false
	}
	endCmd := func() {
		endWord()
		if len(words) > 0 {
			cmds = append(cmds, words)
		}
		words = nil
	}
	rs := []rune(line)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				w.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == '#' && !inWord:
			endCmd()
			return cmds
		case r == ' ' || r == '\t':
			endWord()
		case r == '&' || r == '|' || r == ';' || r == '<' || r == '>':
			endCmd()
			if r == '<' || r == '>' {
				// A redirection's target is no command: skip it.
				for i+1 < len(rs) && (rs[i+1] == ' ' || rs[i+1] == '<' || rs[i+1] == '>') {
					i++
				}
				for i+1 < len(rs) && rs[i+1] != ' ' {
					i++
				}
			}
		case r == '/' && !inWord && i+1 < len(rs) && rs[i+1] == ' ':
			endCmd()
		case (r == '[' || r == ']') && quote == 0:
			endWord()
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	endCmd()
	return cmds
}

// checkCommand checks that words name a runnable command of the tree and
// that each flag among them is one of its flags. Values are not parsed:
// synopses name them (--job JOB).
func checkCommand(words []string) error {
	env := &Env{Getenv: func(string) string { return "" }, Stdout: new(bytes.Buffer), Stderr: new(bytes.Buffer)}
	root := newRoot(env, nil)
	words = normalizeArgs(env, root, words)
	cmd, rest, err := root.Find(words)
	if err != nil {
		return err
	}
	if cmd == root {
		return fmt.Errorf("names no command")
	}
	if cmd.HasSubCommands() {
		if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
			return fmt.Errorf("%s has no command %q", cmd.CommandPath(), rest[0])
		}
		return fmt.Errorf("%s needs one of its commands", cmd.CommandPath())
	}
	return checkFlags(cmd, rest)
}

func checkFlags(cmd *cobra.Command, args []string) error {
	flags := cmd.Flags()
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return nil
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		f := flags.Lookup(name)
		if !strings.HasPrefix(a, "--") {
			f = flags.ShorthandLookup(name)
		}
		if f == nil {
			return fmt.Errorf("%s has no flag %s", cmd.CommandPath(), a)
		}
		if !hasValue && f.NoOptDefVal == "" {
			i++ // the flag's value
		}
	}
	return nil
}

// The command check tells real command lines from broken ones.
func TestCheckCommandRejectsWhatDoesNotExist(t *testing.T) {
	for _, tc := range []struct {
		line string
		ok   bool
	}{
		{"lathe logs -f 1", true},
		{"./lathe run demo -follow", true},
		{"lathe rerun RUN [--failed] / lathe rerun --job JOB", true},
		{"printf %s x | lathe secrets set --project p NAME > out.txt", true},
		{"lathe projetc list", false},
		{"lathe run demo --folow", false},
		{"lathe secrets", false},
		{"lathe agents groups lsit", false},
		{"go run ./cmd/lathe up --adr :9090", false},
	} {
		var errs []error
		cmds := latheCommands(shellLines(tc.line)[0])
		for _, words := range cmds {
			if err := checkCommand(words); err != nil {
				errs = append(errs, err)
			}
		}
		if len(cmds) == 0 || (len(errs) == 0) != tc.ok {
			t.Errorf("%q: %d commands, errors %v; want ok=%v", tc.line, len(cmds), errs, tc.ok)
		}
	}
}
