package store_test

import (
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/clock"
	"github.com/lathe-ci/lathe/store"
)

// withClock makes the store read a manual clock, starting now, that the
// test moves instead of sleeping.
func withClock(s *store.Store) *clock.Manual {
	c := clock.NewManual(time.Now().UTC())
	s.SetClock(c)
	return c
}

var policy = store.SweepPolicy{InfraRetries: 2, TimeoutGrace: 30 * time.Second, QueueTimeout: time.Hour, OnlineWindow: time.Minute}

func mustSweep(t *testing.T, s *store.Store, p store.SweepPolicy) store.SweepResult {
	t.Helper()
	res, err := s.Sweep(t.Context(), p)
	if err != nil {
		t.Fatalf("sweep: %v", err)
	}
	return res
}

func mustJob(t *testing.T, s *store.Store, id int64) *lathe.Job {
	t.Helper()
	j, err := s.Job(t.Context(), id)
	if err != nil {
		t.Fatalf("job %d: %v", id, err)
	}
	return j
}

// An attempt whose agent stops reporting is marked lost once its lease
// expires, never left running; its job runs again as a new attempt on any
// agent, and the lost attempt keeps its log and refuses further writes.
func TestExpiredLeaseIsLostAndRetriedAsANewAttempt(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		c := withClock(s)
		a1, as := runningAttempt(t, s)
		a2 := mustAgent(t, s, "a2")
		mustReport(t, s, a1, as.AttemptID, &lathe.Report{Log: []byte("half a log\n")})

		c.Advance(store.DefaultLeaseTTL - time.Second)
		if res := mustSweep(t, s, policy); res.Lost != 0 {
			t.Fatalf("sweep before the lease expired: %+v", res)
		}
		c.Advance(2 * time.Second)
		if res := mustSweep(t, s, policy); res.Lost != 1 || res.Retried != 1 {
			t.Fatalf("sweep after the lease expired: %+v; want 1 lost, 1 retried", res)
		}
		if res := mustSweep(t, s, policy); res.Lost != 0 {
			t.Fatalf("second sweep: %+v; want nothing more", res)
		}
		j := mustJob(t, s, as.JobID)
		if j.Status != lathe.StatusQueued || len(j.Attempts) != 1 || j.Attempts[0].Status != lathe.StatusLost ||
			j.Attempts[0].LogComplete || j.Attempts[0].FinishedAt == nil {
			t.Fatalf("job after a lost attempt = %s with %+v; want queued, attempt 1 lost with an incomplete log", j.Status, j.Attempts[0])
		}
		_, err := s.Report(ctx, a1.ID, as.AttemptID, &lathe.Report{LogOffset: 11, Log: []byte("zombie\n")})
		wantErr(t, "report on a lost attempt", err, lathe.ErrFenced)

		retry := mustClaim(t, s, a2)
		if retry.JobID != as.JobID || retry.Attempt != 2 || retry.AttemptID == as.AttemptID {
			t.Fatalf("retry = %+v; want attempt 2 of job %d", retry, as.JobID)
		}
		mustReport(t, s, a2, retry.AttemptID, &lathe.Report{Log: []byte("whole\n"),
			Finish: &lathe.FinishReport{Status: lathe.StatusSuccess, LogSize: 6}})
		if r := mustGetRun(t, s, as.RunID); r.Status != lathe.StatusSuccess {
			t.Errorf("run = %s, want success", r.Status)
		}
		if log := readLog(t, s, as.AttemptID); log != "half a log\n" {
			t.Errorf("lost attempt's log = %q", log)
		}
		j = mustJob(t, s, as.JobID)
		if len(j.Attempts) != 2 || j.Attempts[1].Status != lathe.StatusSuccess || !j.Attempts[1].LogComplete || j.Attempt != 2 {
			t.Errorf("job = attempt %d, attempts %+v", j.Attempt, j.Attempts)
		}
	})
}

