package cli_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lathe-ci/lathe/cli"
)

// lintIn runs `lathe lint args…` in-process.
func lintIn(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	env := &cli.Env{Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }}
	code := cli.Run(context.Background(), append([]string{"lint"}, args...), env)
	return code, stdout.String(), stderr.String()
}

// writeFiles creates files (path → content) under a new directory.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLint(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		args  []string // after --dir DIR; FILE args are joined to DIR
		code  int
		want  []string // whole lines of stdout, in order
	}{{
		name:  "clean file",
		files: map[string]string{".lathe.yml": "jobs: {a: {steps: [make]}}\n"},
		code:  0,
	}, {
		name: "errors and warnings",
		files: map[string]string{
			".lathe.yml":        "parameters:\n  unused: {default: x}\njobs:\n  a: {steps: [make]}\n",
			".lathe/deploy.yml": "jobs:\n  d: {steps: [x], secrets: [db_password], timeout: soon}\n",
		},
		code: 1,
		want: []string{
			`.lathe/deploy.yml:2:52: error: must be a duration like 10m or 1h30m, or a number of seconds; "soon" is neither (jobs.d.timeout)`,
			`.lathe.yml:2:3: warning: parameter "unused" is never used: no condition reads params.unused and no command or env value mentions $PARAM_UNUSED (parameters.unused)`,
			`.lathe/deploy.yml:2:29: warning: secret names are matched exactly and are usually upper case; is "db_password" meant to be "DB_PASSWORD"? (jobs.d.secrets)`,
		},
	}, {
		name:  "only warnings exit 0",
		files: map[string]string{"ci.yml": "jobs:\n  a: {steps: [make], if: \"false\"}\n"},
		args:  []string{"ci.yml"},
		code:  0,
		want:  []string{`ci.yml:2:26: warning: the condition is always false, so a never runs (jobs.a.if)`},
	}, {
		name:  "no pipeline files",
		files: map[string]string{"README": "x"},
		code:  1,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeFiles(t, tt.files)
			args := []string{"--dir", dir}
			for _, a := range tt.args {
				args = append(args, filepath.Join(dir, a))
			}
			code, out, errOut := lintIn(t, args...)
			if code != tt.code {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, out, errOut)
			}
			out = strings.ReplaceAll(out, dir+string(filepath.Separator), "")
			got := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if out == "" {
				got = nil
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("stdout:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
