package store_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/store"
)

func TestClaimMatchesRunsOnLabels(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p := mustProject(t, s, "web")
		for i, tc := range []struct {
			runsOn, agentHas []string
			claimed          bool
		}{
			{nil, nil, true},
			{nil, []string{"linux"}, true},
			{[]string{"gpu"}, []string{"linux"}, false},
			{[]string{"gpu"}, nil, false},
			{[]string{"gpu"}, []string{"linux", "gpu"}, true},
			{[]string{"linux", "arm64"}, []string{"linux"}, false},
			{[]string{"linux", "arm64"}, []string{"arm64", "docker", "linux"}, true},
			{[]string{"Linux"}, []string{"linux"}, false}, // labels are exact
		} {
			j := job("compile", "build")
			j.RunsOn = tc.runsOn
			r := mustRun(t, s, p.ID, "ci", []string{"build"}, j)
			a := mustAgent(t, s, fmt.Sprintf("agent-%d", i), tc.agentHas...)
			as, err := s.Claim(ctx, a.ID, a.Labels)
			if err != nil {
				t.Fatal(err)
			}
			if got := as != nil; got != tc.claimed {
				t.Errorf("job runs on %v, agent has %v: claimed %v, want %v", tc.runsOn, tc.agentHas, got, tc.claimed)
			}
			if as != nil && as.RunID != r.ID {
				t.Errorf("claimed a job of run %d, want %d", as.RunID, r.ID)
			}
			if err := s.CancelRun(ctx, r.ID); err != nil { // clear the queue for the next case
				t.Fatal(err)
			}
		}
	})
}

func TestClaimGivesTheOldestQueuedJobAndNothingWhenNoneIsQueued(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		a := mustAgent(t, s, "a1")
		if as, err := s.Claim(ctx, a.ID, nil); as != nil || err != nil {
			t.Fatalf("claim on an empty store = %+v, %v; want nothing", as, err)
		}
		p := mustProject(t, s, "web")
		mustRun(t, s, p.ID, "ci", []string{"build"}, job("compile", "build"), job("lint", "build"))
		mustRun(t, s, p.ID, "ci", []string{"build"}, job("compile", "build"))
		var got []string
		for range 3 {
			as := mustClaim(t, s, a)
			got = append(got, fmt.Sprintf("%d/%s", as.RunNumber, as.Job))
		}
		if want := []string{"1/compile", "1/lint", "2/compile"}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("claims in order %v, want %v", got, want)
		}
		if as, err := s.Claim(ctx, a.ID, nil); as != nil || err != nil {
			t.Errorf("claim once all are taken = %+v, %v; want nothing", as, err)
		}
	})
}

// An agent must find the job it can run however many jobs it cannot run are
// queued before it (say, a backlog for GPU agents that are all offline).
func TestClaimFindsAMatchingJobBehindABacklogOfUnmatchableOnes(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		p := mustProject(t, s, "web")
		var gpuJobs []*lathe.Job
		for i := range 250 {
			j := job(fmt.Sprintf("train-%d", i), "build")
			j.RunsOn = []string{"gpu"}
			gpuJobs = append(gpuJobs, j)
		}
		mustRun(t, s, p.ID, "ml", []string{"build"}, gpuJobs...)
		r := mustRun(t, s, p.ID, "ci", []string{"build"}, job("compile", "build"))

		a := mustAgent(t, s, "linux-1", "linux")
		as, err := s.Claim(t.Context(), a.ID, a.Labels)
		if err != nil {
			t.Fatal(err)
		}
		if as == nil || as.RunID != r.ID {
			t.Fatalf("linux agent behind 250 queued gpu jobs claimed %+v; want compile of run %d", as, r.ID)
		}
	})
}

// Claims are transactional: of many agents asking at the same instant for
// the one queued job, exactly one gets it, and the job has one attempt.
func TestExactlyOneOfManyConcurrentClaimersWins(t *testing.T) {
	const claimers, rounds = 50, 200
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		budget := 60 * time.Second
		p := mustProject(t, s, "web")
		agents := make([]*lathe.Agent, claimers)
		for i := range agents {
			agents[i] = mustAgent(t, s, fmt.Sprintf("agent-%02d", i), "linux")
		}
		start := time.Now()
		for round := range rounds {
			if elapsed := time.Since(start); elapsed > budget {
				t.Fatalf("%d rounds took %s, over the %s budget", round, elapsed.Round(time.Millisecond), budget)
			}
			r := mustRun(t, s, p.ID, "ci", []string{"build"}, job("compile", "build"))
			got, winners := claimAtOnce(t, agents, func(_ int, a *lathe.Agent) (*lathe.Assignment, error) {
				return s.Claim(ctx, a.ID, a.Labels)
			})
			if len(winners) != 1 {
				t.Fatalf("round %d: %d claimers won the one job (%v)", round, len(winners), winners)
			}
			w := got[winners[0]]
			j, err := s.Job(ctx, w.JobID)
			if err != nil {
				t.Fatal(err)
			}
			if w.RunID != r.ID || j.Status != lathe.StatusRunning || j.Attempt != 1 || len(j.Attempts) != 1 ||
				j.Attempts[0].AgentID != agents[winners[0]].ID || j.Attempts[0].ID != w.AttemptID {
				t.Fatalf("round %d: winner %s holds %+v; job %+v with attempts %+v", round, agents[winners[0]].Name, w, j, j.Attempts)
			}
		}
		t.Logf("%s: %d rounds of %d concurrent claimers in %s", s.Engine(), rounds, claimers, time.Since(start).Round(time.Millisecond))
	})
}

