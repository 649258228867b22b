package store_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/store"
)

func mustHold(t *testing.T, s *store.Store, projectID int64, pipeline, job string, count int, d time.Duration) *lathe.Hold {
	t.Helper()
	h := &lathe.Hold{Pipeline: pipeline, Job: job, Count: count, DurationSec: int64(d / time.Second), Reason: "why it fails", CreatedBy: "admin"}
	if err := s.CreateHold(t.Context(), projectID, h); err != nil {
		t.Fatalf("create hold: %v", err)
	}
	return h
}

func getHold(t *testing.T, s *store.Store, projectID, id int64) *lathe.Hold {
	t.Helper()
	h, err := s.Hold(t.Context(), projectID, id)
	if err != nil {
		t.Fatalf("hold %d: %v", id, err)
	}
	return h
}

// finishIn ends an attempt with status, saying where its workspace is.
func finishIn(t *testing.T, s *store.Store, a *lathe.Agent, as *lathe.Assignment, status lathe.Status) lathe.ReportReply {
	t.Helper()
	reply := mustReport(t, s, a, as.AttemptID, &lathe.Report{Finish: &lathe.FinishReport{Status: status,
		Workspace: fmt.Sprintf("/work/%s/ws/%d", a.Name, as.AttemptID)}})
	if !reply.Finished {
		t.Fatalf("finish: not finished (%+v)", reply)
	}
	return reply
}

// A hold catches the next failures of its job only: a success, another job
// or another pipeline's job passes by; each caught failure takes one from
// the count, is told to the agent in the finish reply (again if the finish
// is resent), and shows on the hold and on the attempt.
func TestHoldCatchesTheNextFailuresOfItsJob(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p := mustProject(t, s, "web")
		a := mustAgent(t, s, "a1")
		h := mustHold(t, s, p.ID, "ci", "test", 2, time.Hour)
		if h.ID == 0 || h.Count != 2 || h.CreatedAt.IsZero() {
			t.Fatalf("created hold = %+v", h)
		}

		run := func(pipeline, name string, status lathe.Status) (*lathe.Assignment, lathe.ReportReply) {
			mustRun(t, s, p.ID, pipeline, []string{"build"}, job(name, "build"))
			as := mustClaim(t, s, a)
			return as, finishIn(t, s, a, as, status)
		}
		for _, c := range []struct {
			pipeline, job string
			status        lathe.Status
		}{
			{"ci", "test", lathe.StatusSuccess},
			{"ci", "lint", lathe.StatusFailed},
			{"nightly", "test", lathe.StatusFailed},
			{"ci", "test", lathe.StatusCanceled},
		} {
			if _, reply := run(c.pipeline, c.job, c.status); reply.HoldUntil != nil {
				t.Errorf("%s/%s ending %s was held until %v", c.pipeline, c.job, c.status, reply.HoldUntil)
			}
		}
		if got := getHold(t, s, p.ID, h.ID); got.Count != 2 || len(got.Held) != 0 {
			t.Fatalf("hold after non-matching ends = %+v; want untouched", got)
		}

		before := time.Now()
		first, reply := run("ci", "test", lathe.StatusFailed)
		if reply.HoldUntil == nil || reply.HoldUntil.Before(before.Add(time.Hour-time.Minute)) {
			t.Fatalf("failed attempt: hold until %v; want about an hour from now", reply.HoldUntil)
		}
		// A resent finish (its answer lost) is fenced, but still says to keep it.
		again, err := s.Report(ctx, a.ID, first.AttemptID, &lathe.Report{Finish: &lathe.FinishReport{Status: lathe.StatusFailed}})
		wantErr(t, "resent finish", err, lathe.ErrFenced)
		if again.HoldUntil == nil || !again.HoldUntil.Equal(*reply.HoldUntil) {
			t.Errorf("resent finish: hold until %v, want %v", again.HoldUntil, reply.HoldUntil)
		}
		second, reply2 := run("ci", "test", lathe.StatusTimedOut)
		if reply2.HoldUntil == nil {
			t.Fatal("timed-out attempt was not held")
		}
		if _, reply3 := run("ci", "test", lathe.StatusFailed); reply3.HoldUntil != nil {
			t.Errorf("a spent hold still caught a failure")
		}

		got := getHold(t, s, p.ID, h.ID)
		if got.Count != 0 || len(got.Held) != 2 || got.Held[0].AttemptID != first.AttemptID || got.Held[1].AttemptID != second.AttemptID {
			t.Fatalf("hold = %+v; want count 0 holding attempts %d and %d", got, first.AttemptID, second.AttemptID)
		}
		x := got.Held[0]
		if x.Agent != "a1" || x.Path != fmt.Sprintf("/work/a1/ws/%d", first.AttemptID) || x.Status != lathe.StatusFailed ||
			!x.ExpiresAt.Equal(*reply.HoldUntil) || x.JobID != first.JobID || x.RunID != first.RunID {
			t.Errorf("held attempt = %+v", x)
		}
		att, err := s.Attempt(ctx, first.AttemptID)
		if err != nil {
			t.Fatal(err)
		}
		if att.HeldUntil == nil || !att.HeldUntil.Equal(*reply.HoldUntil) || att.HeldPath != x.Path {
			t.Errorf("attempt = held until %v at %q; want %v at %q", att.HeldUntil, att.HeldPath, reply.HoldUntil, x.Path)
		}

		// Deleting the hold stops it catching; what it kept stays recorded.
		if err := s.DeleteHold(ctx, p.ID, h.ID); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "deleted hold", s.DeleteHold(ctx, p.ID, h.ID), lathe.ErrNotFound)
		if att, _ := s.Attempt(ctx, first.AttemptID); att.HeldUntil == nil {
			t.Error("deleting the hold forgot the workspace its agent still keeps")
		}
		if hs, err := s.Holds(ctx, p.ID); err != nil || len(hs) != 0 {
			t.Errorf("holds after delete = %+v, %v", hs, err)
		}
	})
}

