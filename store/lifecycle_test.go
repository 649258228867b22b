package store_test

import (
	"reflect"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/store"
)

// The happy path as agents drive it: claim, report log and steps, finish;
// each success releases the jobs waiting for it, and stages and the run
// follow, with their clocks taken from their jobs.
func TestSuccessReleasesDependentsAndRollsUp(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p := mustProject(t, s, "web")
		a1, a2 := mustAgent(t, s, "a1"), mustAgent(t, s, "a2")
		r := mustRun(t, s, p.ID, "ci", []string{"build", "test", "deploy"},
			job("compile", "build"),
			job("unit", "test", "compile"),
			job("e2e", "test", "compile"),
			job("ship", "deploy", "unit", "e2e"),
		)

		compile := mustClaim(t, s, a1)
		if compile.Job != "compile" || compile.Attempt != 1 || compile.RunID != r.ID || compile.Project != "web" ||
			compile.RepoURL != p.URL || compile.Pipeline != "ci" || compile.RunNumber != 1 || compile.Stage != "build" ||
			compile.Branch != "main" || compile.Event != "push" || compile.TimeoutSec != 600 ||
			!reflect.DeepEqual(compile.Steps, []lathe.StepDef{{Name: "run", Run: "make compile"}}) {
			t.Errorf("assignment = %+v", compile)
		}
		if as, err := s.Claim(ctx, a2.ID, nil); as != nil || err != nil {
			t.Fatalf("claim while only pending jobs are left = %+v, %v; want nothing", as, err)
		}
		got := mustGetRun(t, s, r.ID)
		wantRollup(t, got, lathe.StatusRunning, "build:running test:pending deploy:pending")
		if got.StartedAt == nil || !got.StartedAt.Equal(*jobNamed(t, got, "compile").StartedAt) || got.FinishedAt != nil {
			t.Errorf("run clock while compiling: started %v finished %v", got.StartedAt, got.FinishedAt)
		}

		code := 0
		start, end := time.UnixMicro(1_700_000_000_000_000).UTC(), time.UnixMicro(1_700_000_002_500_000).UTC()
		logEnd := int64(len("compiling\nok\n"))
		reply := mustReport(t, s, a1, compile.AttemptID, &lathe.Report{
			Log: []byte("compiling\nok\n"),
			Steps: []lathe.StepReport{{Index: 0, Name: "run", Status: lathe.StatusSuccess, ExitCode: &code,
				LogStart: 0, LogEnd: &logEnd, StartedAt: &start, FinishedAt: &end}},
			Finish: &lathe.FinishReport{Status: lathe.StatusSuccess, LogSize: logEnd},
		})
		if reply != (lathe.ReportReply{LogSize: logEnd, Finished: true}) {
			t.Errorf("reply to the finishing report = %+v", reply)
		}
		att, err := s.Attempt(ctx, compile.AttemptID)
		if err != nil {
			t.Fatal(err)
		}
		if att.Status != lathe.StatusSuccess || att.AgentID != a1.ID || att.Agent != "a1" || att.Number != 1 || att.LogSize != logEnd ||
			att.StartedAt == nil || att.FinishedAt == nil || att.DurationMS == nil {
			t.Errorf("attempt = %+v", att)
		}
		if len(att.Steps) != 1 || att.Steps[0].Status != lathe.StatusSuccess || *att.Steps[0].ExitCode != 0 ||
			*att.Steps[0].LogEnd != logEnd || !att.Steps[0].StartedAt.Equal(start) || *att.Steps[0].DurationMS != 2500 {
			t.Errorf("steps = %+v", att.Steps)
		}

		got = mustGetRun(t, s, r.ID)
		wantJobs(t, got, map[string]lathe.Status{"compile": "success", "unit": "queued", "e2e": "queued", "ship": "pending"})
		wantRollup(t, got, lathe.StatusRunning, "build:success test:queued deploy:pending")

		unit, e2e := mustClaim(t, s, a1), mustClaim(t, s, a2)
		finish(t, s, a2, e2e, lathe.StatusSuccess)
		wantJobs(t, mustGetRun(t, s, r.ID), map[string]lathe.Status{"unit": "running", "e2e": "success", "ship": "pending"})
		finish(t, s, a1, unit, lathe.StatusSuccess)
		wantJobs(t, mustGetRun(t, s, r.ID), map[string]lathe.Status{"ship": "queued"})
		finish(t, s, a2, mustClaim(t, s, a2), lathe.StatusSuccess)

		got = mustGetRun(t, s, r.ID)
		wantRollup(t, got, lathe.StatusSuccess, "build:success test:success deploy:success")
		wantClocksRollUp(t, got)
	})
}

