package store_test

import (
	"testing"

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
