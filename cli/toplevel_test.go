package cli

import (
	"bytes"
	"context"
	"testing"
)

// Each top-level command is listed under the name it answers to, and
// behaves the same built alone (as Main builds it for a line that names
// it) as in the whole tree: the same help, the same usage error.
func TestTopLevelAloneAsInTheTree(t *testing.T) {
	for _, c := range topLevel {
		env := &Env{Getenv: func(string) string { return "" }}
		if got := c.make(env).Name(); got != c.name {
			t.Errorf("topLevel lists %q for the command named %q", c.name, got)
		}
		for _, args := range [][]string{{c.name, "--help"}, {c.name, "--no-such-flag"}} {
			alone, aloneCode := runWith(args, func(env *Env) int { return Run(context.Background(), args, env) })
			whole, wholeCode := runWith(args, func(env *Env) int { return execute(context.Background(), newRoot(env, nil), args, env) })
			if alone != whole || aloneCode != wholeCode {
				t.Errorf("%q alone: exit %d\n%s\nin the whole tree: exit %d\n%s", args, aloneCode, alone, wholeCode, whole)
			}
		}
	}
	if root := newRoot(&Env{Getenv: func(string) string { return "" }}, []string{"exec"}); len(root.Commands()) != 1 {
		t.Errorf("the tree for `lathe exec` has %d commands, want exec alone", len(root.Commands()))
	}
}

// runWith runs one command line and returns what it wrote (stdout, then
// stderr) and its exit code.
func runWith(args []string, run func(env *Env) int) (string, int) {
	var out, errOut bytes.Buffer
	code := run(&Env{Stdin: new(bytes.Buffer), Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }})
	return out.String() + "\n--- stderr\n" + errOut.String(), code
}
