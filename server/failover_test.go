package server_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
	"github.com/lathe-ci/lathe/internal/pgtest"
)

// failoverPipeline prints numbered lines for a few seconds.
const failoverPipeline = `
jobs:
  talk:
    runs-on: [failover]
    steps:
      - for i in $(seq 1 40); do echo "talk line $i"; sleep 0.05; done
`

// checkNumberedLog fails the test unless log holds "talk line 1" … "talk
// line n" each exactly once, in order.
func checkNumberedLog(t *testing.T, log string, n int) {
	t.Helper()
	next := 1
	for _, line := range strings.Split(log, "\n") {
		if !strings.HasPrefix(line, "talk line ") {
			continue
		}
		if line != fmt.Sprintf("talk line %d", next) {
			t.Fatalf("log has %q where %q was due (a byte lost or stored twice)\nlog:\n%s", line, fmt.Sprintf("talk line %d", next), log)
		}
		next++
	}
	if next != n+1 {
		t.Fatalf("log has %d numbered lines, want %d\nlog:\n%s", next-1, n, log)
	}
}

// An agent given two replicas' URLs whose first replica stops in the
// middle of a job carries the attempt on through the second: the job ends
// with its whole log, in one attempt, and the agent's next claim goes to
// the second replica too.
func TestAgentMovesToAnotherReplica(t *testing.T) {
	dsn := pgtest.Shared(t).NewDatabase(t)
	a := lathetest.Start(t, lathetest.Options{DatabaseURL: dsn, Agents: -1})
	b := startReplica(t, a, dsn, -1)
	b.Project(t, "failover", lathetest.Repo(t, map[string]string{".lathe.yml": failoverPipeline}))
	lathetest.StartAgentAt(t, a.URL+","+b.URL, b.RegistrationToken(t), "mover", "", "failover")

	run := b.Trigger(t, "failover", "", "")
	jobID := run.Jobs[0].ID
	waitFor(t, 60*time.Second, "line 5 stored", func() bool { return strings.Contains(b.Log(t, jobID), "talk line 5\n") })
	a.Stop()

	done := b.Wait(t, run.ID, 60*time.Second)
	if done.Status != lathe.StatusSuccess {
		t.Fatalf("run = %s, want success", done.Status)
	}
	j := b.Job(t, jobID)
	if len(j.Attempts) != 1 || !j.Attempts[0].LogComplete {
		t.Fatalf("attempts %+v, want one with its whole log", j.Attempts)
	}
	checkNumberedLog(t, b.Log(t, jobID), 40)

	// The next job is claimed through b.
	again := b.Wait(t, b.Trigger(t, "failover", "", "").ID, 60*time.Second)
	if again.Status != lathe.StatusSuccess {
		t.Fatalf("second run = %s, want success", again.Status)
	}
}

// dropAnswers is a proxy in front of a replica that passes every request
// on but, for every third report, drops the replica's answer and the
// connection: the report was applied, and the agent cannot know it.
type dropAnswers struct {
	proxy   *httputil.ReverseProxy
	target  *url.URL
	reports atomic.Int64
	dropped atomic.Int64
}

func (d *dropAnswers) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.URL.Path, "/report") || d.reports.Add(1)%3 != 0 {
		d.proxy.ServeHTTP(w, r)
		return
	}
	out := r.Clone(r.Context())
	out.URL.Scheme, out.URL.Host, out.RequestURI = d.target.Scheme, d.target.Host, ""
	resp, err := http.DefaultTransport.RoundTrip(out)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			d.dropped.Add(1)
		}
	}
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		conn.Close()
	}
}

// A report the replica applied but whose answer never reached the agent
// (the replica died after committing) is sent again, to the other
// replica, and changes nothing: no log byte is stored twice or lost.
func TestReportAppliedButUnansweredIsNotDoubled(t *testing.T) {
	dsn := pgtest.Shared(t).NewDatabase(t)
	a := lathetest.Start(t, lathetest.Options{DatabaseURL: dsn, Agents: -1})
	b := startReplica(t, a, dsn, -1)
	target, err := url.Parse(a.URL)
	if err != nil {
		t.Fatal(err)
	}
	d := &dropAnswers{proxy: httputil.NewSingleHostReverseProxy(target), target: target}
	front := httptest.NewServer(d)
	t.Cleanup(front.Close)

	b.Project(t, "failover", lathetest.Repo(t, map[string]string{".lathe.yml": failoverPipeline}))
	lathetest.StartAgentAt(t, front.URL+","+b.URL, b.RegistrationToken(t), "unanswered", "", "failover")
	run := b.Wait(t, b.Trigger(t, "failover", "", "").ID, 90*time.Second)
	if run.Status != lathe.StatusSuccess {
		t.Fatalf("run = %s, want success", run.Status)
	}
	if d.dropped.Load() == 0 {
		t.Fatal("no applied report had its answer dropped: the test proved nothing")
	}
	t.Logf("%d of %d reports through the proxy applied and unanswered", d.dropped.Load(), d.reports.Load())
	j := b.Job(t, run.Jobs[0].ID)
	if len(j.Attempts) != 1 || !j.Attempts[0].LogComplete {
		t.Fatalf("attempts %+v, want one with its whole log", j.Attempts)
	}
	checkNumberedLog(t, b.Log(t, j.ID), 40)
}
