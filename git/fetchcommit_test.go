package git

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(cmd.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// A hook's commit reaches the mirror by its ID alone, an annotated tag's
// ID gives the commit it tags, and a commit the remote lacks is an error.
func TestFetchCommitTakesTheHooksCommit(t *testing.T) {
	t.Parallel()
	src := t.TempDir()
	gitIn(t, src, "init", "-q", "-b", "main")
	gitIn(t, src, "commit", "-q", "--allow-empty", "-m", "one")
	gitIn(t, src, "commit", "-q", "--allow-empty", "-m", "two")
	head := gitIn(t, src, "rev-parse", "HEAD")
	gitIn(t, src, "tag", "-a", "v1", "-m", "release")
	tagObject := gitIn(t, src, "rev-parse", "v1")

	ms := &Mirrors{Dir: filepath.Join(t.TempDir(), "mirrors")}
	m := ms.For(src)
	ctx := context.Background()
	r, err := m.FetchCommit(ctx, "refs/heads/main", head, nil)
	if err != nil || r != (Ref{Commit: head, Branch: "main", Ref: "refs/heads/main"}) {
		t.Fatalf("FetchCommit(main) = %+v, %v", r, err)
	}
	if got := gitIn(t, m.Dir, "rev-parse", "refs/heads/main"); got != head {
		t.Errorf("the mirror's main is at %s; want the hook's %s", got, head)
	}
	r, err = m.FetchCommit(ctx, "refs/tags/v1", tagObject, nil)
	if err != nil || r.Commit != head || r.Tag() != "v1" {
		t.Fatalf("FetchCommit(v1) = %+v, %v; want the tagged commit %s", r, err, head)
	}
	if _, err := m.FetchCommit(ctx, "refs/heads/main", strings.Repeat("ab", 20), nil); err == nil {
		t.Error("a commit the remote does not have was fetched")
	}
	for _, bad := range [][2]string{{"main", head}, {"refs/heads/main", "HEAD"}, {"refs/heads/main", "--upload-pack=x"},
		{"refs/heads/a:refs/heads/b", head}, {"refs/heads/../x", head}, {"refs/heads/a b", head}} {
		if _, err := m.FetchCommit(ctx, bad[0], bad[1], nil); err == nil {
			t.Errorf("FetchCommit(%q, %q) took it", bad[0], bad[1])
		}
	}
}
