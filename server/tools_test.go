package server_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/cli"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

const greetManifest = `name: greet
version: "1.0"
description: Says hello
entrypoint: bin/run.sh
params:
  who: {type: string, description: whom to greet}
  times: {type: number, default: "2"}
  loud: {type: boolean, default: "false"}
`

const greetScript = `#!/bin/sh
echo "hello $INPUT_WHO x$INPUT_TIMES loud=$INPUT_LOUD"
test -f "$LATHE_TOOL_DIR/lathe-tool.yml" && echo "tool dir ok"
echo "$INPUT_WHO" >> greeted.txt
`

// greetDir writes the greet tool's directory.
func greetDir(t *testing.T) string {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "bin"), 0o755)
	if err := os.WriteFile(filepath.Join(dir, "lathe-tool.yml"), []byte(greetManifest), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bin", "run.sh"), []byte(greetScript), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// lathe runs a CLI command against l as its admin.
func latheCLI(l *lathetest.Lathe, args ...string) (int, string) {
	var out bytes.Buffer
	env := &cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }}
	code := cli.Run(context.Background(), append(args, "--server", l.URL, "--token", l.AdminToken), env)
	return code, out.String()
}

// A tool pushed with `lathe tool push` is run by a pipeline's steps on a
// real agent: its parameters (given and defaulted) reach the entry point,
// which runs in the workspace; the second use comes from the agent's cache.
// A version is not replaced; deleted, new runs that use it are refused.
func TestToolPublishedAndUsedByARun(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		o.Agents = 1
		l := lathetest.Start(t, o)
		if code, out := latheCLI(l, "tool", "push", greetDir(t)); code != 0 || !strings.Contains(out, "published greet@1.0") {
			t.Fatalf("tool push: %d %s", code, out)
		}
		if code, out := latheCLI(l, "tool", "list"); code != 0 || !strings.Contains(out, "greet") || !strings.Contains(out, "Says hello") {
			t.Fatalf("tool list: %d %s", code, out)
		}
		l.Project(t, "tools", lathetest.Repo(t, map[string]string{".lathe.yml": `
jobs:
  a:
    steps:
      - uses: greet@1.0
        with: {who: "it's me", loud: true}
      - name: again
        uses: greet@1.0
        with: {who: again, times: 5}
      - test "$(cat greeted.txt)" = "$(printf "it's me\nagain")"
`}))
		run := l.Wait(t, l.Trigger(t, "tools", "main", "").ID, 90*time.Second)
		job := lathetest.JobByName(t, run, "a")
		log := l.Log(t, job.ID)
		if run.Status != lathe.StatusSuccess {
			t.Fatalf("run = %s; log:\n%s", run.Status, log)
		}
		for _, want := range []string{"» tool greet@1.0", "tool greet@1.0: fetched", "hello it's me x2 loud=true", "tool dir ok",
			"tool greet@1.0: in the agent's cache", "hello again x5 loud=false", "$ greet@1.0/bin/run.sh (INPUT_LOUD INPUT_TIMES INPUT_WHO)"} {
			if !strings.Contains(log, want) {
				t.Errorf("log lacks %q:\n%s", want, log)
			}
		}
		steps := l.Job(t, job.ID).Attempts[0].Steps
		if len(steps) != 4 || steps[1].Name != "tool greet@1.0" || steps[2].Name != "again" {
			t.Errorf("steps %+v", steps)
		}

		var versions struct{ Items []lathe.Tool }
		l.Do(t, http.MethodGet, "/api/v1/tools/greet", nil, &versions)
		if len(versions.Items) != 1 || versions.Items[0].Version != "1.0" || len(versions.Items[0].SHA256) != 64 || versions.Items[0].CreatedBy != "admin" {
			t.Fatalf("versions %+v", versions.Items)
		}
		if code, out := latheCLI(l, "tool", "push", greetDir(t)); code == 0 || !strings.Contains(out, "greet@1.0 is published already") {
			t.Errorf("pushing the version again: %d %s", code, out)
		}
		if code, out := latheCLI(l, "tool", "delete", "greet@1.0"); code != 0 {
			t.Fatalf("tool delete: %d %s", code, out)
		}
		if keys, _ := filepath.Glob(filepath.Join(l.DataDir, "tools", "*", "*.tar.gz")); len(keys) != 0 {
			t.Errorf("archives left after delete: %q", keys)
		}
		err := l.Client.Do(context.Background(), http.MethodPost, "/api/v1/projects/tools/runs", map[string]string{"ref": "main"}, nil)
		if client.StatusOf(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "job a, step 1 (tool greet@1.0): uses: tool greet@1.0 is not published on this server") {
			t.Errorf("run of a deleted tool: %v", err)
		}
	})
}