// Retries of lost attempts are bounded: after the last one the job ends lost,
// its dependents are skipped and the run fails. Failed steps are not retried.
func TestLostAttemptsAreRetriedABoundedNumberOfTimes(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		c := withClock(s)
		p := mustProject(t, s, "web")
		a := mustAgent(t, s, "a1")
		r := mustRun(t, s, p.ID, "ci", []string{"build", "test"}, job("compile", "build"), job("unit", "test", "compile"))
		for n := 1; n <= 2; n++ {
			as := mustClaim(t, s, a)
			if as.Attempt != n {
				t.Fatalf("claim %d got attempt %d", n, as.Attempt)
			}
			c.Advance(store.DefaultLeaseTTL + time.Second)
			mustSweep(t, s, store.SweepPolicy{InfraRetries: 1})
		}
		got := mustGetRun(t, s, r.ID)
		wantJobs(t, got, map[string]lathe.Status{"compile": lathe.StatusLost, "unit": lathe.StatusSkipped})
		if got.Status != lathe.StatusFailed {
			t.Errorf("run = %s, want failed", got.Status)
		}

		r2 := mustRun(t, s, p.ID, "ci", []string{"build"}, job("compile", "build"))
		finish(t, s, a, mustClaim(t, s, a), lathe.StatusFailed)
		c.Advance(store.DefaultLeaseTTL + time.Second)
		mustSweep(t, s, policy)
		if got := mustGetRun(t, s, r2.ID); got.Status != lathe.StatusFailed || got.Jobs[0].Attempt != 1 {
			t.Errorf("a failed step was retried: run %s, attempt %d", got.Status, got.Jobs[0].Attempt)
		}
	})
}

// A running attempt whose lease its agent keeps renewing, but which runs
// past its job's timeout plus grace, is timed out by the server.
func TestServerTimesOutAnAttemptPastItsTimeout(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		c := withClock(s)
		a, as := runningAttempt(t, s)
		for elapsed := time.Duration(0); elapsed < 600*time.Second+policy.TimeoutGrace; elapsed += 50 * time.Second {
			mustReport(t, s, a, as.AttemptID, &lathe.Report{})
			if res := mustSweep(t, s, policy); res.TimedOut != 0 || res.Lost != 0 {
				t.Fatalf("sweep %v after start: %+v", elapsed, res)
			}
			c.Advance(50 * time.Second)
		}
		mustReport(t, s, a, as.AttemptID, &lathe.Report{})
		if res := mustSweep(t, s, policy); res.TimedOut != 1 {
			t.Fatalf("sweep past timeout and grace: %+v; want 1 timed out", res)
		}
		j := mustJob(t, s, as.JobID)
		if j.Status != lathe.StatusTimedOut || j.Attempts[0].Status != lathe.StatusTimedOut {
			t.Errorf("job %s attempt %s; want timed_out", j.Status, j.Attempts[0].Status)
		}
		if r := mustGetRun(t, s, as.RunID); r.Status != lathe.StatusFailed {
			t.Errorf("run = %s, want failed", r.Status)
		}
	})
}

// A claim repeated with the same claim ID by the same agent gets the same
// attempt while it runs; another agent's claim with that ID, or a new ID,
// claims anew.
func TestClaimIsIdempotentPerClaimID(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p := mustProject(t, s, "web")
		a1, a2 := mustAgent(t, s, "a1"), mustAgent(t, s, "a2")
		mustRun(t, s, p.ID, "ci", []string{"build"}, job("one", "build"), job("two", "build"))
		first, err := s.ClaimWithID(ctx, a1.ID, nil, "claim-1")
		if err != nil || first == nil {
			t.Fatalf("claim: %+v, %v", first, err)
		}
		again, err := s.ClaimWithID(ctx, a1.ID, nil, "claim-1")
		if err != nil || again == nil || again.AttemptID != first.AttemptID || again.JobID != first.JobID || again.Job != first.Job {
			t.Fatalf("repeated claim = %+v, %v; want attempt %d again", again, err, first.AttemptID)
		}
		other, err := s.ClaimWithID(ctx, a2.ID, nil, "claim-1")
		if err != nil || other == nil || other.JobID == first.JobID {
			t.Fatalf("another agent's claim with the same ID = %+v, %v; want the other job", other, err)
		}
		finish(t, s, a1, first, lathe.StatusSuccess)
		if as, err := s.ClaimWithID(ctx, a1.ID, nil, "claim-1"); err != nil || as != nil {
			t.Errorf("claim with the ID of a finished attempt = %+v, %v; want a fresh claim (nothing left)", as, err)
		}
		j := mustJob(t, s, first.JobID)
		if len(j.Attempts) != 1 {
			t.Errorf("job has %d attempts; repeated claims must not add any", len(j.Attempts))
		}
	})
}

