package store_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/store"
)

// deployJob is a job holding group with limit while it runs.
func deployJob(name, group string, limit int) *lathe.Job {
	j := job(name, "deploy")
	j.Concurrency = &lathe.Concurrency{Group: group, Limit: limit}
	return j
}

// claimAll has every agent claim at the same instant and returns what each got.
func claimAll(t *testing.T, s *store.Store, agents []*lathe.Agent) []*lathe.Assignment {
	t.Helper()
	got, _ := claimAtOnce(t, agents, func(_ int, a *lathe.Agent) (*lathe.Assignment, error) {
		return s.Claim(t.Context(), a.ID, a.Labels)
	})
	return got
}

func mustSemaphore(t *testing.T, s *store.Store, projectID int64, name string) *lathe.Semaphore {
	t.Helper()
	sem, err := s.Semaphore(t.Context(), projectID, name)
	if err != nil {
		t.Fatalf("semaphore %s: %v", name, err)
	}
	return sem
}

func agentsNamed(t *testing.T, s *store.Store, prefix string, n int) []*lathe.Agent {
	agents := make([]*lathe.Agent, n)
	for i := range agents {
		agents[i] = mustAgent(t, s, fmt.Sprintf("%s-%02d", prefix, i), "linux")
	}
	return agents
}

// With limit 1, of many agents claiming at once across many runs whose
// deploy jobs all hold one group, exactly one holds it; each time the holder
// finishes, exactly one more gets in, until every deploy has run alone.
// Jobs outside the group are not held back.
func TestSemaphoreLimitOneAmongConcurrentClaimers(t *testing.T) {
	const runs, claimers = 6, 16
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		p := mustProject(t, s, "web")
		for range runs {
			mustRun(t, s, p.ID, "release", []string{"deploy"}, deployJob("deploy", "prod", 1), job("notify", "deploy"))
		}
		agents := agentsNamed(t, s, "agent", claimers)
		byAgent := map[int64]*lathe.Agent{}
		for _, a := range agents {
			byAgent[a.ID] = a
		}
		deployed, notified := 0, 0
		for round := 0; deployed < runs; round++ {
			if round > runs {
				t.Fatalf("after %d rounds only %d of %d deploys ran", round, deployed, runs)
			}
			var holders []*lathe.Assignment
			for _, as := range claimAll(t, s, agents) {
				switch {
				case as == nil:
				case as.Job == "deploy":
					holders = append(holders, as)
				default:
					notified++
					finish(t, s, byAgent[agentOf(t, s, as)], as, lathe.StatusSuccess)
				}
			}
			if len(holders) != 1 {
				t.Fatalf("round %d: %d deploys claimed at once, want exactly 1", round, len(holders))
			}
			sem := mustSemaphore(t, s, p.ID, "prod")
			if len(sem.Holders) != 1 || sem.Holders[0].AttemptID != holders[0].AttemptID || sem.Limit != 1 {
				t.Fatalf("round %d: semaphore = %+v; want the one holder, attempt %d", round, sem, holders[0].AttemptID)
			}
			if len(sem.Waiters) != runs-deployed-1 {
				t.Errorf("round %d: %d waiters, want %d", round, len(sem.Waiters), runs-deployed-1)
			}
			finish(t, s, byAgent[agentOf(t, s, holders[0])], holders[0], lathe.StatusSuccess)
			deployed++
		}
		if notified != runs {
			t.Errorf("%d notify jobs ran, want %d: jobs outside the group were held back", notified, runs)
		}
	})
}

// agentOf returns the ID of the agent holding the assignment's attempt.
func agentOf(t *testing.T, s *store.Store, as *lathe.Assignment) int64 {
	t.Helper()
	j := mustJob(t, s, as.JobID)
	for _, a := range j.Attempts {
		if a.ID == as.AttemptID {
			return a.AgentID
		}
	}
	t.Fatalf("job %d has no attempt %d", as.JobID, as.AttemptID)
	return 0
}

