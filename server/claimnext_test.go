package server_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// A finish that carries a claim ID claims the agent's next job and answers
// it; a finish resent after its answer was lost is fenced, and a claim
// with the same ID gets that job back; a report that does not finish
// claims nothing; nothing queued, nothing claimed.
func TestFinishClaimsTheNextJob(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		l, c, run := startManualAgent(t, o, `
jobs:
  a: {runs-on: [proto], steps: [echo a]}
  b: {runs-on: [proto], steps: [echo b]}
  c: {runs-on: [proto], steps: [echo c]}
`)
		ctx := context.Background()
		finish := func(as *lathe.Assignment, claimID string, first bool) (lathe.ReportReply, error) {
			return c.ReportClaiming(ctx, as.AttemptID, &lathe.Report{Log: []byte("ok\n"),
				Finish: &lathe.FinishReport{Status: lathe.StatusSuccess, LogSize: 3}}, claimID, first)
		}
		first, err := c.ClaimNew(ctx, 5, "c1")
		if err != nil || first == nil {
			t.Fatalf("claim: %+v, %v", first, err)
		}
		reply, err := finish(first, "c2", true)
		if err != nil || !reply.Finished || reply.Next == nil {
			t.Fatalf("finish with a claim ID = %+v, %v; want finished with the next job", reply, err)
		}
		second := reply.Next
		if second.JobID == first.JobID || second.RepoURL == "" || second.Commit != first.Commit {
			t.Fatalf("next job = %+v; want another job of run %d, whole", second, run.ID)
		}
		// The answer was lost: the finish goes again, with the ID no longer new.
		if reply, err := finish(first, "c2", false); !errors.Is(err, lathe.ErrFenced) || reply.Next != nil {
			t.Fatalf("resent finish = %+v, %v; want fenced, no next job", reply, err)
		}
		again, err := c.Claim(ctx, 5, "c2")
		if err != nil || again == nil || again.AttemptID != second.AttemptID {
			t.Fatalf("claim with the finish's claim ID = %+v, %v; want attempt %d again", again, err, second.AttemptID)
		}
		// Only a finish claims.
		reply, err = c.ReportClaiming(ctx, second.AttemptID, &lathe.Report{Log: []byte("ok\n")}, "c3", true)
		if err != nil || reply.Finished || reply.Next != nil {
			t.Fatalf("report with a claim ID = %+v, %v; want no finish and no next job", reply, err)
		}
		reply, err = c.ReportClaiming(ctx, second.AttemptID, &lathe.Report{LogOffset: 3,
			Finish: &lathe.FinishReport{Status: lathe.StatusSuccess, LogSize: 3}}, "c4", true)
		if err != nil || !reply.Finished || reply.Next == nil {
			t.Fatalf("second finish = %+v, %v; want the third job", reply, err)
		}
		third := reply.Next
		if third.JobID == first.JobID || third.JobID == second.JobID {
			t.Fatalf("third job = %d; want the one not yet run", third.JobID)
		}
		if reply, err = finish(third, "c5", true); err != nil || !reply.Finished || reply.Next != nil {
			t.Fatalf("last finish = %+v, %v; want finished and nothing next", reply, err)
		}
		if r := l.Wait(t, run.ID, 10*time.Second); r.Status != lathe.StatusSuccess {
			t.Fatalf("run %s", r.Status)
		}
		for _, as := range []*lathe.Assignment{first, second, third} {
			if j := l.Job(t, as.JobID); len(j.Attempts) != 1 {
				t.Errorf("job %s has %d attempts; want 1", j.Name, len(j.Attempts))
			}
		}
	})
}

// A real agent with jobs queued runs them back to back, each claimed by the
// finish before it: one claim request answers a job for the whole run, and
// /metrics counts every claim.
func TestAgentTakesQueuedJobsWithItsFinishes(t *testing.T) {
	o := lathetest.Options{MetricsAddr: "127.0.0.1:0", Agents: 1}
	l := lathetest.Start(t, o)
	l.Project(t, "p", lathetest.Repo(t, map[string]string{".lathe.yml": `
jobs:
  a: {steps: [echo a]}
  b: {steps: [echo b]}
  c: {steps: [echo c]}
`}))
	run := l.Trigger(t, "p", "", "")
	if r := l.Wait(t, run.ID, 60*time.Second); r.Status != lathe.StatusSuccess {
		t.Fatalf("run %s", r.Status)
	}
	b := scrapeMetrics(t, l)
	if !strings.Contains(b, "\nlathe_attempts_started_total 3\n") {
		t.Errorf("/metrics does not count 3 attempts started (claims, whichever way they came):\n%s", b)
	}
	const claimed = `lathe_http_request_duration_seconds_count{code="200",route="POST /api/v1/agent/claim"} `
	for _, line := range strings.Split(b, "\n") {
		if rest, ok := strings.CutPrefix(line, claimed); ok {
			if rest != "1" {
				t.Errorf("claim requests answered with a job: %s; want 1 (the other two came with finishes)", rest)
			}
			return
		}
	}
	t.Errorf("/metrics has no claim answered with a job:\n%s", b)
}
