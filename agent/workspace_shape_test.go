package agent

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
)

// A workspace is untouched while no entry anywhere in it was created,
// deleted, renamed or turned into another type; a file's content is not
// its shape (the checkout puts a tracked file back), and a link is not
// followed.
func TestAWorkspaceIsUntouchedOnlyWhileNoEntryChanged(t *testing.T) {
	outside := t.TempDir()
	for _, tc := range []struct {
		name    string
		job     func(ws string) error
		touched bool
	}{
		{"nothing", func(string) error { return nil }, false},
		{"a tracked file rewritten", func(ws string) error {
			return os.WriteFile(filepath.Join(ws, "src", "main.c"), []byte("changed\n"), 0o644)
		}, false},
		{"a file made in outside, through a link", func(string) error {
			return os.WriteFile(filepath.Join(outside, "new"), nil, 0o644)
		}, false},
		{"a file made at the top", func(ws string) error { return os.WriteFile(filepath.Join(ws, "out.o"), nil, 0o644) }, true},
		{"a file made deep down", func(ws string) error {
			return os.WriteFile(filepath.Join(ws, "src", "deep", "x.o"), nil, 0o644)
		}, true},
		{"an empty directory made", func(ws string) error { return os.Mkdir(filepath.Join(ws, "build"), 0o755) }, true},
		{"a file deleted", func(ws string) error { return os.Remove(filepath.Join(ws, "README")) }, true},
		{"a file renamed", func(ws string) error {
			return os.Rename(filepath.Join(ws, "README"), filepath.Join(ws, "README.md"))
		}, true},
		{"a file turned into a directory", func(ws string) error {
			if err := os.Remove(filepath.Join(ws, "README")); err != nil {
				return err
			}
			return os.Mkdir(filepath.Join(ws, "README"), 0o755)
		}, true},
		{"a file turned into a link", func(ws string) error {
			if err := os.Remove(filepath.Join(ws, "README")); err != nil {
				return err
			}
			return os.Symlink("src/main.c", filepath.Join(ws, "README"))
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ws := t.TempDir()
			for _, d := range []string{"src/deep"} {
				if err := os.MkdirAll(filepath.Join(ws, d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			for _, f := range []string{"README", "src/main.c", "src/deep/util.c"} {
				if err := os.WriteFile(filepath.Join(ws, f), []byte(f+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Symlink(outside, filepath.Join(ws, "link")); err != nil {
				t.Fatal(err)
			}
			before := readShape(ws)
			if before == nil {
				t.Fatal("no shape read")
			}
			if err := tc.job(ws); err != nil {
				t.Fatal(err)
			}
			if got := !untouched(before, ws); got != tc.touched {
				t.Fatalf("touched = %v; want %v", got, tc.touched)
			}
		})
	}
	if untouched(nil, t.TempDir()) {
		t.Fatal("a workspace whose shape was never read counts as untouched")
	}
}

// A workspace kept without a clean (its job made nothing) or with one (its
// job made files, ignored ones too) gives the next job the commit's
// tracked files and nothing else, a rewritten tracked file put back.
func TestAKeptWorkspaceHoldsOnlyTheCommitsFiles(t *testing.T) {
	a := workspaceAgent(t)
	repo, commit := gitRepo(t)
	ctx := context.Background()
	mirror := a.mirrors.For(repo)
	as := &lathe.Assignment{Project: "p", RepoURL: repo}
	job := 0
	// run checks the commit out as the next job, reads its shape, lets
	// the job do its work and keeps the workspace; it returns what the
	// workspace held at the job's start.
	run := func(work func(ws string)) []string {
		t.Helper()
		job++
		ws, _ := filepath.Abs(filepath.Join(a.WorkDir, "ws", strings.Repeat("w", job)))
		if err := a.checkoutWorkspace(ctx, mirror, as, commit, ws, a.Log); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(filepath.Join(ws, "code.txt")); err != nil {
			t.Fatal(err)
		} else if fi.Mode().Perm() != 0o644 {
			t.Fatalf("job %d started with code.txt %v; want mode 0644 as committed", job, fi.Mode())
		}
		entries, _ := os.ReadDir(ws)
		var names []string
		for _, e := range entries {
			b, _ := os.ReadFile(filepath.Join(ws, e.Name()))
			names = append(names, e.Name()+"="+strings.TrimSpace(string(b)))
		}
		shape := readShape(ws)
		giveToJobUser(t, ws)
		work(ws)
		if !a.keepIdle(ctx, mirror, as, ws, shape, a.Log) {
			t.Fatal("the workspace was not kept")
		}
		return names
	}
	write := func(name, content string) func(string) {
		return func(ws string) {
			if err := os.WriteFile(filepath.Join(ws, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := ".git=gitdir: " // .git's content names the worktree's record; only its start is compared
	check := func(names []string) {
		t.Helper()
		if len(names) != 2 || !strings.HasPrefix(names[0], want) || names[1] != "code.txt=code" {
			t.Fatalf("job %d started with %q; want .git and code.txt as committed", job, names)
		}
	}
	check(run(write("code.txt", "rewritten\n"))) // nothing made: no clean
	check(run(write("code.txt", "CODE\n")))      // the same size, within the index's second
	check(run(func(ws string) {                  // made executable
		if err := os.Chmod(filepath.Join(ws, "code.txt"), 0o755); err != nil {
			t.Fatal(err)
		}
	}))
	check(run(func(ws string) { // the same size, a later second
		write("code.txt", "C0DE\n")(ws)
		later := time.Now().Add(2 * time.Second)
		if err := os.Chtimes(filepath.Join(ws, "code.txt"), later, later); err != nil {
			t.Fatal(err)
		}
	}))
	check(run(write(".gitignore-less.o", "built\n")))
	check(run(func(string) {}))
	if err := os.WriteFile(filepath.Join(repo, ".git", "info", "exclude"), []byte("*.o\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	check(run(write("ignored.o", "built\n")))
	check(run(func(string) {}))
}

// giveToJobUser does to the workspace what the sandbox does when the agent
// is root: everything in it goes to the job user (nobody), after git wrote
// its index as root.
func giveToJobUser(t *testing.T, ws string) {
	t.Helper()
	if os.Geteuid() != 0 {
		return
	}
	err := filepath.WalkDir(ws, func(p string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, 65534, 65534)
	})
	if err != nil {
		t.Fatal(err)
	}
}