// With limit 2, exactly two of the group's jobs run at once, however many
// agents ask.
func TestSemaphoreLimitTwoLetsExactlyTwoRun(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		p := mustProject(t, s, "web")
		for range 5 {
			mustRun(t, s, p.ID, "release", []string{"deploy"}, deployJob("deploy", "canary", 2))
		}
		agents := agentsNamed(t, s, "agent", 12)
		for round := range 3 {
			claimed := 0
			for _, as := range claimAll(t, s, agents) {
				if as != nil {
					claimed++
				}
			}
			if want := []int{2, 0, 0}[round]; claimed != want {
				t.Fatalf("round %d: %d claimed, want %d", round, claimed, want)
			}
		}
		sem := mustSemaphore(t, s, p.ID, "canary")
		if len(sem.Holders) != 2 || len(sem.Waiters) != 3 || sem.Limit != 2 {
			t.Fatalf("semaphore = %d holders, %d waiters, limit %d; want 2, 3, 2", len(sem.Holders), len(sem.Waiters), sem.Limit)
		}
	})
}

// A holder releases the semaphore however its attempt ends: finished,
// lost (lease expired), canceled, or timed out by the server. Each release
// lets the next waiter in, and wakes waiting claimers.
func TestSemaphoreIsReleasedHoweverTheAttemptEnds(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		clk := withClock(s)
		p := mustProject(t, s, "web")
		for range 8 { // two per way of ending
			mustRun(t, s, p.ID, "release", []string{"deploy"}, deployJob("deploy", "prod", 1))
		}
		a := mustAgent(t, s, "a1", "linux")
		b := mustAgent(t, s, "b1", "linux")
		noInfraRetry := policy
		noInfraRetry.InfraRetries = 0

		for _, end := range []struct {
			how     string
			release func(as *lathe.Assignment)
		}{
			{"finish", func(as *lathe.Assignment) { finish(t, s, a, as, lathe.StatusFailed) }},
			{"lost", func(as *lathe.Assignment) {
				clk.Advance(store.DefaultLeaseTTL + time.Second)
				if res := mustSweep(t, s, noInfraRetry); res.Lost != 1 {
					t.Fatalf("sweep = %+v; want one lost attempt", res)
				}
			}},
			{"cancel", func(as *lathe.Assignment) {
				if err := s.CancelJob(ctx, as.JobID); err != nil {
					t.Fatal(err)
				}
				reply := mustReport(t, s, a, as.AttemptID, &lathe.Report{})
				if !reply.Cancel {
					t.Fatalf("report after cancel = %+v; want cancel", reply)
				}
				finish(t, s, a, as, lathe.StatusCanceled)
			}},
			{"timeout", func(as *lathe.Assignment) {
				clk.Advance(600*time.Second + policy.TimeoutGrace + time.Second)
				// Keep the lease fresh so the sweep times the attempt out rather than losing it.
				mustReport(t, s, a, as.AttemptID, &lathe.Report{})
				if res := mustSweep(t, s, policy); res.TimedOut != 1 {
					t.Fatalf("sweep = %+v; want one timed-out attempt", res)
				}
			}},
		} {
			as := mustClaim(t, s, a)
			if other, err := s.Claim(ctx, b.ID, b.Labels); err != nil || other != nil {
				t.Fatalf("%s: second claim while the group is held = %+v, %v; want none", end.how, other, err)
			}
			wake := s.WorkSignal()
			end.release(as)
			select {
			case <-wake:
			default:
				t.Errorf("%s: releasing the semaphore did not wake claimers", end.how)
			}
			if sem := mustSemaphore(t, s, p.ID, "prod"); len(sem.Holders) != 0 {
				t.Fatalf("%s: holders after the attempt ended: %+v", end.how, sem.Holders)
			}
			if next, err := s.Claim(ctx, b.ID, b.Labels); err != nil || next == nil {
				t.Fatalf("%s: claim after the release = %+v, %v; want the next deploy", end.how, next, err)
			} else {
				finish(t, s, b, next, lathe.StatusSuccess)
			}
		}
	})
}