// Concurrent repeats of one claim (the agent retried while the first was
// still in flight) still create one attempt.
func TestConcurrentClaimsWithOneIDCreateOneAttempt(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		p := mustProject(t, s, "web")
		a := mustAgent(t, s, "a1")
		mustRun(t, s, p.ID, "ci", []string{"build"}, job("one", "build"), job("two", "build"), job("three", "build"))
		var wg sync.WaitGroup
		ids := make([]int64, 8)
		errs := make([]error, 8)
		for i := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				as, err := s.ClaimWithID(t.Context(), a.ID, nil, "same")
				errs[i] = err
				if as != nil {
					ids[i] = as.AttemptID
				}
			}()
		}
		wg.Wait()
		for i := range ids {
			if errs[i] != nil || ids[i] != ids[0] || ids[0] == 0 {
				t.Fatalf("claims with one ID: attempts %v, errors %v; want one attempt for all", ids, errs)
			}
		}
	})
}

// The agent's checksum of its log is compared with the stored bytes, whether
// the log came in the finishing report alone or in several; a disagreement
// keeps the result but marks the log incomplete.
func TestFinishChecksumMarksTheLogIncompleteWhenItDisagrees(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		p := mustProject(t, s, "web")
		a := mustAgent(t, s, "a1")
		mustRun(t, s, p.ID, "ci", []string{"build"}, job("good", "build"), job("bad", "build"),
			job("good-whole", "build"), job("bad-split", "build"))
		log := []byte("line one\nline two\n")
		sum := sha256.Sum256(log)
		other := sha256.Sum256([]byte("something else"))
		finish := func(sum [32]byte) *lathe.FinishReport {
			return &lathe.FinishReport{Status: lathe.StatusSuccess, LogSize: int64(len(log)), SHA256: hex.EncodeToString(sum[:])}
		}
		good, bad := mustClaim(t, s, a), mustClaim(t, s, a)
		goodWhole, badSplit := mustClaim(t, s, a), mustClaim(t, s, a)
		for _, split := range []struct {
			id  int64
			sum [32]byte
		}{{good.AttemptID, sum}, {badSplit.AttemptID, other}} {
			mustReport(t, s, a, split.id, &lathe.Report{Log: log[:9]})
			mustReport(t, s, a, split.id, &lathe.Report{LogOffset: 9, Log: log[9:], Finish: finish(split.sum)})
		}
		mustReport(t, s, a, bad.AttemptID, &lathe.Report{Log: log, Finish: finish(other)})
		mustReport(t, s, a, goodWhole.AttemptID, &lathe.Report{Log: log, Finish: finish(sum)})
		for _, c := range []struct {
			name     string
			jobID    int64
			complete bool
		}{{"split, matching", good.JobID, true}, {"whole, disagreeing", bad.JobID, false},
			{"whole, matching", goodWhole.JobID, true}, {"split, disagreeing", badSplit.JobID, false}} {
			if at := mustJob(t, s, c.jobID).Attempts[0]; at.LogComplete != c.complete || at.Status != lathe.StatusSuccess {
				t.Errorf("attempt with its log %s: %+v; want success with log_complete %v", c.name, at, c.complete)
			}
		}
	})
}

