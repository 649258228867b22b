package local_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lathe-ci/lathe/internal/lathetest"
)

// BenchmarkExecProcess measures the `lathe` binary as a user runs it,
// each figure beside its floor measured in the same iterations:
//
//   - start-ms: process start → the first step's output, for a one-step
//     pipeline, beside sh-start-ms, the same for `sh -e -c 'echo mark'`,
//     and go-start-ms, the same for a Go program that only prints (what
//     any Go binary spends starting, before lathe's own packages), and
//     bin-start-ms, start to exit of `lathe exec` given a directory that
//     does not exist (what this binary spends starting: the Go runtime
//     and the init of every package the one binary links, the server's
//     included, then its flags read and an error printed);
//   - 20-ms: the whole `lathe exec` of one job of 20 `true` steps, beside
//     sh20-ms, the same 20 commands each run in its own `sh -e -c`
//     one after another; 20/sh20 is their ratio.
//
// Sub-benchmarks: shared (--shared-workspace: the directory itself, steps
// as the user), own (the default: a copy of the directory per job, in
// the sandbox where bubblewrap is installed) and git (the default in a git
// repository, as users mostly run it: a worktree of the commit per job, in
// the sandbox).
func BenchmarkExecProcess(b *testing.B) {
	bin := lathetest.Binary(b)
	hello := helloBinary(b)
	one := b.TempDir()
	write(b, one, ".lathe.yml", "jobs:\n  a:\n    steps: [echo mark]\n")
	missing := filepath.Join(b.TempDir(), "missing")
	twenty := b.TempDir()
	twentyYAML := "jobs:\n  a:\n    steps:\n" + strings.Repeat("      - true\n", 20)
	write(b, twenty, ".lathe.yml", twentyYAML)
	for _, mode := range []struct {
		name     string
		args     []string
		one, all string
	}{{"shared", []string{"--shared-workspace"}, one, twenty}, {"own", nil, one, twenty}, {"git", nil, "", ""}} {
		b.Run(mode.name, func(b *testing.B) {
			if mode.args == nil {
				lathetest.NeedSandbox(b)
			}
			one, twenty := mode.one, mode.all
			if one == "" {
				one = lathetest.Repo(b, map[string]string{".lathe.yml": "jobs:\n  a:\n    steps: [echo mark]\n"})
				twenty = lathetest.Repo(b, map[string]string{".lathe.yml": twentyYAML})
			}
			var start, floor, goFloor, binFloor, all, sh20 []time.Duration
			for b.Loop() {
				start = append(start, untilMark(b, exec.Command(bin, append([]string{"exec", "--dir", one}, mode.args...)...)))
				floor = append(floor, untilMark(b, exec.Command("/bin/sh", "-e", "-c", "echo mark")))
				goFloor = append(goFloor, untilMark(b, exec.Command(hello)))
				t0 := time.Now()
				if out, err := exec.Command(bin, "exec", "--dir", missing).CombinedOutput(); err == nil {
					b.Fatalf("lathe exec --dir %s succeeded:\n%s", missing, out)
				}
				binFloor = append(binFloor, time.Since(t0))

				t0 = time.Now()
				cmd := exec.Command(bin, append([]string{"exec", "--dir", twenty}, mode.args...)...)
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("lathe exec: %v\n%s", err, out)
				}
				all = append(all, time.Since(t0))

				t0 = time.Now()
				for range 20 {
					cmd := exec.Command("/bin/sh", "-e", "-c", "true")
					cmd.Dir = twenty
					if err := cmd.Run(); err != nil {
						b.Fatal(err)
					}
				}
				sh20 = append(sh20, time.Since(t0))
			}
			ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
			s, f, a, t := median(start), median(floor), median(all), median(sh20)
			b.ReportMetric(ms(s), "start-ms")
			b.ReportMetric(ms(f), "sh-start-ms")
			b.ReportMetric(ms(median(goFloor)), "go-start-ms")
			b.ReportMetric(ms(median(binFloor)), "bin-start-ms")
			b.ReportMetric(ms(a), "20-ms")
			b.ReportMetric(ms(t), "sh20-ms")
			b.ReportMetric(float64(a)/float64(t), "20/sh20")
			b.ReportMetric(0, "ns/op") // the figures above are what counts
		})
	}
}

// untilMark starts cmd and returns how long until a line of its output
// ends in "mark" (the step's own output, not its "$ echo mark" header),
// then waits for it to exit.
func untilMark(b *testing.B, cmd *exec.Cmd) time.Duration {
	b.Helper()
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	var took time.Duration
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if l := sc.Text(); took == 0 && (l == "mark" || strings.HasSuffix(l, "] mark")) {
			took = time.Since(t0)
		}
	}
	if err := cmd.Wait(); err != nil || took == 0 {
		b.Fatalf("%s: %v (mark seen: %v)", cmd.Path, err, took != 0)
	}
	return took
}

func write(b *testing.B, dir, name, content string) {
	b.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		b.Fatal(err)
	}
}

// helloBinary builds a Go program that prints "mark" and exits.
func helloBinary(b *testing.B) string {
	b.Helper()
	dir := b.TempDir()
	write(b, dir, "main.go", "package main\n\nimport \"os\"\n\nfunc main() { os.Stdout.WriteString(\"mark\\n\") }\n")
	write(b, dir, "go.mod", "module hello\n")
	out := filepath.Join(dir, "hello")
	cmd := exec.Command("go", "build", "-o", out, ".")
	cmd.Dir = dir
	if msg, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build hello: %v\n%s", err, msg)
	}
	return out
}
