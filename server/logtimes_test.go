package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/cli"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

const twoStepLogPipeline = `
jobs:
  talk:
    steps:
      - name: first
        run: printf 'one\ntwo\n'
      - name: second
        run: printf 'three\nfour'
`

// getLogQuery reads a job's log with a query string, failing the test on
// anything but 200, and returns the body and the Lathe-Log-* headers.
func getLogQuery(t *testing.T, c *client.Client, jobID int64, query string) (string, http.Header) {
	t.Helper()
	resp, err := c.Request(context.Background(), http.MethodGet, fmt.Sprintf("/api/v1/jobs/%d/log?%s", jobID, query), nil, nil)
	if err != nil {
		t.Fatalf("log ?%s: %v", query, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), resp.Header
}

// A log read by step gives exactly that step's bytes, and read with
// timestamps gives each line the time it reached the server, at its head,
// while the log itself stays as the steps wrote it.
func TestLogByStepAndWithTimestamps(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		l := lathetest.Start(t, o)
		l.Project(t, "talk", lathetest.Repo(t, map[string]string{".lathe.yml": twoStepLogPipeline}))
		before := time.Now().UTC().Add(-time.Second)
		run := l.Wait(t, l.Trigger(t, "talk", "", "").ID, time.Minute)
		if run.Status != lathe.StatusSuccess {
			t.Fatalf("run %s", run.Status)
		}
		job := l.Job(t, run.Jobs[0].ID)
		raw := l.Log(t, job.ID)
		steps := job.Attempts[len(job.Attempts)-1].Steps
		if len(steps) != 3 {
			t.Fatalf("%d steps, want checkout and two", len(steps))
		}
		for _, st := range steps {
			got, h := getLogQuery(t, l.Client, job.ID, fmt.Sprintf("step=%d", st.Index))
			want := raw[st.LogStart:*st.LogEnd]
			if got != want {
				t.Errorf("step %d: %q, want %q", st.Index, got, want)
			}
			if h.Get("Lathe-Log-Size") != fmt.Sprint(len(want)) || h.Get("Lathe-Log-Complete") != "true" {
				t.Errorf("step %d: size %s complete %s, want %d true", st.Index, h.Get("Lathe-Log-Size"), h.Get("Lathe-Log-Complete"), len(want))
			}
		}
		if got, _ := getLogQuery(t, l.Client, job.ID, "step=2&offset=2&limit=3"); got != raw[steps[2].LogStart+2:steps[2].LogStart+5] {
			t.Errorf("step 2 from 2, 3 bytes: %q", got)
		}
		if !strings.Contains(raw[steps[2].LogStart:*steps[2].LogEnd], "three\nfour") {
			t.Errorf("step 2's log lacks its output:\n%s", raw[steps[2].LogStart:*steps[2].LogEnd])
		}

		stamped, h := getLogQuery(t, l.Client, job.ID, "timestamps=true")
		if h.Get("Lathe-Log-Size") != fmt.Sprint(len(raw)) {
			t.Errorf("Lathe-Log-Size %s with timestamps, want the log's own %d", h.Get("Lathe-Log-Size"), len(raw))
		}
		var unstamped strings.Builder
		var last time.Time
		for _, line := range strings.SplitAfter(stamped, "\n") {
			if line == "" {
				continue
			}
			ts, rest, ok := strings.Cut(line, " ")
			at, err := time.Parse(lathe.LogTimeLayout, ts)
			if !ok || err != nil || len(ts) != len(lathe.LogTimeLayout) {
				t.Fatalf("line %q does not start with a time: %v", line, err)
			}
			if at.Before(before) || at.After(job.FinishedAt.Add(time.Second)) || at.Before(last) {
				t.Errorf("line %q: time %v outside [%v, %v] or before the previous line's", rest, at, before, job.FinishedAt)
			}
			last = at
			unstamped.WriteString(rest)
		}
		if unstamped.String() != raw {
			t.Errorf("stamped log without its times differs from the log:\n%q\n%q", unstamped.String(), raw)
		}
		if l.Log(t, job.ID) != raw {
			t.Errorf("the log changed after a read with timestamps")
		}
		// The step printed no newline after four: the agent ended its line.
		stampedStep, _ := getLogQuery(t, l.Client, job.ID, "step=2&timestamps=true")
		if !strings.HasSuffix(stampedStep, " four\n") || strings.Count(stampedStep, "\n") != strings.Count(raw[steps[2].LogStart:*steps[2].LogEnd], "\n") {
			t.Errorf("step 2 with timestamps: %q", stampedStep)
		}

		var cliOut bytes.Buffer
		code := cli.Run(context.Background(), []string{"logs", fmt.Sprint(run.ID), "--timestamps", "--server", l.URL, "--token", l.AdminToken},
			&cli.Env{Stdout: &cliOut, Stderr: &cliOut, Getenv: func(string) string { return "" }})
		if code != 0 || !regexp.MustCompile(`(?m)^\[talk\] \d{4}-\d\d-\d\dT[0-9:.]{15}Z three$`).MatchString(cliOut.String()) {
			t.Errorf("lathe logs --timestamps: exit %d\n%s", code, cliOut.String())
		}

		err := l.Client.Do(context.Background(), http.MethodGet, fmt.Sprintf("/api/v1/jobs/%d/log?step=9", job.ID), nil, nil)
		if client.StatusOf(err) != http.StatusNotFound || !strings.Contains(err.Error(), "no step 9") {
			t.Errorf("step 9: %v, want 404 naming the step", err)
		}
		err = l.Client.Do(context.Background(), http.MethodGet, fmt.Sprintf("/api/v1/jobs/%d/log?timestamps=maybe", job.ID), nil, nil)
		if client.StatusOf(err) != http.StatusBadRequest {
			t.Errorf("timestamps=maybe: %v, want 400", err)
		}
	})
}