// A job passed over for a full group stays queued and says why; so does
// the sweep. A semaphore wait never fails a job by the queue timeout.
func TestSemaphoreWaitReason(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		clk := withClock(s)
		p := mustProject(t, s, "web")
		r1 := mustRun(t, s, p.ID, "release", []string{"deploy"}, deployJob("deploy", "prod", 1))
		r2 := mustRun(t, s, p.ID, "release", []string{"deploy"}, deployJob("deploy", "prod", 1))
		a := mustAgent(t, s, "a1", "linux")
		b := mustAgent(t, s, "b1", "linux")
		as := mustClaim(t, s, a)
		if other, err := s.Claim(t.Context(), b.ID, b.Labels); err != nil || other != nil {
			t.Fatalf("second claim = %+v, %v; want none", other, err)
		}
		waiting := jobNamed(t, mustGetRun(t, s, r2.ID), "deploy")
		want := fmt.Sprintf("waiting for semaphore prod (1/1 held) — run %d holds it", r1.ID)
		if waiting.Status != lathe.StatusQueued || waiting.WaitReason != want {
			t.Fatalf("waiting job = %s %q; want queued %q", waiting.Status, waiting.WaitReason, want)
		}

		// The sweep agrees, and does not fail the job however long it waits.
		p2 := policy
		p2.QueueTimeout = time.Minute
		clk.Advance(2 * time.Minute)
		mustReport(t, s, a, as.AttemptID, &lathe.Report{})      // a1's lease is alive
		if err := s.TouchAgent(t.Context(), b.ID); err != nil { // b1 is online
			t.Fatal(err)
		}
		if res := mustSweep(t, s, p2); res.Failed != 0 || res.Lost != 0 {
			t.Fatalf("sweep = %+v; want nothing failed or lost", res)
		}
		if j := mustJob(t, s, waiting.ID); j.Status != lathe.StatusQueued || j.WaitReason != want {
			t.Fatalf("after the sweep: %s %q; want queued %q", j.Status, j.WaitReason, want)
		}

		finish(t, s, a, as, lathe.StatusSuccess)
		next := mustClaim(t, s, b)
		if j := mustJob(t, s, next.JobID); next.JobID != waiting.ID || j.WaitReason != "" {
			t.Fatalf("claimed job %d with wait reason %q; want job %d with none", next.JobID, j.WaitReason, waiting.ID)
		}
	})
}

func mustClaimNone(t *testing.T, s *store.Store, a *lathe.Agent) {
	t.Helper()
	if as, err := s.Claim(t.Context(), a.ID, a.Labels); err != nil || as != nil {
		t.Fatalf("claim by %s = %+v, %v; want nothing", a.Name, as, err)
	}
}