// A failure skips everything downstream of it, however far; jobs that do
// not depend on it still run, and the run fails once they are done.
func TestFailureSkipsDependentsTransitivelyAndFailsTheRun(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		p := mustProject(t, s, "web")
		a := mustAgent(t, s, "a1")
		r := mustRun(t, s, p.ID, "ci", []string{"build", "test", "deploy"},
			job("compile", "build"),
			job("docs", "build"),
			job("unit", "test", "compile"),
			job("ship", "deploy", "unit"),
		)
		compile, docs := mustClaim(t, s, a), mustClaim(t, s, a)
		finish(t, s, a, compile, lathe.StatusFailed)

		got := mustGetRun(t, s, r.ID)
		wantJobs(t, got, map[string]lathe.Status{"compile": "failed", "docs": "running", "unit": "skipped", "ship": "skipped"})
		wantRollup(t, got, lathe.StatusRunning, "build:running test:skipped deploy:skipped")
		if as, err := s.Claim(t.Context(), a.ID, nil); as != nil || err != nil {
			t.Errorf("claim after the failure = %+v, %v; want nothing", as, err)
		}

		finish(t, s, a, docs, lathe.StatusSuccess)
		got = mustGetRun(t, s, r.ID)
		wantRollup(t, got, lathe.StatusFailed, "build:failed test:skipped deploy:skipped")
		wantClocksRollUp(t, got)
		for _, name := range []string{"unit", "ship"} {
			if j := jobNamed(t, got, name); j.StartedAt != nil || j.FinishedAt == nil || j.Attempt != 0 {
				t.Errorf("skipped %s: started %v finished %v attempt %d; want never started, finished, no attempt",
					name, j.StartedAt, j.FinishedAt, j.Attempt)
			}
		}
	})
}

func TestEveryFailureKindSkipsDependents(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		p := mustProject(t, s, "web")
		a := mustAgent(t, s, "a1")
		for _, tc := range []struct {
			finish, wantRun lathe.Status
		}{
			{lathe.StatusFailed, lathe.StatusFailed},
			{lathe.StatusTimedOut, lathe.StatusFailed},
			// A lost job is the sweeper's (TestLostAttemptsAreRetriedABoundedNumberOfTimes):
			// an agent's finish with status lost hands the attempt back.
			{lathe.StatusCanceled, lathe.StatusCanceled},
			{lathe.StatusSuccess, lathe.StatusSuccess},
		} {
			r := mustRun(t, s, p.ID, "ci", []string{"build", "test"}, job("compile", "build"), job("unit", "test", "compile"))
			finish(t, s, a, mustClaim(t, s, a), tc.finish)
			if tc.finish == lathe.StatusSuccess {
				finish(t, s, a, mustClaim(t, s, a), lathe.StatusSuccess)
			}
			got := mustGetRun(t, s, r.ID)
			wantUnit := lathe.StatusSkipped
			if tc.finish == lathe.StatusSuccess {
				wantUnit = lathe.StatusSuccess
			}
			if st := jobStatuses(got); st["compile"] != tc.finish || st["unit"] != wantUnit || got.Status != tc.wantRun {
				t.Errorf("compile %s: jobs %v run %s; want unit %s, run %s", tc.finish, st, got.Status, wantUnit, tc.wantRun)
			}
		}
	})
}

