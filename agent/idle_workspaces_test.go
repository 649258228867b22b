package agent

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	lathe "github.com/lathe-ci/lathe"
)

func TestIdleWorkspacesKeepOnePerKeyAndTheNewest(t *testing.T) {
	var w idleWorkspaces
	if ev := w.put("a", "/idle/a1"); len(ev) != 0 {
		t.Fatalf("evicted %v", ev)
	}
	if ev := w.put("a", "/idle/a2"); strings.Join(ev, " ") != "/idle/a1" {
		t.Fatalf("a second workspace of a evicted %v; want the first", ev)
	}
	for i := 0; i < maxIdleWorkspaces-1; i++ {
		if ev := w.put(string(rune('b'+i)), "/idle/x"); len(ev) != 0 {
			t.Fatalf("evicted %v below the bound", ev)
		}
	}
	if ev := w.put("z", "/idle/z"); strings.Join(ev, " ") != "/idle/a2" {
		t.Fatalf("over the bound evicted %v; want the oldest, /idle/a2", ev)
	}
	if w.take("a") != "" || w.take("z") != "/idle/z" || w.take("z") != "" {
		t.Fatal("take does not hand out each kept workspace once")
	}
}

// workspaceAgent is an agent with the directories its workspaces and
// mirrors live in, for the tests of checkoutWorkspace and keepIdle.
func workspaceAgent(t testing.TB) *Agent {
	t.Helper()
	a := quietAgent(t)
	a.mirrors.Dir = filepath.Join(a.WorkDir, "git")
	for _, d := range []string{"ws", "idle"} {
		if err := os.MkdirAll(filepath.Join(a.WorkDir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

func gitRepo(t *testing.T) (dir, commit string) {
	t.Helper()
	dir = t.TempDir()
	gitIn(t, dir, "init", "-q", "-b", "main")
	if err := os.WriteFile(filepath.Join(dir, "code.txt"), []byte("code\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitIn(t, dir, "add", ".")
	gitIn(t, dir, "commit", "-q", "-m", "one")
	return dir, gitIn(t, dir, "rev-parse", "HEAD")
}

// The next job of the same project and repository gets the last one's
// workspace, cleaned; another project's job, a job with secrets or one of
// an untrusted run (a fork's pull request) gets a fresh one, and a job
// with secrets or of an untrusted run leaves none.
func TestAWorkspaceServesOnlyTheNextJobOfItsProjectAndRepository(t *testing.T) {
	a := workspaceAgent(t)
	repo, commit := gitRepo(t)
	ctx := context.Background()
	mirror := a.mirrors.For(repo)
	run := func(id int64, as *lathe.Assignment) (ws string) {
		t.Helper()
		ws, _ = filepath.Abs(filepath.Join(a.WorkDir, "ws", string(rune('0'+id))))
		if err := a.checkoutWorkspace(ctx, mirror, as, commit, ws, a.Log); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(ws, "made-by-"+string(rune('0'+id))), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		return ws
	}
	plain := &lathe.Assignment{Project: "p", RepoURL: repo}
	if !a.keepIdle(ctx, mirror, plain, run(1, plain), nil, a.Log) {
		t.Fatal("a plain job's workspace was not kept")
	}
	idle, _ := os.ReadDir(filepath.Join(a.WorkDir, "idle"))
	if len(idle) != 1 {
		t.Fatalf("%d idle workspaces; want 1", len(idle))
	}
	ino := inode(t, filepath.Join(a.WorkDir, "idle", idle[0].Name()))

	other := &lathe.Assignment{Project: "q", RepoURL: repo}
	ws := run(2, other)
	if _, err := os.Stat(filepath.Join(ws, "made-by-1")); !os.IsNotExist(err) || inode(t, ws) == ino {
		t.Fatal("another project's job got the first job's workspace")
	}
	mirror.RemoveWorktree(ws)

	secret := &lathe.Assignment{Project: "p", RepoURL: repo, Secrets: []lathe.EnvVar{{Name: "S", Value: "v"}}}
	ws = run(3, secret)
	if inode(t, ws) == ino {
		t.Fatal("a job with secrets got an idle workspace")
	}
	if a.keepIdle(ctx, mirror, secret, ws, nil, a.Log) {
		t.Fatal("the workspace of a job with secrets was kept")
	}
	mirror.RemoveWorktree(ws)

	untrusted := &lathe.Assignment{Project: "p", RepoURL: repo, Untrusted: true}
	ws = run(5, untrusted)
	if inode(t, ws) == ino {
		t.Fatal("a job of an untrusted run got an idle workspace")
	}
	if a.keepIdle(ctx, mirror, untrusted, ws, nil, a.Log) {
		t.Fatal("the workspace of a job of an untrusted run was kept")
	}
	mirror.RemoveWorktree(ws)

	ws = run(4, plain)
	if inode(t, ws) != ino {
		t.Fatal("the next plain job of the project did not get the idle workspace")
	}
	entries, _ := os.ReadDir(ws)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != ".git code.txt made-by-4" {
		t.Fatalf("the reused workspace holds %v", names)
	}
}
