package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// jobLines is log as `lathe logs` prints a job's log: each line with the
// job's name at its head.
func jobLines(job, log string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(log, "\n") {
		if line != "" {
			b.WriteString("[" + job + "] " + strings.TrimSuffix(line, "\n") + "\n")
		}
	}
	return b.String()
}

// logLines keeps the lines of a job's log from the output of `lathe logs
// -f`, leaving out why it waited and the run's summary.
func logLines(job, out string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(out, "\n") {
		if strings.HasPrefix(line, "["+job+"] ") && !strings.HasPrefix(line, "["+job+"] waiting: ") {
			b.WriteString(line)
		}
	}
	return b.String()
}

// `lathe logs -f --timestamps` and `lathe logs --step N` (with and without
// -f) print what the plain reads of the log give, followed live.
func TestLogsFollowByStepWithTimestamps(t *testing.T) {
	bin := lathetest.Binary(t)
	l := lathetest.Start(t, lathetest.Options{Agents: 1})
	l.Project(t, "talk", lathetest.Repo(t, map[string]string{".lathe.yml": `
jobs:
  talk:
    timeout: 2m
    steps:
      - echo one; while [ ! -e gate ]; do sleep 0.05; done; echo two
      - printf 'three '; sleep 0.2; printf 'four\nfive'
      - echo six
`}))
	run := l.Trigger(t, "talk", "", "")
	id := fmt.Sprint(run.ID)
	auth := []string{"--server", l.URL, "--token", l.AdminToken}
	whole := lathetest.StartProcess(t, bin, append([]string{"logs", "-f", id, "--timestamps"}, auth...)...)
	second := lathetest.StartProcess(t, bin, append([]string{"logs", "-f", id, "--step", "2", "--timestamps"}, auth...)...)
	for i := 0; i < 600 && !strings.Contains(whole.Output.String(), "Z one\n"); i++ {
		time.Sleep(100 * time.Millisecond)
	}
	if err := os.WriteFile(filepath.Join(l.Workspace(t, ".lathe.yml"), "gate"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if code := whole.Wait(t, time.Minute); code != 0 {
		t.Errorf("logs -f --timestamps exited %d:\n%s", code, whole.Output.String())
	}
	if code := second.Wait(t, time.Minute); code != 0 {
		t.Errorf("logs -f --step 2 --timestamps exited %d:\n%s", code, second.Output.String())
	}
	if r := l.Wait(t, run.ID, time.Minute); r.Status != lathe.StatusSuccess {
		t.Fatalf("run %s", r.Status)
	}
	jobID := run.Jobs[0].ID
	plain := func(query string) string {
		resp, err := l.Client.Request(context.Background(), http.MethodGet, fmt.Sprintf("/api/v1/jobs/%d/log?%s", jobID, query), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}

	if got, want := logLines("talk", whole.Output.String()), jobLines("talk", plain("timestamps=true")); got != want || !strings.Contains(got, "Z three four\n") {
		t.Errorf("logs -f --timestamps printed\n%s\nwant\n%s", got, want)
	}
	if got, want := logLines("talk", second.Output.String()), jobLines("talk", plain("step=2&timestamps=true")); got != want || strings.Contains(got, "one") || strings.Contains(got, "six") {
		t.Errorf("logs -f --step 2 --timestamps printed\n%s\nwant\n%s", got, want)
	}

	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, append([]string{"logs", id, "--step", "1"}, auth...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || stdout.String() != jobLines("talk", plain("step=1")) || !strings.HasSuffix(stdout.String(), "[talk] one\n[talk] two\n") {
		t.Errorf("logs --step 1: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	stdout.Reset()
	cmd = exec.Command(bin, append([]string{"logs", id, "--step", "9"}, auth...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); cmd.ProcessState.ExitCode() != 1 || !strings.Contains(stderr.String(), "no job of run "+id+" has a step 9") {
		t.Errorf("logs --step 9: %v\n%s%s", err, stdout.String(), stderr.String())
	}

	help, _ := exec.Command(bin, "logs", "--help").CombinedOutput()
	for _, want := range []string{"--step", "--timestamps", "0 is the checkout"} {
		if !strings.Contains(string(help), want) || strings.Contains(string(help), "not with -f") {
			t.Errorf("logs --help lacks %q or still says \"not with -f\":\n%s", want, help)
		}
	}
}