// Semaphores are per project, and where jobs of one group disagree on the
// limit, the smallest limit among the active jobs applies.
func TestSemaphoreScopeAndSmallestLimit(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		web, api := mustProject(t, s, "web"), mustProject(t, s, "api")
		mustRun(t, s, web.ID, "release", []string{"deploy"}, deployJob("deploy", "prod", 1))
		mustRun(t, s, api.ID, "release", []string{"deploy"}, deployJob("deploy", "prod", 1))
		agents := agentsNamed(t, s, "agent", 4)
		claimed := 0
		for _, as := range claimAll(t, s, agents) {
			if as != nil {
				claimed++
			}
		}
		if claimed != 2 {
			t.Fatalf("%d claimed; want one per project", claimed)
		}

		// In a third project, a waiting job with limit 1 caps a group whose
		// holder allows 3.
		ops := mustProject(t, s, "ops")
		mustRun(t, s, ops.ID, "a", []string{"deploy"}, deployJob("deploy", "db", 3))
		first := mustClaim(t, s, agents[0])
		mustRun(t, s, ops.ID, "b", []string{"deploy"}, deployJob("deploy", "db", 1))
		mustRun(t, s, ops.ID, "c", []string{"deploy"}, deployJob("deploy", "db", 3))
		mustClaimNone(t, s, agents[1])
		if sem := mustSemaphore(t, s, ops.ID, "db"); sem.Limit != 1 || len(sem.Holders) != 1 || len(sem.Waiters) != 2 {
			t.Fatalf("semaphore db = limit %d, %d holders, %d waiters; want 1, 1, 2", sem.Limit, len(sem.Holders), len(sem.Waiters))
		}
		finish(t, s, agents[0], first, lathe.StatusSuccess)
		// b (limit 1) runs alone; once it is done, c (limit 3) may run.
		b := mustClaim(t, s, agents[1])
		if b.Pipeline != "b" {
			t.Fatalf("claimed pipeline %s, want b", b.Pipeline)
		}
		mustClaimNone(t, s, agents[2])
		finish(t, s, agents[1], b, lathe.StatusSuccess)
		if c := mustClaim(t, s, agents[2]); c.Pipeline != "c" {
			t.Fatalf("claimed pipeline %s, want c", c.Pipeline)
		}

		sems, err := s.Semaphores(t.Context(), ops.ID)
		if err != nil || len(sems) != 1 || sems[0].Name != "db" || sems[0].Limit != 3 {
			t.Fatalf("semaphores of ops = %+v, %v; want db with limit 3", sems, err)
		}
		if _, err := s.Semaphore(t.Context(), ops.ID, "nope"); !errorsIs(err, lathe.ErrNotFound) {
			t.Errorf("unknown semaphore: err = %v, want not found", err)
		}
	})
}

// A job created with a malformed concurrency is refused, not stored.
func TestSemaphoreInvalidConcurrencyIsRefused(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		p := mustProject(t, s, "web")
		err := s.CreateRun(t.Context(), store.NewRun{
			Run:    &lathe.Run{ProjectID: p.ID, Pipeline: "x", Ref: "refs/heads/main", Commit: strings.Repeat("a", 40), Event: "push"},
			Stages: []string{"deploy"}, Jobs: []*lathe.Job{deployJob("deploy", "prod", 0)},
		})
		wantErr(t, "limit 0", err, lathe.ErrInvalid)
	})
}

// Claimers that each can take only their own run's job lock different runs,
// so nothing but the semaphore stands between them: still, of all the
// group's jobs claimed at the same instant, only the limit's worth run.
func TestSemaphoreHoldsAcrossRunsClaimedAtOnce(t *testing.T) {
	const claimers, rounds = 8, 25
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		p := mustProject(t, s, "web")
		agents := make([]*lathe.Agent, claimers)
		for i := range agents {
			agents[i] = mustAgent(t, s, fmt.Sprintf("slot-%d", i), fmt.Sprintf("slot-%d", i))
		}
		for round := range rounds {
			limit := 1 + round%2
			for i := range claimers {
				j := deployJob("deploy", "prod", limit)
				j.RunsOn = []string{fmt.Sprintf("slot-%d", i)}
				mustRun(t, s, p.ID, "release", []string{"deploy"}, j)
			}
			got := claimAll(t, s, agents)
			held := 0
			for _, as := range got {
				if as != nil {
					held++
				}
			}
			if held != limit {
				t.Fatalf("round %d: %d of the group's jobs claimed at once, want %d", round, held, limit)
			}
			// Clear the round: finish the holders, cancel the waiters.
			for i, as := range got {
				if as != nil {
					finish(t, s, agents[i], as, lathe.StatusSuccess)
				}
			}
			sem := mustSemaphore(t, s, p.ID, "prod")
			for _, w := range sem.Waiters {
				if err := s.CancelJob(t.Context(), w.JobID); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}
