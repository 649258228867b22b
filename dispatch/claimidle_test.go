package dispatch_test

import (
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/dispatch"
)

// A new claim (its ID never sent before) waits without reading the queue
// while the store knows nothing is claimable, and still takes a job queued
// meanwhile; a retried claim (the same ID, not new) reads the database and
// gets the attempt its lost answer carried, though nothing is queued.
func TestNewClaimsSkipTheIdleQueueRetriesDoNot(t *testing.T) {
	forEachEngine(t, func(t *testing.T, f *fixture) {
		ctx := t.Context()
		agent := dispatch.Actor{Agent: f.agent}
		claim := func(id string, isNew bool, wait time.Duration) *lathe.Assignment {
			t.Helper()
			as, err := f.d.Claim(ctx, agent, &dispatch.ClaimRequest{ID: id, New: isNew, End: time.Now().Add(wait)})
			if err != nil {
				t.Fatalf("claim %s: %v", id, err)
			}
			return as
		}
		if as := claim("first", true, 50*time.Millisecond); as != nil {
			t.Fatalf("claim with nothing queued: %+v", as)
		}
		if !f.st.NothingClaimable(f.agent.Labels) {
			t.Fatal("an empty claim left the store not knowing the queue is empty")
		}

		// A job queued while a new claim waits on the store's word wakes it.
		got := make(chan *lathe.Assignment, 1)
		go func() {
			as, _ := f.d.Claim(ctx, agent, &dispatch.ClaimRequest{ID: "second", New: true, End: time.Now().Add(time.Minute)})
			got <- as
		}()
		r := f.run(t, false, nil)
		as := <-got
		if as == nil || as.RunID != r.ID {
			t.Fatalf("the waiting new claim got %+v, want the job of run %d", as, r.ID)
		}

		// Its answer lost, the agent retries with the same ID, not new:
		// the attempt comes back though the queue is empty again.
		if as := claim("third", true, 50*time.Millisecond); as != nil {
			t.Fatalf("claim with nothing queued: %+v", as)
		}
		again := claim("second", false, 50*time.Millisecond)
		if again == nil || again.AttemptID != as.AttemptID {
			t.Fatalf("retried claim got %+v, want attempt %d again", again, as.AttemptID)
		}
	})
}
