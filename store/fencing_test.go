package store_test

import (
	"testing"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/store"
)

// Only the agent holding an attempt may write to it, and only while it runs.
func TestReportsAreFencedToTheHoldingAgentAndTheRunningAttempt(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		a, as := runningAttempt(t, s)
		other := mustAgent(t, s, "intruder")
		mustReport(t, s, a, as.AttemptID, &lathe.Report{Log: []byte("mine\n")})

		_, err := s.Report(ctx, other.ID, as.AttemptID, &lathe.Report{LogOffset: 5, Log: []byte("theirs\n"),
			Finish: &lathe.FinishReport{Status: lathe.StatusFailed, LogSize: 12}})
		wantErr(t, "report from another agent", err, lathe.ErrForbidden)

		_, err = s.Report(ctx, a.ID, 999999, &lathe.Report{})
		wantErr(t, "report on a missing attempt", err, lathe.ErrNotFound)

		finish(t, s, a, as, lathe.StatusSuccess)
		reply, err := s.Report(ctx, a.ID, as.AttemptID, &lathe.Report{LogOffset: 5, Log: []byte("late\n")})
		wantErr(t, "report after the attempt finished", err, lathe.ErrFenced)
		if !reply.Cancel {
			t.Errorf("fenced reply = %+v; want cancel so the agent stops", reply)
		}
		_, err = s.Report(ctx, a.ID, as.AttemptID, &lathe.Report{Finish: &lathe.FinishReport{Status: lathe.StatusFailed, LogSize: 5}})
		wantErr(t, "second finish", err, lathe.ErrFenced)

		if log := readLog(t, s, as.AttemptID); log != "mine\n" {
			t.Errorf("log = %q; fenced writes must not land", log)
		}
		att, err := s.Attempt(ctx, as.AttemptID)
		if err != nil || att.Status != lathe.StatusSuccess || att.LogSize != 5 {
			t.Errorf("attempt = %+v, %v; want success with 5 bytes", att, err)
		}
	})
}

// The server accepts a finish only once it holds the whole log the agent
// says it wrote; until then the agent is told where to resend from.
func TestFinishWaitsForTheWholeLog(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		a, as := runningAttempt(t, s)
		mustReport(t, s, a, as.AttemptID, &lathe.Report{Log: []byte("01234")})

		// Bytes 5–9 were lost on the way; 10–14 arrive with the finish.
		reply := mustReport(t, s, a, as.AttemptID, &lathe.Report{LogOffset: 10, Log: []byte("abcde"),
			Finish: &lathe.FinishReport{Status: lathe.StatusSuccess, LogSize: 15}})
		if reply.Finished || reply.LogSize != 5 || reply.Cancel {
			t.Errorf("finish with bytes missing: reply %+v; want not finished, size 5", reply)
		}
		j, err := s.Job(ctx, as.JobID)
		if err != nil || j.Status != lathe.StatusRunning || j.Attempts[0].Status != lathe.StatusRunning {
			t.Fatalf("job after a premature finish = %+v, %v; want still running", j, err)
		}

		reply = mustReport(t, s, a, as.AttemptID, &lathe.Report{LogOffset: 5, Log: []byte("56789abcde"),
			Finish: &lathe.FinishReport{Status: lathe.StatusSuccess, LogSize: 15}})
		if !reply.Finished || reply.LogSize != 15 {
			t.Errorf("finish once the log is whole: reply %+v; want finished, size 15", reply)
		}
		if log := readLog(t, s, as.AttemptID); log != "0123456789abcde" {
			t.Errorf("log = %q", log)
		}
		if got := mustGetRun(t, s, as.RunID); got.Status != lathe.StatusSuccess {
			t.Errorf("run = %s, want success", got.Status)
		}
	})
}

func TestFinishNeedsAFinalStatus(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		a, as := runningAttempt(t, s)
		for _, st := range []lathe.Status{lathe.StatusRunning, lathe.StatusQueued, lathe.StatusPending, "", "exploded"} {
			_, err := s.Report(t.Context(), a.ID, as.AttemptID, &lathe.Report{Finish: &lathe.FinishReport{Status: st}})
			wantErr(t, "finish as "+string(st), err, lathe.ErrInvalid)
		}
		if j, err := s.Job(t.Context(), as.JobID); err != nil || j.Status != lathe.StatusRunning {
			t.Errorf("job after refused finishes = %+v, %v; want running", j, err)
		}
	})
}
