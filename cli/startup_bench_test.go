package cli

import (
	"bytes"
	"context"
	"io"
	"testing"
)

// BenchmarkHelp is `lathe --help` in-process: the whole command tree built
// (every command and its flags) and the help rendered. Its floor,
// BenchmarkHelpFloor, writes the same help text already rendered: the
// ratio is what building the tree costs over printing.
func BenchmarkHelp(b *testing.B) {
	env := &Env{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(string) string { return "" }}
	for b.Loop() {
		if Run(context.Background(), []string{"--help"}, env) != 0 {
			b.Fatal("--help failed")
		}
	}
}

func BenchmarkHelpFloor(b *testing.B) {
	var help bytes.Buffer
	Run(context.Background(), []string{"--help"}, &Env{Stdout: &help, Stderr: io.Discard, Getenv: func(string) string { return "" }})
	for b.Loop() {
		io.Discard.Write(help.Bytes())
	}
}

// BenchmarkNewRoot is building the whole command tree alone.
func BenchmarkNewRoot(b *testing.B) {
	env := &Env{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(string) string { return "" }}
	for b.Loop() {
		newRoot(env, nil)
	}
}

// BenchmarkNewRootExec is building the tree for `lathe exec …`: the root
// and the one command the line names.
func BenchmarkNewRootExec(b *testing.B) {
	env := &Env{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(string) string { return "" }}
	for b.Loop() {
		newRoot(env, []string{"exec", "--dir", "."})
	}
}
