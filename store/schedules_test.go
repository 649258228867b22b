package store_test

import (
	"sync"
	"testing"
	"time"

	"github.com/lathe-ci/lathe/store"
)

// Schedules read from a branch keep their state across reads while they
// are declared; the ones no longer declared go; broken files keep them.
// Of callers claiming the same due firing at once, exactly one wins, and
// a paused schedule is never claimed.
func TestSchedulesSyncAndClaimOnce(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p := mustProject(t, s, "cron")
		at := time.Date(2026, 1, 5, 3, 0, 0, 0, time.UTC)
		if err := s.BranchMoved(ctx, p.ID, "main", "c1"); err != nil {
			t.Fatal(err)
		}
		if todo, err := s.BranchesToRead(ctx); err != nil || len(todo) != 1 || todo[0].Commit != "c1" {
			t.Fatalf("branches to read = %+v, %v", todo, err)
		}
		found := []store.FoundSchedule{{Pipeline: "a", Cron: "0 3 * * *", Branch: "main", Next: at},
			{Pipeline: "b", Cron: "0 3 * * *", Branch: "main", Next: at}}
		if err := s.SyncSchedules(ctx, p.ID, "main", "c1", found, false); err != nil {
			t.Fatal(err)
		}
		if todo, err := s.BranchesToRead(ctx); err != nil || len(todo) != 0 {
			t.Fatalf("branches to read after the read = %+v, %v", todo, err)
		}
		scs, err := s.Schedules(ctx, p.ID)
		if err != nil || len(scs) != 2 {
			t.Fatalf("schedules = %+v, %v", scs, err)
		}
		a, b := scs[0], scs[1]
		if _, err := s.SetSchedulePaused(ctx, p.ID, b.ID, true, nil); err != nil {
			t.Fatal(err)
		}
		due, err := s.DueSchedules(ctx, at, 10)
		if err != nil || len(due) != 1 || due[0].ID != a.ID {
			t.Fatalf("due = %+v, %v; want a only (b is paused)", due, err)
		}
		var wins int
		var mu sync.Mutex
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := s.ClaimSchedule(ctx, a.ID, at, at.Add(24*time.Hour))
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					wins++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if wins != 1 {
			t.Errorf("%d callers claimed one firing; want 1", wins)
		}
		if ok, err := s.ClaimSchedule(ctx, b.ID, at, at.Add(24*time.Hour)); ok || err != nil {
			t.Errorf("claim of a paused schedule = %v, %v", ok, err)
		}

		// The head moves: broken files keep the schedules, a clean read
		// drops b and keeps a's next firing.
		if err := s.BranchMoved(ctx, p.ID, "main", "c2"); err != nil {
			t.Fatal(err)
		}
		if err := s.SyncSchedules(ctx, p.ID, "main", "c2", nil, true); err != nil {
			t.Fatal(err)
		}
		if scs, _ := s.Schedules(ctx, p.ID); len(scs) != 2 {
			t.Errorf("schedules after a broken read = %d; want both kept", len(scs))
		}
		if err := s.SyncSchedules(ctx, p.ID, "main", "c2", found[:1], false); err != nil {
			t.Fatal(err)
		}
		scs, _ = s.Schedules(ctx, p.ID)
		if len(scs) != 1 || scs[0].ID != a.ID || !scs[0].NextAt.Equal(at.Add(24*time.Hour)) || scs[0].LastFiredAt == nil {
			t.Errorf("schedules after b was removed = %+v; want a with its state", scs)
		}
	})
}