// Bad input: an archive with ../ paths or a link is refused whole, and a
// run whose step gives a tool parameters it lacks, of the wrong type, or
// leaves a required one out is refused naming the step and the fields.
func TestToolBadInput(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	ctx := context.Background()
	publish := func(entries ...*tar.Header) error {
		var buf bytes.Buffer
		gz := gzip.NewWriter(&buf)
		tw := tar.NewWriter(gz)
		for _, h := range entries {
			body := map[string]string{"lathe-tool.yml": greetManifest, "bin/run.sh": greetScript}[h.Name]
			if h.Typeflag == tar.TypeReg {
				h.Size = int64(len(body))
			}
			tw.WriteHeader(h)
			tw.Write([]byte(body))
		}
		tw.Close()
		gz.Close()
		sum := sha256.Sum256(buf.Bytes())
		_, err := l.Client.PublishTool(ctx, bytes.NewReader(buf.Bytes()), int64(buf.Len()), hex.EncodeToString(sum[:]))
		return err
	}
	manifest := &tar.Header{Name: "lathe-tool.yml", Mode: 0o644, Typeflag: tar.TypeReg}
	entry := &tar.Header{Name: "bin/run.sh", Mode: 0o755, Typeflag: tar.TypeReg}
	for _, tt := range []struct {
		name  string
		extra *tar.Header
		want  string
	}{
		{"dot-dot", &tar.Header{Name: "../../etc/cron.d/x", Mode: 0o644, Typeflag: tar.TypeReg}, `entry "../../etc/cron.d/x": '..' would leave the tool's directory`},
		{"absolute", &tar.Header{Name: "/etc/passwd", Mode: 0o644, Typeflag: tar.TypeReg}, `"/etc/passwd": absolute paths are refused`},
		{"link", &tar.Header{Name: "bin/up", Linkname: "../../..", Typeflag: tar.TypeSymlink}, `entry "bin/up" is not a regular file or directory`},
	} {
		err := publish(manifest, entry, tt.extra)
		if client.StatusOf(err) != http.StatusBadRequest || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want 400 %q", tt.name, err, tt.want)
		}
	}
	var list struct{ Items []lathe.Tool }
	l.Do(t, http.MethodGet, "/api/v1/tools", nil, &list)
	if len(list.Items) != 0 {
		t.Fatalf("refused archives were published: %+v", list.Items)
	}
	if err := publish(manifest, entry); err != nil {
		t.Fatal(err)
	}
	l.Project(t, "bad", lathetest.Repo(t, map[string]string{".lathe.yml": `
jobs:
  build:
    steps:
      - make
      - uses: greet@1.0
        with: {times: many, colour: red}
      - uses: nosuch@2
`}))
	err := l.Client.Do(ctx, http.MethodPost, "/api/v1/projects/bad/runs", map[string]string{"ref": "main"}, nil)
	for _, want := range []string{
		`job build, step 2 (tool greet@1.0): with.colour: greet@1.0 has no parameter "colour" (it has: loud, times, who)`,
		`with.times: must be a number: "many" is not a number`,
		`with.who: missing; greet@1.0 requires it`,
		`job build, step 3 (tool nosuch@2): uses: tool nosuch@2 is not published on this server`,
	} {
		if client.StatusOf(err) != http.StatusBadRequest || !strings.Contains(err.Error(), want) {
			t.Errorf("run with bad tool steps: %v\nwant %q", err, want)
		}
	}
	// The plan preview (`lathe plan`) says the same without starting a run.
	err = l.Client.Do(ctx, http.MethodGet, "/api/v1/projects/bad/pipelines/main/plan", nil, nil)
	if client.StatusOf(err) != http.StatusBadRequest || !strings.Contains(err.Error(), `with.who: missing; greet@1.0 requires it`) {
		t.Errorf("plan with bad tool steps: %v", err)
	}
}

// A run runs the tool content it was planned with: a version deleted and
// published again with other files after the run was planned fails the
// step, saying why, rather than running what was not checked.
func TestToolRepublishedAfterPlanningFailsTheStep(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	dir := greetDir(t)
	if code, out := latheCLI(l, "tool", "push", dir); code != 0 {
		t.Fatalf("tool push: %d %s", code, out)
	}
	l.Project(t, "pinned", lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  a:\n    steps:\n      - uses: greet@1.0\n        with: {who: x}\n"}))
	run := l.Trigger(t, "pinned", "main", "") // queued: no agent yet
	if code, out := latheCLI(l, "tool", "delete", "greet@1.0"); code != 0 {
		t.Fatalf("tool delete: %d %s", code, out)
	}
	if err := os.WriteFile(filepath.Join(dir, "bin", "run.sh"), []byte("#!/bin/sh\necho other content\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if code, out := latheCLI(l, "tool", "push", dir); code != 0 {
		t.Fatalf("tool push again: %d %s", code, out)
	}
	l.StartAgent(t, l.RegistrationToken(t), "late", "")
	done := l.Wait(t, run.ID, 90*time.Second)
	log := l.Log(t, lathetest.JobByName(t, done, "a").ID)
	if done.Status != lathe.StatusFailed || !strings.Contains(log, "is not the one this run was planned with") || strings.Contains(log, "other content") {
		t.Fatalf("run = %s; log:\n%s", done.Status, log)
	}
}
