package store_test

import (
	"errors"
	"testing"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/engine"
	"github.com/lathe-ci/lathe/store"
)

// Every status write goes through the engine's table and an optimistic
// check: an illegal change is refused, counted and never applied; a change
// from a status the row no longer has is a conflict and applies nothing.
func TestStatusWritesAreCheckedNeverForced(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p := mustProject(t, s, "web")
		r := mustRun(t, s, p.ID, "ci", []string{"build"}, job("build", "build"))
		id := mustGetRun(t, s, r.ID).Jobs[0].ID
		status := func() lathe.Status { return mustGetRun(t, s, r.ID).Jobs[0].Status }
		if got := status(); got != lathe.StatusQueued {
			t.Fatalf("new job = %s; want queued", got)
		}

		before := engine.IllegalTransitions()
		err := store.SetJobStatus(ctx, s, id, lathe.StatusQueued, lathe.StatusSuccess)
		if !errors.Is(err, engine.ErrIllegalTransition) || !errors.Is(err, lathe.ErrConflict) {
			t.Errorf("queued → success = %v; want an illegal-transition conflict", err)
		}
		if n := engine.IllegalTransitions() - before; n != 1 {
			t.Errorf("counted %d illegal transitions; want 1", n)
		}
		if got := status(); got != lathe.StatusQueued {
			t.Errorf("after the refused write the job is %s; want queued", got)
		}

		err = store.SetJobStatus(ctx, s, id, lathe.StatusPending, lathe.StatusQueued)
		if !errors.Is(err, lathe.ErrConflict) || errors.Is(err, engine.ErrIllegalTransition) {
			t.Errorf("pending → queued of a queued job = %v; want a conflict (it changed meanwhile)", err)
		}
		if got := status(); got != lathe.StatusQueued {
			t.Errorf("after the stale write the job is %s; want queued", got)
		}

		if err := store.SetJobStatus(ctx, s, id, lathe.StatusQueued, lathe.StatusCanceled); err != nil {
			t.Fatalf("queued → canceled: %v", err)
		}
		if got := status(); got != lathe.StatusCanceled {
			t.Errorf("after queued → canceled the job is %s", got)
		}
	})
}
