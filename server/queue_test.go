package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/internal/lathetest"
	"github.com/lathe-ci/lathe/store"
)

// Queue control (Zuul's enqueue, dequeue and promote) and auto_cancel.

// auditOf returns the project's audit events of one action, newest first.
func auditOf(t *testing.T, l *lathetest.Lathe, project, action string) []*store.AuditEvent {
	t.Helper()
	var page lathe.Page[*store.AuditEvent]
	l.Do(t, http.MethodGet, "/api/v1/projects/"+project+"/events?type="+action+"&limit=100", nil, &page)
	return page.Items
}

// firstAttempt is the ID of the first attempt of a finished run's only job.
func firstAttempt(t *testing.T, l *lathetest.Lathe, runID int64) int64 {
	t.Helper()
	r := l.Wait(t, runID, 60*time.Second)
	if r.Status != lathe.StatusSuccess || len(r.Jobs) != 1 {
		t.Fatalf("run %d: %s with %d jobs; want success with one job", runID, r.Status, len(r.Jobs))
	}
	j := l.Job(t, r.Jobs[0].ID)
	if len(j.Attempts) == 0 {
		t.Fatalf("run %d: job %d has no attempt", runID, j.ID)
	}
	return j.Attempts[0].ID
}

// Three runs wait in the queue with no agent; the last is promoted to the
// front of its pipeline's queue; one agent then takes their jobs one at a
// time, the promoted run's first and the others in the order they came.
// Another pipeline's older run keeps its place ahead of them.
func TestPromoteReordersTheQueue(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		o.Agents = -1
		l := lathetest.Start(t, o)
		l.Project(t, "q", lathetest.Repo(t, map[string]string{
			".lathe/ci.yml":    "jobs:\n  j:\n    steps: [true]\n",
			".lathe/other.yml": "jobs:\n  j:\n    steps: [true]\n",
		}))
		other := l.Trigger(t, "q", "", "other")
		a, b, c := l.Trigger(t, "q", "", "ci"), l.Trigger(t, "q", "", "ci"), l.Trigger(t, "q", "", "ci")
		var promoted lathe.Run
		l.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/runs/%d/promote", c.ID), nil, &promoted)
		if promoted.ID != c.ID || promoted.Status != lathe.StatusQueued {
			t.Errorf("promote answered run %d (%s); want run %d, still queued", promoted.ID, promoted.Status, c.ID)
		}
		// Promoting the run at the front again changes nothing.
		l.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/runs/%d/promote", c.ID), nil, nil)

		l.StartAgent(t, l.RegistrationToken(t), "solo", "")
		order := []struct {
			name string
			id   int64
		}{{"other", other.ID}, {"c (promoted)", c.ID}, {"a", a.ID}, {"b", b.ID}}
		var last int64
		for _, r := range order {
			at := firstAttempt(t, l, r.id)
			if at <= last {
				t.Errorf("run %s (%d) was claimed as attempt %d, not after attempt %d: claims do not follow the queue",
					r.name, r.id, at, last)
			}
			last = at
		}
		err := l.Client.Do(context.Background(), http.MethodPost, fmt.Sprintf("/api/v1/runs/%d/promote", a.ID), nil, nil)
		if client.StatusOf(err) != http.StatusConflict {
			t.Errorf("promote a finished run: %v; want 409", err)
		}
		if ev := auditOf(t, l, "q", "run.promoted"); len(ev) != 2 || fmt.Sprint(ev[0].Details["run_id"]) != fmt.Sprint(c.ID) {
			t.Errorf("run.promoted audit entries = %+v; want two for run %d", ev, c.ID)
		}
	})
}

