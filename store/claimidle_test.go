package store_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/store"
)

// A claim that finds nothing tells the next claims with the same labels
// that nothing is claimable, until a job they could run is queued (or
// anything else that wakes claimers), and for store.ClaimIdleTTL at most:
// a job queued through another replica whose message is lost is read
// from the queue once the TTL has passed.
func TestNothingClaimableUntilWorkForTheLabels(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			ctx := t.Context()
			dsn := freshDatabase(t, engine)
			// Two replicas of one database whose notifiers do not hear each other.
			s, other := open(t, dsn), open(t, dsn)
			c := withClock(s)
			p := mustProject(t, s, "web")
			linux := mustAgent(t, s, "l1", "linux")
			nothing := func(labels ...string) bool { return s.NothingClaimable(labels) }
			linuxJob := func(name string) *lathe.Job {
				j := job(name, "build")
				j.RunsOn = []string{"linux"}
				return j
			}

			if nothing("linux") {
				t.Fatal("nothing claimable before any claim looked")
			}
			mustClaimNone(t, s, linux)
			if !nothing("linux") {
				t.Fatal("a claim found nothing, yet the next would read the queue")
			}
			if nothing("macos") {
				t.Fatal("a linux claim vouched for macos claims")
			}

			// A job for other labels leaves the answer; one for these ends it.
			mac := job("mac", "build")
			mac.RunsOn = []string{"macos"}
			mustRun(t, s, p.ID, "mac", []string{"build"}, mac)
			if !nothing("linux") {
				t.Fatal("a macos job ended the linux claims' answer")
			}
			mustRun(t, s, p.ID, "ci", []string{"build"}, linuxJob("one"))
			if nothing("linux") {
				t.Fatal("a linux job queued, yet linux claims would skip the queue")
			}
			as := mustClaim(t, s, linux)
			finish(t, s, linux, as, lathe.StatusSuccess)

			// A disabled agent's claim that passes a job over vouches for nothing.
			mustClaimNone(t, s, linux)
			mustRun(t, s, p.ID, "ci", []string{"build"}, linuxJob("two"))
			yes, no := true, false
			if err := s.UpdateAgents(ctx, map[int64]store.AgentChange{linux.ID: {Disabled: &yes}}); err != nil {
				t.Fatal(err)
			}
			mustClaimNone(t, s, linux)
			if nothing("linux") {
				t.Fatal("a disabled agent's empty claim hid a queued job from the others")
			}
			if err := s.UpdateAgents(ctx, map[int64]store.AgentChange{linux.ID: {Disabled: &no}}); err != nil {
				t.Fatal(err)
			}
			as = mustClaim(t, s, linux)
			finish(t, s, linux, as, lathe.StatusSuccess)

			// A change of what agents may claim (an agent changed) ends every answer.
			mustClaimNone(t, s, linux)
			mustAgent(t, s, "l2", "linux")
			if err := s.UpdateAgents(ctx, map[int64]store.AgentChange{linux.ID: {Disabled: &no}}); err != nil {
				t.Fatal(err)
			}
			if nothing("linux") {
				t.Fatal("an agent changed, yet claims would skip the queue")
			}

			// A job queued through a replica not heard from: within the TTL
			// the answer stands, after it the queue is read again.
			mustClaimNone(t, s, linux)
			mustRun(t, other, p.ID, "ci", []string{"build"}, linuxJob("three"))
			if !nothing("linux") {
				t.Log("(the other replica's job showed at once)")
			}
			c.Advance(store.ClaimIdleTTL)
			if nothing("linux") {
				t.Fatal("the answer outlived its TTL")
			}
			mustClaim(t, s, linux)
		})
	}
}

// Claimers woken together by one queued job on PostgreSQL take turns: one
// gets the job, one finds the queue empty, and the rest learn that from the
// idle-claim cache without a transaction of their own.
func TestClaimersWokenTogetherTakeTurns(t *testing.T) {
	dsn := freshDatabase(t, "postgres")
	s := open(t, dsn)
	p := mustProject(t, s, "web")
	const claimers = 12
	agents := make([]*lathe.Agent, claimers)
	for i := range agents {
		agents[i] = mustAgent(t, s, fmt.Sprintf("a%d", i), "linux")
	}
	j := job("one", "build")
	j.RunsOn = []string{"linux"}
	mustRun(t, s, p.ID, "ci", []string{"build"}, j)

	var txs atomic.Int64
	s.SetObserver(func(kind string, _ time.Duration) {
		if kind == store.ObserveTx {
			txs.Add(1)
		}
	})
	got := make(chan *lathe.Assignment, claimers)
	var wg sync.WaitGroup
	for _, a := range agents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			as, err := s.Claim(t.Context(), a.ID, a.Labels)
			if err != nil {
				t.Error(err)
			}
			got <- as
		}()
	}
	wg.Wait()
	close(got)
	won := 0
	for as := range got {
		if as != nil {
			won++
		}
	}
	if won != 1 {
		t.Errorf("%d claimers got the one job, want 1", won)
	}
	// One transaction takes the job, one finds the queue empty; the idle
	// claimers' marks may predate the claim that settled, so allow a few.
	if n := txs.Load(); n > 4 {
		t.Errorf("%d claimers made %d write transactions for one job, want at most 4", claimers, n)
	}
}