// Claims of one server take turns, so claimers racing for one job meet
// under its run's lock only across replicas: there, of many claimers on
// two replicas, exactly one gets the job each round (the losers find it
// taken once they hold the run's lock, after locking the job's group), and
// the group counts only the winner.
func TestExactlyOneOfManyClaimersOnTwoReplicasWins(t *testing.T) {
	const claimers = 16
	replicas, p, agents := claimersOnTwoReplicas(t, claimers)
	s := replicas[0]
	for round := range claimRounds {
		mustRun(t, s, p.ID, "release", []string{"deploy"}, deployJob("deploy", "prod", claimers))
		got, winners := claimAtOnce(t, agents, func(i int, a *lathe.Agent) (*lathe.Assignment, error) {
			return replicas[i%2].Claim(t.Context(), a.ID, a.Labels)
		})
		var won []*lathe.Assignment
		for _, i := range winners {
			won = append(won, got[i])
		}
		if len(won) != 1 {
			t.Fatalf("round %d: %d claimers got the one job, want 1", round, len(won))
		}
		sem := mustSemaphore(t, s, p.ID, "prod")
		if len(sem.Holders) != 1 || sem.Holders[0].AttemptID != won[0].AttemptID {
			t.Fatalf("round %d: semaphore holders %+v; want only the winner's attempt %d", round, sem.Holders, won[0].AttemptID)
		}
		finish(t, s, agents[slices.IndexFunc(agents, func(a *lathe.Agent) bool { return a.ID == agentOf(t, s, won[0]) })], won[0], lathe.StatusSuccess)
	}
}

// claimRounds is how many times the replica tests let their claimers race.
const claimRounds = 30

// claimersOnTwoReplicas opens two stores (replicas) on one fresh
// PostgreSQL database, with a project and n agents to claim.
func claimersOnTwoReplicas(t *testing.T, n int) ([]*store.Store, *lathe.Project, []*lathe.Agent) {
	t.Helper()
	dsn := freshDatabase(t, "postgres")
	replicas := []*store.Store{open(t, dsn), open(t, dsn)}
	return replicas, mustProject(t, replicas[0], "web"), agentsNamed(t, replicas[0], "agent", n)
}

// claimAtOnce lets every agent claim at the same moment (claim is how agent
// i claims) and returns what each got and which got a job; an error fails
// the test.
func claimAtOnce(t *testing.T, agents []*lathe.Agent,
	claim func(int, *lathe.Agent) (*lathe.Assignment, error)) (got []*lathe.Assignment, winners []int) {
	t.Helper()
	got = make([]*lathe.Assignment, len(agents))
	errs := make([]error, len(agents))
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for i, a := range agents {
		wg.Go(func() {
			<-gate
			got[i], errs[i] = claim(i, a)
		})
	}
	close(gate)
	wg.Wait()
	for i := range agents {
		if errs[i] != nil {
			t.Fatalf("claim by %s: %v", agents[i].Name, errs[i])
		}
		if got[i] != nil {
			winners = append(winners, i)
		}
	}
	return got, winners
}

// Without a group, the losers on the other replica find the job taken by
// start's update under the run's lock: exactly one claimer wins each round,
// the job has one attempt, and no loser sees an error.
func TestExactlyOneOfManyClaimersOnTwoReplicasWinsAJobWithoutAGroup(t *testing.T) {
	replicas, p, agents := claimersOnTwoReplicas(t, 16)
	s := replicas[0]
	for round := range claimRounds {
		r := mustRun(t, s, p.ID, "ci", []string{"build"}, job("compile", "build"))
		got, winners := claimAtOnce(t, agents, func(i int, a *lathe.Agent) (*lathe.Assignment, error) {
			return replicas[i%2].Claim(t.Context(), a.ID, a.Labels)
		})
		if len(winners) != 1 {
			t.Fatalf("round %d: %d claimers got the one job, want 1", round, len(winners))
		}
		w := got[winners[0]]
		j, err := s.Job(t.Context(), w.JobID)
		if err != nil {
			t.Fatal(err)
		}
		if w.RunID != r.ID || j.Status != lathe.StatusRunning || j.Attempt != 1 || len(j.Attempts) != 1 || j.Attempts[0].ID != w.AttemptID {
			t.Fatalf("round %d: winner holds %+v; job %+v with attempts %+v", round, w, j, j.Attempts)
		}
	}
}