// A long log's earlier part is hashed before the finishing report's
// transaction; the checksum is compared all the same, whether the finish
// carries the last bytes or none.
func TestFinishChecksumOfALongLogMarksItIncompleteWhenItDisagrees(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		p := mustProject(t, s, "web")
		a := mustAgent(t, s, "a1")
		mustRun(t, s, p.ID, "ci", []string{"build"}, job("last-bytes", "build"), job("no-bytes", "build"), job("bad", "build"))
		log := make([]byte, 600<<10)
		for i := range log {
			log[i] = byte('a' + i%26)
		}
		sum := sha256.Sum256(log)
		other := sha256.Sum256(log[1:])
		for _, c := range []struct {
			name     string
			sum      [32]byte
			last     int // the bytes the finishing report carries
			complete bool
		}{{"last-bytes", sum, 1000, true}, {"no-bytes", sum, 0, true}, {"bad", other, 1000, false}} {
			as := mustClaim(t, s, a)
			var off int
			for off < len(log)-c.last {
				n := min(100<<10, len(log)-c.last-off)
				mustReport(t, s, a, as.AttemptID, &lathe.Report{LogOffset: int64(off), Log: log[off : off+n]})
				off += n
			}
			mustReport(t, s, a, as.AttemptID, &lathe.Report{LogOffset: int64(off), Log: log[off:],
				Finish: &lathe.FinishReport{Status: lathe.StatusSuccess, LogSize: int64(len(log)), SHA256: hex.EncodeToString(c.sum[:])}})
			if at := mustJob(t, s, as.JobID).Attempts[0]; at.LogComplete != c.complete || at.Status != lathe.StatusSuccess || at.LogSize != int64(len(log)) {
				t.Errorf("%s: %+v; want success with %d bytes and log_complete %v", c.name, at, len(log), c.complete)
			}
		}
	})
}

// A queued job no online agent can take says why, and fails after the queue
// timeout; one that an online agent can take carries no reason.
func TestQueuedJobNoAgentCanTakeSaysWhyAndFailsInTime(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		c := withClock(s)
		p := mustProject(t, s, "web")
		linux := mustAgent(t, s, "linux", "linux")
		if err := s.TouchAgent(ctx, linux.ID); err != nil {
			t.Fatal(err)
		}
		gpu, plain := job("train", "build"), job("lint", "build")
		gpu.RunsOn, plain.RunsOn = []string{"linux", "gpu"}, []string{"linux"}
		r := mustRun(t, s, p.ID, "ci", []string{"build"}, gpu, plain)
		if res := mustSweep(t, s, policy); res.Waiting != 1 {
			t.Errorf("sweep: %+v; want 1 waiting", res)
		}
		got := mustGetRun(t, s, r.ID)
		if w := jobNamed(t, got, "train").WaitReason; w != "no online agent with labels: gpu" {
			t.Errorf("wait reason of train = %q", w)
		}
		if w := jobNamed(t, got, "lint").WaitReason; w != "" {
			t.Errorf("wait reason of lint = %q; an online agent can take it", w)
		}
		finish(t, s, linux, mustClaim(t, s, linux), lathe.StatusSuccess)

		c.Advance(30 * time.Minute)
		if err := s.TouchAgent(ctx, linux.ID); err != nil {
			t.Fatal(err)
		}
		if res := mustSweep(t, s, policy); res.Failed != 0 {
			t.Fatalf("sweep before the queue timeout: %+v", res)
		}
		c.Advance(31 * time.Minute)
		if res := mustSweep(t, s, policy); res.Failed != 1 {
			t.Fatalf("sweep after the queue timeout: %+v; want 1 failed", res)
		}
		got = mustGetRun(t, s, r.ID)
		train := jobNamed(t, got, "train")
		if train.Status != lathe.StatusFailed || train.WaitReason != "no online agent" || got.Status != lathe.StatusFailed {
			// The linux agent went offline 31 minutes ago, so by now nobody is online.
			t.Errorf("after the queue timeout: job %s (%q), run %s; want failed, reason kept, run failed", train.Status, train.WaitReason, got.Status)
		}
	})
}