// Canceling a run stops what has not started at once; a running attempt is
// told to stop in its next reply, and the run is canceled when it reports.
// Whatever the agent then says, the run ends canceled.
func TestCancelRunStopsQueuedJobsAtOnceAndRunningOnesThroughTheAgent(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p := mustProject(t, s, "web")
		a := mustAgent(t, s, "a1")
		for _, tc := range []struct {
			agentSays, wantJob lathe.Status
		}{
			{lathe.StatusCanceled, lathe.StatusCanceled},
			{lathe.StatusFailed, lathe.StatusCanceled}, // killed by the cancel, not a failure of its own
			{lathe.StatusSuccess, lathe.StatusSuccess}, // finished before it could be stopped
		} {
			r := mustRun(t, s, p.ID, "ci", []string{"build", "test"},
				job("compile", "build"), job("docs", "build"), job("unit", "test", "compile"))
			compile := mustClaim(t, s, a) // docs stays queued, unit pending
			if reply := mustReport(t, s, a, compile.AttemptID, &lathe.Report{}); reply.Cancel {
				t.Fatalf("heartbeat before the cancel says cancel")
			}

			if err := s.CancelRun(ctx, r.ID); err != nil {
				t.Fatal(err)
			}
			got := mustGetRun(t, s, r.ID)
			wantJobs(t, got, map[string]lathe.Status{"compile": "running", "docs": "canceled", "unit": "canceled"})
			if got.Status != lathe.StatusRunning || got.FinishedAt != nil {
				t.Errorf("run with a running job after cancel: %s, finished %v; want running", got.Status, got.FinishedAt)
			}
			if as, err := s.Claim(ctx, a.ID, nil); as != nil || err != nil {
				t.Errorf("claim after cancel = %+v, %v; want nothing", as, err)
			}
			if reply := mustReport(t, s, a, compile.AttemptID, &lathe.Report{Log: []byte("x")}); !reply.Cancel || reply.Finished {
				t.Errorf("heartbeat after the cancel = %+v; want cancel", reply)
			}

			reply := mustReport(t, s, a, compile.AttemptID, &lathe.Report{Finish: &lathe.FinishReport{Status: tc.agentSays, LogSize: 1}})
			if !reply.Finished {
				t.Fatalf("finish after cancel not applied: %+v", reply)
			}
			got = mustGetRun(t, s, r.ID)
			if j := jobNamed(t, got, "compile"); j.Status != tc.wantJob {
				t.Errorf("agent says %s after cancel: job %s, want %s", tc.agentSays, j.Status, tc.wantJob)
			}
			wantRollup(t, got, lathe.StatusCanceled, "build:canceled test:canceled")
			wantClocksRollUp(t, got)
			wantErr(t, "cancel a finished run", s.CancelRun(ctx, r.ID), lathe.ErrConflict)
		}
	})
}

func TestCancelRunBeforeAnythingStartedEndsItAtOnce(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		p := mustProject(t, s, "web")
		r := mustRun(t, s, p.ID, "ci", []string{"build", "test", "empty"}, job("compile", "build"), job("unit", "test", "compile"))
		if err := s.CancelRun(t.Context(), r.ID); err != nil {
			t.Fatal(err)
		}
		got := mustGetRun(t, s, r.ID)
		wantJobs(t, got, map[string]lathe.Status{"compile": "canceled", "unit": "canceled"})
		wantRollup(t, got, lathe.StatusCanceled, "build:canceled test:canceled empty:skipped")
		if got.StartedAt != nil || got.FinishedAt == nil || got.DurationMS != nil {
			t.Errorf("run canceled before starting: started %v finished %v duration %v; want only finished",
				got.StartedAt, got.FinishedAt, got.DurationMS)
		}
	})
}

