package store_test

import (
	"fmt"
	"strconv"
	"sync"
	"testing"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/store"
)

func TestProjectIsFoundByNameOrByID(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		web := mustProject(t, s, "web")
		mustProject(t, s, "api")
		for _, tc := range []struct {
			key     string
			want    int64
			wantErr error
		}{
			{key: "web", want: web.ID},
			{key: strconv.FormatInt(web.ID, 10), want: web.ID},
			{key: "nope", wantErr: lathe.ErrNotFound},
			{key: "999999", wantErr: lathe.ErrNotFound},
		} {
			got, err := s.Project(t.Context(), tc.key)
			if tc.wantErr != nil {
				wantErr(t, "Project("+tc.key+")", err, tc.wantErr)
				continue
			}
			if err != nil {
				t.Errorf("Project(%q): %v", tc.key, err)
				continue
			}
			if got.ID != tc.want || got.Name != web.Name || got.URL != web.URL || got.DefaultBranch != "main" ||
				!sameTime(got.CreatedAt, web.CreatedAt) || !sameTime(got.UpdatedAt, web.UpdatedAt) {
				t.Errorf("Project(%q) = %+v, want %+v", tc.key, got, web)
			}
		}
	})
}

func TestProjectNamesAreUnique(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		mustProject(t, s, "web")
		api := mustProject(t, s, "api")

		err := s.CreateProject(t.Context(), &lathe.Project{Name: "web", URL: "https://elsewhere/web.git", DefaultBranch: "main"})
		wantErr(t, "create a second web", err, lathe.ErrConflict)

		api.Name = "web"
		wantErr(t, "rename api to web", s.UpdateProject(t.Context(), api), lathe.ErrConflict)
		if got, err := s.Project(t.Context(), "api"); err != nil || got.ID != api.ID {
			t.Errorf("api after refused rename = %+v, %v", got, err)
		}
	})
}

// Two servers (or two requests) creating the same project at once: one wins,
// the other is told it conflicts, never a raw driver error.
func TestConcurrentCreatesOfOneNameConflict(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		for round := range 20 {
			name := fmt.Sprintf("race-%d", round)
			const n = 8
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					errs[i] = s.CreateProject(t.Context(), &lathe.Project{Name: name, URL: "u", DefaultBranch: "main"})
				})
			}
			wg.Wait()
			won := 0
			for _, err := range errs {
				switch {
				case err == nil:
					won++
				case !errorsIs(err, lathe.ErrConflict):
					t.Fatalf("round %d: concurrent create of %q: %v, want nil or ErrConflict", round, name, err)
				}
			}
			if won != 1 {
				t.Fatalf("round %d: %d creates of %q succeeded, want 1", round, won, name)
			}
		}
	})
}

// Likewise for renames: of several projects renamed to one free name at once,
// one gets it and the others are told it conflicts.
func TestConcurrentRenamesToOneNameConflict(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		for round := range 20 {
			const n = 8
			ps := make([]*lathe.Project, n)
			for i := range ps {
				ps[i] = mustProject(t, s, fmt.Sprintf("r%d-p%d", round, i))
				ps[i].Name = fmt.Sprintf("renamed-%d", round)
			}
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i, p := range ps {
				wg.Go(func() { errs[i] = s.UpdateProject(t.Context(), p) })
			}
			wg.Wait()
			won := 0
			for _, err := range errs {
				switch {
				case err == nil:
					won++
				case !errorsIs(err, lathe.ErrConflict):
					t.Fatalf("round %d: concurrent rename: %v, want nil or ErrConflict", round, err)
				}
			}
			if won != 1 {
				t.Fatalf("round %d: %d renames succeeded, want 1", round, won)
			}
		}
	})
}

func TestProjectsArePagedNewestFirst(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		empty, err := s.Projects(t.Context(), 0, 10)
		if err != nil || empty.Items == nil || len(empty.Items) != 0 || next(empty) != 0 {
			t.Fatalf("empty list = %+v, %v; want no items (not null) and no cursor", empty, err)
		}
		var ids []int64 // oldest first
		for i := range 5 {
			ids = append(ids, mustProject(t, s, fmt.Sprintf("p%d", i)).ID)
		}
		for _, tc := range []struct {
			name     string
			before   int64
			limit    int
			want     []int64
			wantNext int64
		}{
			{"first page", 0, 2, []int64{ids[4], ids[3]}, ids[3]},
			{"middle page", ids[3], 2, []int64{ids[2], ids[1]}, ids[1]},
			{"last page", ids[1], 2, []int64{ids[0]}, 0},
			{"page that ends exactly at the last item", 0, 5, []int64{ids[4], ids[3], ids[2], ids[1], ids[0]}, 0},
			{"below the oldest", ids[0], 2, []int64{}, 0},
		} {
			got, err := s.Projects(t.Context(), tc.before, tc.limit)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if g := projectIDs(got.Items); fmt.Sprint(g) != fmt.Sprint(tc.want) || next(got) != tc.wantNext {
				t.Errorf("%s: ids %v next %d, want %v next %d", tc.name, g, next(got), tc.want, tc.wantNext)
			}
		}
	})
}

