package agent

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// At start the agent removes half-written tool fetches and, beyond its
// bound, the archives used least recently; what is left fits the bound.
func TestPruneToolCache(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	write := func(name string, size int, age time.Duration) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(strings.Repeat("x", size)), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, now.Add(-age), now.Add(-age)); err != nil {
			t.Fatal(err)
		}
	}
	write("fetch-123", 50, time.Minute)
	write("a-old.tar.gz", 100, 3*time.Hour)
	write("b-mid.tar.gz", 100, 2*time.Hour)
	write("c-new.tar.gz", 100, time.Hour)
	write("notes.txt", 500, 5*time.Hour)
	// A use makes the oldest the most recent.
	touchTool(filepath.Join(dir, "a-old.tar.gz"))
	n, err := pruneToolCache(dir, 250)
	if err != nil || n != 2 {
		t.Fatalf("pruned %d files, %v; want 2 (the fetch and the least recently used archive)", n, err)
	}
	ents, _ := os.ReadDir(dir)
	var left []string
	for _, e := range ents {
		left = append(left, e.Name())
	}
	if want := []string{"a-old.tar.gz", "c-new.tar.gz", "notes.txt"}; !slices.Equal(left, want) {
		t.Errorf("left %q, want %q", left, want)
	}
	if n, err := pruneToolCache(filepath.Join(dir, "absent"), 1); n != 0 || err != nil {
		t.Errorf("absent cache: %d, %v", n, err)
	}
}