// A job's wait reason goes once an agent that can take it comes online, and
// a claim clears it.
func TestWaitReasonClearsWhenAnAgentCanTakeTheJob(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p := mustProject(t, s, "web")
		gpuJob := job("train", "build")
		gpuJob.RunsOn = []string{"gpu"}
		r := mustRun(t, s, p.ID, "ci", []string{"build"}, gpuJob)
		mustSweep(t, s, policy)
		if w := mustGetRun(t, s, r.ID).Jobs[0].WaitReason; w != "no online agent" {
			t.Fatalf("wait reason with no agents = %q", w)
		}
		gpu := mustAgent(t, s, "gpu", "gpu")
		if err := s.TouchAgent(ctx, gpu.ID); err != nil {
			t.Fatal(err)
		}
		mustSweep(t, s, policy)
		if w := mustGetRun(t, s, r.ID).Jobs[0].WaitReason; w != "" {
			t.Errorf("wait reason once a gpu agent is online = %q", w)
		}
	})
}

// Several sweepers at once (replicas on PostgreSQL) mark each expired attempt
// lost exactly once and count each retry once.
func TestConcurrentSweepersChangeEachAttemptOnce(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		c := withClock(s)
		p := mustProject(t, s, "web")
		a := mustAgent(t, s, "a1")
		var jobs []*lathe.Job
		for _, n := range []string{"j1", "j2", "j3", "j4", "j5", "j6"} {
			jobs = append(jobs, job(n, "build"))
		}
		r := mustRun(t, s, p.ID, "ci", []string{"build"}, jobs...)
		for range jobs {
			mustClaim(t, s, a)
		}
		c.Advance(store.DefaultLeaseTTL + time.Second)
		var wg sync.WaitGroup
		results := make([]store.SweepResult, 6)
		errs := make([]error, 6)
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i], errs[i] = s.Sweep(t.Context(), policy)
			}()
		}
		wg.Wait()
		lost := 0
		for i, res := range results {
			if errs[i] != nil {
				t.Fatalf("sweeper %d: %v", i, errs[i])
			}
			lost += res.Lost
		}
		if lost != len(jobs) {
			t.Errorf("sweepers marked %d attempts lost in all; want %d", lost, len(jobs))
		}
		for _, j := range mustGetRun(t, s, r.ID).Jobs {
			full := mustJob(t, s, j.ID)
			if full.Status != lathe.StatusQueued || len(full.Attempts) != 1 || full.Attempts[0].Status != lathe.StatusLost {
				t.Errorf("job %s = %s with %d attempts", j.Name, full.Status, len(full.Attempts))
			}
		}
	})
}

// A queued job that only a disabled online agent could take says so:
// enabling that agent is the fix, which "no online agent" would hide.
func TestAJobOnlyADisabledAgentCouldTakeSaysSo(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p := mustProject(t, s, "web")
		gpuAgent := mustAgent(t, s, "gpu-box", "linux", "gpu")
		if err := s.TouchAgent(ctx, gpuAgent.ID); err != nil {
			t.Fatal(err)
		}
		yes := true
		if err := s.UpdateAgents(ctx, map[int64]store.AgentChange{gpuAgent.ID: {Disabled: &yes}}); err != nil {
			t.Fatal(err)
		}
		train := job("train", "build")
		train.RunsOn = []string{"gpu"}
		r := mustRun(t, s, p.ID, "ci", []string{"build"}, train)
		mustSweep(t, s, policy)
		want := "no online agent (an online agent that has them is disabled)"
		if w := jobNamed(t, mustGetRun(t, s, r.ID), "train").WaitReason; w != want {
			t.Errorf("wait reason = %q; want %q", w, want)
		}
	})
}