// Canceling one queued job skips what depends on it and leaves the rest alone.
func TestCancelJobSkipsItsDependents(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p := mustProject(t, s, "web")
		a := mustAgent(t, s, "a1")
		r := mustRun(t, s, p.ID, "ci", []string{"build", "test", "deploy"},
			job("compile", "build"), job("docs", "build"),
			job("unit", "test", "compile"), job("ship", "deploy", "unit"))
		compile := jobNamed(t, mustGetRun(t, s, r.ID), "compile")

		if err := s.CancelJob(ctx, compile.ID); err != nil {
			t.Fatal(err)
		}
		got := mustGetRun(t, s, r.ID)
		wantJobs(t, got, map[string]lathe.Status{"compile": "canceled", "docs": "queued", "unit": "skipped", "ship": "skipped"})
		// Something has ended, so the engine counts the run as under way.
		wantRollup(t, got, lathe.StatusRunning, "build:running test:skipped deploy:skipped")
		wantErr(t, "cancel it again", s.CancelJob(ctx, compile.ID), lathe.ErrConflict)

		docs := mustClaim(t, s, a)
		if docs.Job != "docs" {
			t.Fatalf("claimed %s, want docs", docs.Job)
		}
		finish(t, s, a, docs, lathe.StatusSuccess)
		wantRollup(t, mustGetRun(t, s, r.ID), lathe.StatusCanceled, "build:canceled test:skipped deploy:skipped")
	})
}

func TestCancelJobOfARunningJobAsksItsAgent(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p := mustProject(t, s, "web")
		a := mustAgent(t, s, "a1")
		r := mustRun(t, s, p.ID, "ci", []string{"build", "test"}, job("compile", "build"), job("unit", "test", "compile"))
		as := mustClaim(t, s, a)
		if err := s.CancelJob(ctx, as.JobID); err != nil {
			t.Fatal(err)
		}
		wantJobs(t, mustGetRun(t, s, r.ID), map[string]lathe.Status{"compile": "running", "unit": "pending"})
		if reply := mustReport(t, s, a, as.AttemptID, &lathe.Report{}); !reply.Cancel {
			t.Errorf("heartbeat after CancelJob = %+v; want cancel", reply)
		}
		finish(t, s, a, as, lathe.StatusFailed)
		got := mustGetRun(t, s, r.ID)
		wantJobs(t, got, map[string]lathe.Status{"compile": "canceled", "unit": "skipped"})
		wantRollup(t, got, lathe.StatusCanceled, "build:canceled test:skipped")
	})
}

// Step reports are upserts: later states replace earlier ones until the step
// finishes; then it is fixed, whether the states come in one report each or
// all in one. Steps the agent never finished are canceled with the attempt.
func TestStepReportsAreUpsertedUntilFinished(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p := mustProject(t, s, "web")
		a := mustAgent(t, s, "a1")
		mustRun(t, s, p.ID, "ci", []string{"build"}, job("compile", "build"), job("link", "build"))
		zero, one := 0, 1
		end := int64(3)
		t0 := time.UnixMicro(1_700_000_000_000_000).UTC()
		t1 := t0.Add(time.Second)
		states := []lathe.StepReport{
			{Index: 0, Name: "checkout", Status: lathe.StatusRunning, StartedAt: &t0},
			{Index: 0, Name: "checkout", Status: lathe.StatusSuccess, ExitCode: &zero, LogEnd: &end, StartedAt: &t0, FinishedAt: &t1},
			{Index: 0, Name: "checkout", Status: lathe.StatusFailed, ExitCode: &one, StartedAt: &t0, FinishedAt: &t1}, // too late: finished
			{Index: 1, Name: "build", Status: lathe.StatusRunning, LogStart: 3, StartedAt: &t1},
		}
		for _, oneReport := range []bool{false, true} {
			as := mustClaim(t, s, a)
			if oneReport {
				mustReport(t, s, a, as.AttemptID, &lathe.Report{Steps: states})
			} else {
				for _, rep := range states {
					mustReport(t, s, a, as.AttemptID, &lathe.Report{Steps: []lathe.StepReport{rep}})
				}
			}
			_, err := s.Report(ctx, a.ID, as.AttemptID, &lathe.Report{Steps: []lathe.StepReport{{Index: 2, Status: "bogus"}}})
			wantErr(t, "step with an unknown status", err, lathe.ErrInvalid)

			finish(t, s, a, as, lathe.StatusFailed)
			att, err := s.Attempt(ctx, as.AttemptID)
			if err != nil {
				t.Fatal(err)
			}
			if len(att.Steps) != 2 {
				t.Fatalf("one report: %v: steps = %+v, want 2", oneReport, att.Steps)
			}
			s0, s1 := att.Steps[0], att.Steps[1]
			if s0.Name != "checkout" || s0.Status != lathe.StatusSuccess || s0.ExitCode == nil || *s0.ExitCode != 0 ||
				s0.LogEnd == nil || *s0.LogEnd != 3 || s0.DurationMS == nil || *s0.DurationMS != 1000 {
				t.Errorf("one report: %v: finished step = %+v", oneReport, s0)
			}
			if s1.Name != "build" || s1.Status != lathe.StatusCanceled || s1.LogStart != 3 || s1.FinishedAt == nil {
				t.Errorf("one report: %v: step left running by the agent = %+v; want canceled with the attempt", oneReport, s1)
			}
		}
	})
}

