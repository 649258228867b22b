package local_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/executor"
	"github.com/lathe-ci/lathe/internal/lathetest"
	"github.com/lathe-ci/lathe/local"
	"github.com/lathe-ci/lathe/pipeline"
)

// runIn runs dir's pipeline under exec in the sandbox (where bubblewrap is
// installed) and returns the result and the output.
func runIn(t *testing.T, dir string, opts local.Options) (*local.Result, string) {
	t.Helper()
	var out bytes.Buffer
	opts.Dir, opts.Out = dir, &out
	opts.Executor = lathetest.Executor(t, opts.Executor)
	res, err := local.Run(context.Background(), opts)
	if err != nil {
		t.Fatalf("exec: %v\n%s", err, out.String())
	}
	return res, out.String()
}

// A job's workspace is the working tree as it is now: committed files
// with their uncommitted changes, and new files, but not ignored ones (as a
// fresh checkout has none). The user's index, branch and files are left as
// they were, and a file a job writes stays in its own workspace.
func TestJobsCheckOutTheWorkingTreeWithItsChanges(t *testing.T) {
	repo := lathetest.Repo(t, map[string]string{
		".gitignore": "build/\n",
		"kept.txt":   "committed\n",
		"edited.txt": "committed\n",
		".lathe.yml": `
jobs:
  look:
    steps:
      - cat kept.txt edited.txt new.txt
      - test ! -e build/out.txt && echo "no ignored files"
      - echo written > written.txt
  again:
    needs: [look]
    steps:
      - test ! -e written.txt && echo "a fresh workspace"
`,
	})
	write := func(p, s string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(repo, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(repo, p), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("edited.txt", "changed, not committed\n")
	write("new.txt", "new, not added\n")
	write("build/out.txt", "ignored\n")
	status := lathetest.Git(t, repo, "status", "--porcelain")
	head := lathetest.Git(t, repo, "rev-parse", "HEAD")

	res, out := runIn(t, repo, local.Options{})
	if res.Status != lathe.StatusSuccess {
		t.Fatalf("run = %s\n%s", res.Status, out)
	}
	for _, want := range []string{"committed", "changed, not committed", "new, not added", "no ignored files", "a fresh workspace",
		"your uncommitted changes on top of main at"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if got := lathetest.Git(t, repo, "status", "--porcelain"); got != status {
		t.Errorf("git status after the run:\n%s\nbefore:\n%s", got, status)
	}
	if got := lathetest.Git(t, repo, "rev-parse", "HEAD"); got != head {
		t.Errorf("HEAD moved from %s to %s", head, got)
	}
	if _, err := os.Stat(filepath.Join(repo, "written.txt")); err == nil {
		t.Error("a job wrote into the working tree")
	}
	if got := lathetest.Git(t, repo, "worktree", "list"); strings.Count(got, "\n") != 1 {
		t.Errorf("worktrees left behind:\n%s", got)
	}
	if ents, _ := os.ReadDir(filepath.Join(repo, ".git", "worktrees")); len(ents) != 0 {
		t.Errorf("git's records of %d worktrees left behind", len(ents))
	}
}

// Steps run git in their workspace, a worktree of the repository, in the
// sandbox too (where /tmp, which holds this repository, is the job's own):
// history, diff and status work, and git's files cannot be changed.
func TestStepsUseGitInTheirWorkspace(t *testing.T) {
	repo := lathetest.Repo(t, map[string]string{"code.txt": "code\n", ".lathe.yml": `
jobs:
  git:
    steps:
      - echo "head=$(git rev-parse HEAD)"
      - git log --format=subject=%s -1
      - git diff --exit-code
      - echo changed >> code.txt; git status --short | sed 's/^/status=/'
      - if touch "$(git rev-parse --git-dir)/x" || touch "$(git rev-parse --git-common-dir)/objects/x"; then echo "git's files are writable"; exit 1; fi
`})
	head := strings.TrimSpace(lathetest.Git(t, repo, "rev-parse", "HEAD"))
	res, out := runIn(t, repo, local.Options{})
	if res.Status != lathe.StatusSuccess {
		t.Fatalf("run = %s\n%s", res.Status, out)
	}
	for _, want := range []string{"head=" + head, "subject=test commit", "status= M code.txt"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// With a clean working tree each job checks out HEAD itself.
func TestJobsCheckOutHEADWhenNothingChanged(t *testing.T) {
	repo := lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  a:\n    steps: [test -f .lathe.yml]\n"})
	head := strings.TrimSpace(lathetest.Git(t, repo, "rev-parse", "HEAD"))
	res, out := runIn(t, repo, local.Options{})
	if res.Status != lathe.StatusSuccess || !strings.Contains(out, "each job checked out main at "+head[:12]) {
		t.Errorf("run = %s\n%s", res.Status, out)
	}
}

// Branch, tag and event come from the repository, as a server sees the
// same push: a checked-out branch is a push to it, a HEAD detached at a
// tag is that tag's push, and `lathe plan` plans for the same event.
func TestEventComesFromTheRepository(t *testing.T) {
	repo := lathetest.Repo(t, map[string]string{".lathe.yml": `
jobs:
  on-push:
    when: {events: [push], branches: [main]}
    steps: [echo "pushed to $LATHE_BRANCH"]
  on-tag:
    when: {events: [tag]}
    steps: [echo tagged]
  by-hand:
    when: {events: [manual]}
    steps: [echo by hand]
`})
	tests := []struct {
		name  string
		setup [][]string
		want  pipeline.Event
		ran   string
	}{
		{"branch", nil, pipeline.Event{Kind: "push", Branch: "main", Ref: "refs/heads/main"}, "on-push"},
		{"tag", [][]string{{"tag", "v1.0"}, {"checkout", "-q", "v1.0"}}, pipeline.Event{Kind: "tag", Tag: "v1.0", Ref: "refs/tags/v1.0"}, "on-tag"},
		{"detached", [][]string{{"checkout", "-q", "main"}, {"-c", "user.name=t", "-c", "user.email=t@lathe.invalid", "commit", "-q", "--allow-empty", "-m", "untagged"},
			{"checkout", "-q", "--detach", "HEAD"}}, pipeline.Event{Kind: "manual"}, "by-hand"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, args := range tt.setup {
				lathetest.Git(t, repo, args...)
			}
			tt.want.Commit = strings.TrimSpace(lathetest.Git(t, repo, "rev-parse", "HEAD"))
			ev := local.RepoEvent(context.Background(), repo, "")
			if ev.Kind != tt.want.Kind || ev.Branch != tt.want.Branch || ev.Tag != tt.want.Tag || ev.Ref != tt.want.Ref || ev.Commit != tt.want.Commit {
				t.Errorf("event = %+v; want %+v", ev, tt.want)
			}
			res, out := runIn(t, repo, local.Options{})
			for _, j := range res.Jobs {
				want := lathe.StatusSkipped
				if j.Name == tt.ran {
					want = lathe.StatusSuccess
				}
				if j.Status != want {
					t.Errorf("%s = %s; want %s\n%s", j.Name, j.Status, want, out)
				}
			}
		})
	}
}

// A directory below a repository's top level (lathe exec --dir
// examples/phases) is copied file by file: what git lists there, tracked or
// new, without ignored files.
func TestJobsCopyASubdirectoryOfARepository(t *testing.T) {
	repo := lathetest.Repo(t, map[string]string{
		".gitignore":          "*.log\n",
		"app/.lathe.yml":      "jobs:\n  look:\n    steps: ['cat tracked.txt new.txt; test ! -e debug.log && test ! -e ../outside.txt && echo clean']\n",
		"app/tracked.txt":     "tracked\n",
		"outside.txt":         "not part of app\n",
		"app/deleted.txt":     "deleted before the run\n",
		"app/sub/nested.yaml": "nested: true\n",
	})
	app := filepath.Join(repo, "app")
	for p, s := range map[string]string{"new.txt": "new\n", "debug.log": "ignored\n"} {
		if err := os.WriteFile(filepath.Join(app, p), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Remove(filepath.Join(app, "deleted.txt")); err != nil {
		t.Fatal(err)
	}
	res, out := runIn(t, app, local.Options{})
	if res.Status != lathe.StatusSuccess || !strings.Contains(out, "tracked\n") || !strings.Contains(out, "] new\n") ||
		!strings.Contains(out, "] clean\n") || !strings.Contains(out, "its own copy of the directory's 4 files") {
		t.Errorf("run = %s\n%s", res.Status, out)
	}
}

// When the directory cannot be snapshot, no step runs: the jobs, started
// meanwhile, fail to check it out, and Run returns why.
func TestNoSnapshotNoStep(t *testing.T) {
	repo := lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  a:\n    steps: [echo step ran]\n"})
	if err := os.WriteFile(filepath.Join(repo, ".git", "index"), []byte("not an index"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	res, err := local.Run(context.Background(), local.Options{Dir: repo, Out: &out, Executor: lathetest.Executor(t, executor.Options{})})
	if err == nil || !strings.Contains(err.Error(), "snapshot the working tree") {
		t.Fatalf("Run = %+v, %v; want the snapshot's error\n%s", res, err, out.String())
	}
	if strings.Contains(out.String(), "step ran") || !strings.Contains(out.String(), "cannot prepare the job's workspace") {
		t.Errorf("output:\n%s", out.String())
	}
}

// In a fresh repository, with no commit and perhaps nothing ever added
// (so no index either), each job checks out a snapshot of the working
// tree, and the user's repository is left as it was: still no commit, and
// no index when there was none.
func TestJobsCheckOutAFreshRepository(t *testing.T) {
	tests := []struct {
		name string
		add  []string // what is staged before the run
	}{
		{"nothing added", nil},
		{"some files added", []string{".lathe.yml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := t.TempDir()
			lathetest.Git(t, repo, "init", "-q", "-b", "main")
			files := map[string]string{
				".lathe.yml": "name: u\njobs:\n  a: {steps: ['cat .lathe.yml new.txt >/dev/null && echo both files here']}\n",
				"new.txt":    "new\n",
			}
			for p, s := range files {
				if err := os.WriteFile(filepath.Join(repo, p), []byte(s), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if len(tt.add) > 0 {
				lathetest.Git(t, repo, append([]string{"add", "--"}, tt.add...)...)
			}
			_, indexErr := os.Stat(filepath.Join(repo, ".git", "index"))
			status := lathetest.Git(t, repo, "status", "--porcelain")

			res, out := runIn(t, repo, local.Options{})
			if res.Status != lathe.StatusSuccess || !strings.Contains(out, "] both files here\n") ||
				!strings.Contains(out, "your uncommitted changes on top of an unborn branch") {
				t.Errorf("run = %s\n%s", res.Status, out)
			}
			if got := lathetest.Git(t, repo, "status", "--porcelain"); got != status {
				t.Errorf("git status after the run:\n%s\nbefore:\n%s", got, status)
			}
			if _, err := os.Stat(filepath.Join(repo, ".git", "index")); (err == nil) != (indexErr == nil) {
				t.Errorf("the index exists: %v after the run, %v before", err == nil, indexErr == nil)
			}
			if got := lathetest.Git(t, repo, "rev-list", "--all"); got != "" {
				t.Errorf("commits reachable after the run: %q", got)
			}
		})
	}
}
