package engine_test

import (
	"testing"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/engine"
)

func TestSupersedes(t *testing.T) {
	t.Parallel()
	push := func(id int64, branch, commit string) *lathe.Run {
		return &lathe.Run{ID: id, ProjectID: 1, Pipeline: "ci", Event: "push", Branch: branch, Commit: commit, Status: lathe.StatusRunning}
	}
	pr := func(id, n int64, commit string) *lathe.Run {
		return &lathe.Run{ID: id, ProjectID: 1, Pipeline: "ci", Event: "pull_request", Branch: "main", PullRequest: n,
			Commit: commit, Status: lathe.StatusQueued}
	}
	with := func(r *lathe.Run, f func(*lathe.Run)) *lathe.Run { f(r); return r }
	for _, tc := range []struct {
		name         string
		newer, older *lathe.Run
		want         bool
	}{
		{"a push supersedes an older push of its branch", push(2, "main", "b"), push(1, "main", "a"), true},
		{"a queued older push too", push(2, "main", "b"), with(push(1, "main", "a"), func(r *lathe.Run) { r.Status = lathe.StatusQueued }), true},
		{"not another branch", push(2, "main", "b"), push(1, "dev", "a"), false},
		{"not the same commit", push(2, "main", "a"), push(1, "main", "a"), false},
		{"not a newer run", push(1, "main", "b"), push(2, "main", "a"), false},
		{"not a finished run", push(2, "main", "b"), with(push(1, "main", "a"), func(r *lathe.Run) { r.Status = lathe.StatusSuccess }), false},
		{"not another pipeline", push(2, "main", "b"), with(push(1, "main", "a"), func(r *lathe.Run) { r.Pipeline = "deploy" }), false},
		{"not another project", push(2, "main", "b"), with(push(1, "main", "a"), func(r *lathe.Run) { r.ProjectID = 9 }), false},
		{"not a manual run", push(2, "main", "b"), with(push(1, "main", "a"), func(r *lathe.Run) { r.Event = "manual" }), false},
		{"a manual run supersedes nothing", with(push(2, "main", "b"), func(r *lathe.Run) { r.Event = "manual" }), push(1, "main", "a"), false},
		{"a pull request supersedes its older run", pr(2, 7, "b"), pr(1, 7, "a"), true},
		{"not another pull request", pr(2, 7, "b"), pr(1, 8, "a"), false},
		{"not a push to the pull request's base", pr(2, 7, "b"), push(1, "main", "a"), false},
		{"a push leaves pull requests alone", push(2, "main", "b"), pr(1, 7, "a"), false},
	} {
		if got := engine.Supersedes(tc.newer, tc.older); got != tc.want {
			t.Errorf("%s: Supersedes = %v, want %v", tc.name, got, tc.want)
		}
	}
}
