package server_test

import (
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// Steps run git in their workspace in the sandbox, where the agent's
// directory, and the mirror the workspace is a worktree of, are hidden:
// the history, describe, diff and status work, on a kept workspace too,
// and what git keeps of the repository cannot be changed by a step.
func TestStepsUseGitInTheirWorkspace(t *testing.T) {
	lathetest.NeedSandbox(t)
	l := lathetest.Start(t, lathetest.Options{})
	pipeline := `jobs:
  git:
    steps:
      - git log --format=subject=%s -1
      - echo "head=$(git rev-parse HEAD)"
      - git describe --always
      - git diff --exit-code
      - echo changed >> code.txt; git status --short | sed 's/^/status=/'
      - if touch "$(git rev-parse --git-dir)/x" || touch "$(git rev-parse --git-common-dir)/objects/x"; then echo "git's files are writable"; exit 1; fi
`
	repo := lathetest.Repo(t, map[string]string{".lathe.yml": pipeline, "code.txt": "code\n"})
	commit := strings.TrimSpace(lathetest.Git(t, repo, "rev-parse", "HEAD"))
	l.Project(t, "gitwork", repo)
	// The second run's job takes the workspace the first one left (one
	// agent's, most often): code.txt is as committed again.
	for i := range 2 {
		r := l.Wait(t, l.Trigger(t, "gitwork", "", "").ID, time.Minute)
		log := l.Log(t, lathetest.JobByName(t, r, "git").ID)
		if r.Status != lathe.StatusSuccess {
			t.Fatalf("run %d: %s; log:\n%s", i+1, r.Status, log)
		}
		for _, want := range []string{"subject=test commit", "head=" + commit, commit[:7], "status= M code.txt"} {
			if !strings.Contains(log, want) {
				t.Errorf("run %d: the log lacks %q:\n%s", i+1, want, log)
			}
		}
	}
}