// Failures finishing at the same instant never take more than the count.
func TestHoldCountHoldsUnderConcurrentFailures(t *testing.T) {
	const agents = 8
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		p := mustProject(t, s, "web")
		h := mustHold(t, s, p.ID, "ci", "test", 3, time.Hour)
		var as []*lathe.Assignment
		var ags []*lathe.Agent
		for i := range agents {
			mustRun(t, s, p.ID, "ci", []string{"build"}, job("test", "build"))
			a := mustAgent(t, s, fmt.Sprintf("a%d", i))
			ags = append(ags, a)
			as = append(as, mustClaim(t, s, a))
		}
		replies := make([]lathe.ReportReply, agents)
		errs := make([]error, agents)
		gate := make(chan struct{})
		var wg sync.WaitGroup
		for i := range agents {
			wg.Go(func() {
				<-gate
				replies[i], errs[i] = s.Report(t.Context(), ags[i].ID, as[i].AttemptID,
					&lathe.Report{Finish: &lathe.FinishReport{Status: lathe.StatusFailed, Workspace: "/ws"}})
			})
		}
		close(gate)
		wg.Wait()
		held := 0
		for i := range agents {
			if errs[i] != nil {
				t.Fatalf("finish %d: %v", i, errs[i])
			}
			if replies[i].HoldUntil != nil {
				held++
			}
		}
		got := getHold(t, s, p.ID, h.ID)
		if held != 3 || got.Count != 0 || len(got.Held) != 3 {
			t.Fatalf("%d replies held, hold = count %d with %d held; want 3, 0, 3", held, got.Count, len(got.Held))
		}
	})
}

func TestHoldRequestIsChecked(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		p := mustProject(t, s, "web")
		for _, h := range []*lathe.Hold{
			{Pipeline: "ci", Job: "test", Count: 0, DurationSec: 60},
			{Pipeline: "ci", Job: "test", Count: 1, DurationSec: 0},
			{Pipeline: "ci", Job: "test", Count: 1, DurationSec: int64(store.MaxHoldDuration/time.Second) + 1},
		} {
			wantErr(t, fmt.Sprintf("hold %+v", h), s.CreateHold(t.Context(), p.ID, h), lathe.ErrInvalid)
		}
		if _, err := s.Hold(t.Context(), p.ID, 12345); !errorsIs(err, lathe.ErrNotFound) {
			t.Errorf("unknown hold: err = %v", err)
		}
	})
}