func wantJobs(t *testing.T, r *lathe.Run, want map[string]lathe.Status) {
	t.Helper()
	got := jobStatuses(r)
	for name, st := range want {
		if got[name] != st {
			t.Errorf("job %s is %s, want %s (all: %v)", name, got[name], st, got)
		}
	}
}

// wantRollup checks the run's status and its stages' as "name:status ..." in order.
func wantRollup(t *testing.T, r *lathe.Run, run lathe.Status, stages string) {
	t.Helper()
	var got string
	for i, st := range r.Stages {
		if i > 0 {
			got += " "
		}
		got += st.Name + ":" + string(st.Status)
	}
	if r.Status != run || got != stages {
		t.Errorf("run %s [%s], want %s [%s]", r.Status, got, run, stages)
	}
}

// wantClocksRollUp checks a finished run's clocks: a stage spans its jobs, the
// run spans its stages, and durations are finished − started.
func wantClocksRollUp(t *testing.T, r *lathe.Run) {
	t.Helper()
	var runFirst, runLast *time.Time
	for _, st := range r.Stages {
		var first, last *time.Time
		for _, j := range r.Jobs {
			if j.StageID == st.ID {
				first, last = earliest(first, j.StartedAt), latest(last, j.FinishedAt)
			}
		}
		if !sameInstant(st.StartedAt, first) || !sameInstant(st.FinishedAt, last) || !durationOf(st.Timing) {
			t.Errorf("stage %s: started %v finished %v duration %v; its jobs span %v – %v",
				st.Name, st.StartedAt, st.FinishedAt, st.DurationMS, first, last)
		}
		runFirst, runLast = earliest(runFirst, st.StartedAt), latest(runLast, st.FinishedAt)
	}
	if !sameInstant(r.StartedAt, runFirst) || !sameInstant(r.FinishedAt, runLast) || !durationOf(r.Timing) {
		t.Errorf("run: started %v finished %v duration %v; its stages span %v – %v",
			r.StartedAt, r.FinishedAt, r.DurationMS, runFirst, runLast)
	}
}

func durationOf(tm lathe.Timing) bool {
	if tm.StartedAt == nil || tm.FinishedAt == nil {
		return tm.DurationMS == nil
	}
	return tm.DurationMS != nil && *tm.DurationMS == tm.FinishedAt.Sub(*tm.StartedAt).Milliseconds() && *tm.DurationMS >= 0
}

func earliest(a, b *time.Time) *time.Time {
	if a == nil || b != nil && b.Before(*a) {
		return b
	}
	return a
}

func latest(a, b *time.Time) *time.Time {
	if a == nil || b != nil && b.After(*a) {
		return b
	}
	return a
}

func sameInstant(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}
