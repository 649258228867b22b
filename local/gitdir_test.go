package local

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Reading HEAD from the repository's files says what git says, in every
// layout it knows; in the others it leaves the question to git.
func TestReadHeadFilesAgreesWithGit(t *testing.T) {
	run := func(dir string, args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@lathe.invalid"}, args...)...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	base := t.TempDir()
	repoDir := filepath.Join(base, "repo")
	os.MkdirAll(filepath.Join(repoDir, "sub", "dir"), 0o755)
	run(repoDir, "init", "-q", "-b", "main")
	unborn := repo{top: repoDir, gitDir: filepath.Join(repoDir, ".git"), ref: "refs/heads/main", branch: "main"}
	check := func(name, dir string, want *repo) {
		t.Helper()
		got, ok := readHeadFiles(dir)
		if want == nil {
			if ok {
				t.Errorf("%s: read %+v; want git asked instead", name, got)
			}
			return
		}
		viaGit := gitRepo(t, dir)
		viaGit.tree = ""
		if !ok || got != *want || viaGit.commit != got.commit || viaGit.ref != got.ref || viaGit.branch != got.branch {
			t.Errorf("%s: read %+v (ok %v); want %+v; git says %+v", name, got, ok, *want, viaGit)
		}
	}
	check("unborn", repoDir, &unborn)
	run(repoDir, "commit", "-q", "--allow-empty", "-m", "one")
	head := gitRepo(t, repoDir).commit
	onMain := unborn
	onMain.commit = head
	check("loose ref", repoDir, &onMain)
	check("subdirectory", filepath.Join(repoDir, "sub", "dir"), &onMain)
	run(repoDir, "pack-refs", "--all")
	check("packed ref", repoDir, &onMain)
	wt := filepath.Join(base, "wt")
	run(repoDir, "worktree", "add", "-q", "-b", "other", wt)
	check("worktree", wt, &repo{top: wt, gitDir: filepath.Join(repoDir, ".git", "worktrees", "wt"), commit: head, ref: "refs/heads/other", branch: "other"})
	run(repoDir, "checkout", "-q", "--detach")
	check("detached", repoDir, nil)
	if got, ok := readHeadFiles(base); !ok || got != (repo{}) {
		t.Errorf("outside a repository: %+v, %v", got, ok)
	}
}

// gitRepo is what git says.
func gitRepo(t *testing.T, dir string) repo {
	t.Helper()
	return readRepoGit(context.Background(), dir)
}
