package git

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// hasObject finds loose objects and packed ones, and no others.
func TestHasObjectReadsLooseObjectsAndPackIndexes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	gitIn(t, dir, "init", "-q", "-b", "main")
	gitIn(t, dir, "commit", "-q", "--allow-empty", "-m", "one")
	first := gitIn(t, dir, "rev-parse", "HEAD")
	m := &Mirror{Dir: filepath.Join(dir, ".git")}
	if !m.hasObject(first) {
		t.Fatal("a loose commit was not found")
	}
	gitIn(t, dir, "gc", "-q")
	gitIn(t, dir, "commit", "-q", "--allow-empty", "-m", "two")
	second := gitIn(t, dir, "rev-parse", "HEAD")
	for _, id := range []string{first, second, gitIn(t, dir, "rev-parse", "HEAD^{tree}")} {
		if !m.hasObject(id) {
			t.Errorf("object %s (packed or loose) was not found", id)
		}
	}
	for _, id := range []string{strings.Repeat("0", 40), strings.Repeat("f", 40), first[:39] + "x"} {
		if m.hasObject(id) {
			t.Errorf("object %s was found", id)
		}
	}
	// Every name in the pack is found by the search, not just some.
	for _, line := range strings.Split(gitIn(t, dir, "rev-list", "--objects", "--all"), "\n") {
		if id, _, _ := strings.Cut(line, " "); id != "" && !m.hasObject(id) {
			t.Errorf("object %s was not found", id)
		}
	}
}

// TopEntries reads the top of a loose commit's tree as git lists it, and
// gives up on a packed one.
func TestTopEntriesReadsLooseTrees(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	gitIn(t, dir, "init", "-q", "-b", "main")
	for name, content := range map[string]string{".lathe.yml": "a", ".lathe/x.yml": "b", "README": "c"} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gitIn(t, dir, "add", "-A")
	gitIn(t, dir, "commit", "-q", "-m", "one")
	head := gitIn(t, dir, "rev-parse", "HEAD")
	m := &Mirror{Dir: filepath.Join(dir, ".git")}
	got, ok := m.TopEntries(head, []string{".lathe.yml", ".lathe", ".lathe.yaml"})
	want := map[string]string{
		".lathe.yml": "100644 " + gitIn(t, dir, "rev-parse", "HEAD:.lathe.yml"),
		".lathe":     "40000 " + gitIn(t, dir, "rev-parse", "HEAD:.lathe"),
	}
	if !ok || len(got) != 2 || got[".lathe.yml"] != want[".lathe.yml"] || got[".lathe"] != want[".lathe"] {
		t.Errorf("TopEntries = %v, %v; want %v", got, ok, want)
	}
	gitIn(t, dir, "gc", "-q", "--prune=now")
	if _, ok := m.TopEntries(head, []string{".lathe"}); ok {
		t.Error("TopEntries read a packed commit")
	}
}