// A pipeline with auto_cancel: a push of a newer commit to a branch
// cancels the older unfinished run of that branch (not the runs of other
// branches), and a newer commit of a pull request cancels that pull
// request's older run; each cancel is audited as superseded by the new run.
func TestAutoCancelSupersedesOlderRuns(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		o.Agents = -1
		l := lathetest.Start(t, o)
		repo := lathetest.Repo(t, map[string]string{".lathe.yml": "auto_cancel: true\njobs:\n  j:\n    steps: [true]\n"})
		lathetest.Git(t, repo, "branch", "dev")
		l.Project(t, "ac", repo)
		var hook lathe.HookToken
		l.Do(t, http.MethodPost, "/api/v1/projects/ac/hook-tokens", map[string]string{"name": "forge"}, &hook)
		push := func(ref string) *lathe.Run {
			t.Helper()
			var out struct{ Items []*lathe.Run }
			l.Do(t, http.MethodPost, "/api/v1/hooks/"+hook.Token, map[string]string{"ref": ref, "event": "push"}, &out)
			if len(out.Items) != 1 {
				t.Fatalf("push of %s started %d runs; want 1", ref, len(out.Items))
			}
			return out.Items[0]
		}
		oldMain, oldDev := push("main"), push("dev")
		again := push("main") // the same commit again: a twin, not a newer commit
		if got := l.Run(t, oldMain.ID).Status; got != lathe.StatusQueued {
			t.Errorf("a second run of the same commit left the first %s; want queued", got)
		}
		lathetest.Commit(t, repo, map[string]string{"change": "1"})
		newMain := push("main")

		for _, tc := range []struct {
			name string
			id   int64
			want lathe.Status
		}{{"older run of main", oldMain.ID, lathe.StatusCanceled}, {"its twin of the same commit", again.ID, lathe.StatusCanceled},
			{"run of dev", oldDev.ID, lathe.StatusQueued}, {"newer run of main", newMain.ID, lathe.StatusQueued}} {
			if got := l.Run(t, tc.id).Status; got != tc.want {
				t.Errorf("%s (run %d) is %s; want %s", tc.name, tc.id, got, tc.want)
			}
		}

		lathetest.Git(t, repo, "update-ref", "refs/pull/4/head", "dev")
		var oldPR, newPR lathe.Run
		l.Do(t, http.MethodPost, "/api/v1/projects/ac/runs", map[string]any{"pipeline": "main", "pull_request": 4}, &oldPR)
		lathetest.Git(t, repo, "update-ref", "refs/pull/4/head", "main")
		l.Do(t, http.MethodPost, "/api/v1/projects/ac/runs", map[string]any{"pipeline": "main", "pull_request": 4}, &newPR)
		if got := l.Run(t, oldPR.ID).Status; got != lathe.StatusCanceled {
			t.Errorf("older run of pull request 4 is %s; want canceled", got)
		}
		if got := l.Run(t, oldDev.ID).Status; got != lathe.StatusQueued {
			t.Errorf("a pull request's run canceled the run of dev: %s", got)
		}

		reasons := map[string]string{}
		for _, e := range auditOf(t, l, "ac", "run.superseded") {
			reasons[fmt.Sprint(e.Details["run_id"])] = fmt.Sprint(e.Details["reason"])
			if e.Actor != "lathe" {
				t.Errorf("run.superseded by %q; want lathe", e.Actor)
			}
		}
		want := map[string]string{
			fmt.Sprint(oldMain.ID): fmt.Sprintf("superseded by run %d", newMain.ID),
			fmt.Sprint(again.ID):   fmt.Sprintf("superseded by run %d", newMain.ID),
			fmt.Sprint(oldPR.ID):   fmt.Sprintf("superseded by run %d", newPR.ID),
		}
		if fmt.Sprint(reasons) != fmt.Sprint(want) {
			t.Errorf("superseded audit reasons = %v; want %v", reasons, want)
		}
	})
}