// A caller that forgets the limit gets an error, not a panic.
func TestProjectsRefusesALimitBelowOne(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		mustProject(t, s, "one")
		for _, limit := range []int{0, -1} {
			_, err := noPanic(func() (lathe.Page[*lathe.Project], error) { return s.Projects(t.Context(), 0, limit) })
			wantErr(t, fmt.Sprintf("Projects limit %d", limit), err, lathe.ErrInvalid)
		}
	})
}

func TestUpdateProjectSavesItsFields(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		p := mustProject(t, s, "old")
		p.Name, p.URL, p.DefaultBranch = "new", "https://git.example/new.git", "trunk"
		if err := s.UpdateProject(t.Context(), p); err != nil {
			t.Fatal(err)
		}
		got, err := s.Project(t.Context(), "new")
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != p.ID || got.URL != p.URL || got.DefaultBranch != "trunk" || !sameTime(got.UpdatedAt, p.UpdatedAt) || got.UpdatedAt.Before(got.CreatedAt) {
			t.Errorf("after update = %+v, want %+v", got, p)
		}
		_, err = s.Project(t.Context(), "old")
		wantErr(t, "old name after rename", err, lathe.ErrNotFound)
		// Keeping its own name is not a conflict with itself.
		if err := s.UpdateProject(t.Context(), got); err != nil {
			t.Errorf("update without renaming: %v", err)
		}
		missing := &lathe.Project{ID: 999999, Name: "ghost", URL: "u", DefaultBranch: "main"}
		wantErr(t, "update of a missing project", s.UpdateProject(t.Context(), missing), lathe.ErrNotFound)
	})
}

func TestDeleteProjectWaitsForItsRunsToFinish(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p := mustProject(t, s, "web")
		r := mustRun(t, s, p.ID, "ci", []string{"build"}, job("compile", "build"))

		wantErr(t, "delete with a queued run", s.DeleteProject(ctx, p.ID), lathe.ErrConflict)
		if _, err := s.Project(ctx, "web"); err != nil {
			t.Fatalf("project after refused delete: %v", err)
		}

		if err := s.CancelRun(ctx, r.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteProject(ctx, p.ID); err != nil {
			t.Fatalf("delete with only finished runs: %v", err)
		}
		_, err := s.Project(ctx, "web")
		wantErr(t, "project after delete", err, lathe.ErrNotFound)
		_, err = s.Run(ctx, r.ID)
		wantErr(t, "its run after delete", err, lathe.ErrNotFound)
		wantErr(t, "second delete", s.DeleteProject(ctx, p.ID), lathe.ErrNotFound)

		// The name is free again, and numbering starts over.
		p = mustProject(t, s, "web")
		if r := mustRun(t, s, p.ID, "ci", []string{"build"}, job("compile", "build")); r.Number != 1 {
			t.Errorf("first run of the recreated project is #%d, want #1", r.Number)
		}
	})
}

// What CreateProject hands back is what a later read returns: the times the
// caller sees are the stored ones, not a finer clock reading.
func TestCreatedProjectHasTheStoredTimes(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		p := mustProject(t, s, "web")
		got, err := s.Project(t.Context(), "web")
		if err != nil {
			t.Fatal(err)
		}
		if !got.CreatedAt.Equal(p.CreatedAt) || !got.UpdatedAt.Equal(p.UpdatedAt) {
			t.Errorf("created at %v / updated at %v, read back %v / %v", p.CreatedAt, p.UpdatedAt, got.CreatedAt, got.UpdatedAt)
		}
	})
}

func projectIDs(ps []*lathe.Project) []int64 {
	ids := []int64{}
	for _, p := range ps {
		ids = append(ids, p.ID)
	}
	return ids
}
