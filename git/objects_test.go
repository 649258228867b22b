package git

import (
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