// Dequeue cancels the queued runs of a ref, or of a pull request, and
// leaves the others; a running run is canceled too. It takes a ref or a
// pull request, not both, not neither.
func TestDequeueCancelsARefsRuns(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		o.Agents = -1
		l := lathetest.Start(t, o)
		repo := lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  j:\n    steps: [sleep 60]\n"})
		lathetest.Git(t, repo, "branch", "dev")
		lathetest.Git(t, repo, "update-ref", "refs/pull/9/head", "main")
		l.Project(t, "dq", repo)
		first := l.Trigger(t, "dq", "main", "")
		second := l.Trigger(t, "dq", "refs/heads/main", "")
		dev := l.Trigger(t, "dq", "dev", "")
		var pr lathe.Run
		l.Do(t, http.MethodPost, "/api/v1/projects/dq/runs", map[string]any{"pipeline": "main", "pull_request": 9}, &pr)

		var out struct{ Items []*lathe.Run }
		l.Do(t, http.MethodPost, "/api/v1/projects/dq/dequeue", map[string]any{"ref": "main"}, &out)
		if len(out.Items) != 2 || out.Items[0].ID != first.ID || out.Items[1].ID != second.ID {
			t.Fatalf("dequeue main answered %+v; want runs %d and %d", out.Items, first.ID, second.ID)
		}
		for _, r := range out.Items {
			if r.Status != lathe.StatusCanceled {
				t.Errorf("dequeued run %d is %s; want canceled", r.ID, r.Status)
			}
		}
		l.Do(t, http.MethodPost, "/api/v1/projects/dq/dequeue", map[string]any{"pull_request": 9, "pipeline": "main"}, &out)
		if len(out.Items) != 1 || out.Items[0].ID != pr.ID || out.Items[0].Status != lathe.StatusCanceled {
			t.Errorf("dequeue pull request 9 answered %+v; want run %d canceled", out.Items, pr.ID)
		}
		if got := l.Run(t, dev.ID).Status; got != lathe.StatusQueued {
			t.Errorf("run of dev is %s after dequeueing main and PR 9; want queued", got)
		}

		// A running run: an agent takes dev's job, then dev is dequeued.
		l.StartAgent(t, l.RegistrationToken(t), "dq-agent", "")
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if err := l.Client.Stream(ctx, fmt.Sprintf("/api/v1/runs/%d/events", dev.ID), "", func(ev client.Event) error {
			if strings.Contains(string(ev.Data), `"status":"running"`) {
				return context.Canceled // stop reading: it runs
			}
			return nil
		}); err != nil && err != context.Canceled {
			t.Fatalf("wait for dev's run to start: %v", err)
		}
		l.Do(t, http.MethodPost, "/api/v1/projects/dq/dequeue", map[string]any{"ref": "dev"}, &out)
		if len(out.Items) != 1 || out.Items[0].ID != dev.ID {
			t.Fatalf("dequeue dev answered %+v; want run %d", out.Items, dev.ID)
		}
		if got := l.Wait(t, dev.ID, 60*time.Second).Status; got != lathe.StatusCanceled {
			t.Errorf("running run of dev ended %s after its dequeue; want canceled", got)
		}
		if ev := auditOf(t, l, "dq", "run.dequeued"); len(ev) != 4 {
			t.Errorf("run.dequeued audit entries = %d; want 4", len(ev))
		}

		for _, body := range []map[string]any{{}, {"ref": "main", "pull_request": 9}, {"pull_request": -1}} {
			err := l.Client.Do(context.Background(), http.MethodPost, "/api/v1/projects/dq/dequeue", body, nil)
			if client.StatusOf(err) != http.StatusBadRequest {
				t.Errorf("dequeue %v: %v; want 400", body, err)
			}
		}
	})
}

// Enqueueing a pull request by number builds its head ref,
// refs/pull/N/head, a commit on no branch: the mirror and the agent fetch
// that ref, and the job sees the pull_request event and the ref.
func TestEnqueuePullRequestByNumber(t *testing.T) {
	repo := lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  j:\n    steps:\n" +
		"      - echo \"event=$LATHE_EVENT ref=$LATHE_REF\"\n      - cat change\n"})
	lathetest.Git(t, repo, "checkout", "-q", "-b", "feature")
	head := lathetest.Commit(t, repo, map[string]string{"change": "from the pull request"})
	lathetest.Git(t, repo, "update-ref", "refs/pull/7/head", head)
	lathetest.Git(t, repo, "checkout", "-q", "main")
	lathetest.Git(t, repo, "branch", "-q", "-D", "feature")

	l := lathetest.Start(t, lathetest.Options{})
	l.Project(t, "prs", repo)
	var run lathe.Run
	l.Do(t, http.MethodPost, "/api/v1/projects/prs/runs", map[string]any{"pipeline": "main", "pull_request": 7}, &run)
	if run.PullRequest != 7 || run.Ref != "refs/pull/7/head" || run.Commit != head || run.Event != "pull_request" {
		t.Errorf("run of pull request 7: pull_request %d, ref %s, commit %.12s, event %s; want 7, refs/pull/7/head, %.12s, pull_request",
			run.PullRequest, run.Ref, run.Commit, run.Event, head)
	}
	done := l.Wait(t, run.ID, 60*time.Second)
	log := l.Log(t, done.Jobs[0].ID)
	if done.Status != lathe.StatusSuccess || !strings.Contains(log, "event=pull_request ref=refs/pull/7/head") ||
		!strings.Contains(log, "from the pull request") {
		t.Errorf("run of pull request 7 ended %s; log:\n%s", done.Status, log)
	}
	if ev := auditOf(t, l, "prs", "run.triggered"); len(ev) != 1 || fmt.Sprint(ev[0].Details["pull_request"]) != "7" {
		t.Errorf("run.triggered audit = %+v; want one naming pull_request 7", ev)
	}
	for _, body := range []map[string]any{{"pull_request": 7, "ref": "main"}, {"pull_request": -3}, {"pull_request": 8}} {
		err := l.Client.Do(context.Background(), http.MethodPost, "/api/v1/projects/prs/runs", body, nil)
		if client.StatusOf(err) != http.StatusBadRequest {
			t.Errorf("trigger %v: %v; want 400", body, err)
		}
	}
}
