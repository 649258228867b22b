package engine

import (
	"errors"
	"testing"

	lathe "github.com/lathe-ci/lathe"
)

func TestAdvanceHoldsJobsBehindAnExternalStage(t *testing.T) {
	t.Parallel()
	nodes := func(build, scan lathe.Status) []Node {
		return []Node{
			{ID: 1, Name: "build", Status: build},
			{ID: -10, Name: "stage:scan", Status: scan, Deps: []string{"build"}, External: true},
			{ID: 2, Name: "deploy", Status: lathe.StatusPending, Deps: []string{"build", "stage:scan"}},
		}
	}
	for _, tc := range []struct {
		name        string
		build, scan lathe.Status
		canceled    bool
		want        map[int64]lathe.Status
	}{
		{"waits for the outside tool", lathe.StatusSuccess, lathe.StatusPending, false, map[int64]lathe.Status{}},
		{"running is not done", lathe.StatusSuccess, lathe.StatusRunning, false, map[int64]lathe.Status{}},
		{"success releases", lathe.StatusSuccess, lathe.StatusSuccess, false, map[int64]lathe.Status{2: lathe.StatusQueued}},
		{"failure skips", lathe.StatusSuccess, lathe.StatusFailed, false, map[int64]lathe.Status{2: lathe.StatusSkipped}},
		{"a failed predecessor skips the stage and what follows", lathe.StatusFailed, lathe.StatusPending, false,
			map[int64]lathe.Status{-10: lathe.StatusSkipped, 2: lathe.StatusSkipped}},
		{"cancel takes a running external stage", lathe.StatusSuccess, lathe.StatusRunning, true,
			map[int64]lathe.Status{-10: lathe.StatusCanceled, 2: lathe.StatusCanceled}},
	} {
		got := Advance(nodes(tc.build, tc.scan), tc.canceled)
		if len(got) != len(tc.want) {
			t.Errorf("%s: changes %v, want %v", tc.name, got, tc.want)
			continue
		}
		for id, s := range tc.want {
			if got[id] != s {
				t.Errorf("%s: changes %v, want %v", tc.name, got, tc.want)
			}
		}
	}
}

// Not parallel: it reads the process-wide count of illegal transitions.
func TestExternalUpdate(t *testing.T) {
	for _, tc := range []struct {
		external bool
		from, to lathe.Status
		want     error
	}{
		{true, lathe.StatusPending, lathe.StatusRunning, nil},
		{true, lathe.StatusPending, lathe.StatusSuccess, nil},
		{true, lathe.StatusRunning, lathe.StatusFailed, nil},
		{false, lathe.StatusPending, lathe.StatusSuccess, lathe.ErrConflict},
		{true, lathe.StatusRunning, lathe.StatusRunning, lathe.ErrConflict},
		{true, lathe.StatusSuccess, lathe.StatusFailed, lathe.ErrConflict},
		{true, lathe.StatusSkipped, lathe.StatusRunning, lathe.ErrConflict},
		{true, lathe.StatusPending, lathe.StatusSkipped, lathe.ErrInvalid},
		{true, lathe.StatusPending, lathe.StatusCanceled, lathe.ErrInvalid},
	} {
		before := IllegalTransitions()
		err := ExternalUpdate(7, tc.external, tc.from, tc.to)
		if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("external=%v %s→%s: %v, want %v", tc.external, tc.from, tc.to, err, tc.want)
		}
		// A caller's mistake is refused before the table, never counted as a bug.
		if IllegalTransitions() != before {
			t.Errorf("external=%v %s→%s counted as an illegal transition", tc.external, tc.from, tc.to)
		}
	}
	if err := StageDeletable(3, lathe.StatusRunning); !errors.Is(err, lathe.ErrConflict) {
		t.Errorf("delete a stage of a running run: %v", err)
	}
	if err := StageDeletable(3, lathe.StatusFailed); err != nil {
		t.Errorf("delete a stage of a failed run: %v", err)
	}
}
