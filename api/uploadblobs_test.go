package api

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Archives a server stored before blob keys are renamed to their keys at
// start, so a run that spans the upgrade still downloads them.
func TestAdoptLegacyUploads(t *testing.T) {
	dir := t.TempDir()
	sum := strings.Repeat("ab", 32)
	legacy := filepath.Join(dir, "12", "dist."+sum+".tar.gz")
	os.MkdirAll(filepath.Dir(legacy), 0o700)
	if err := os.WriteFile(legacy, []byte("archive"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := adoptLegacyUploads(dir); err != nil {
		t.Fatal(err)
	}
	key := uploadKey(12, "dist", sum)
	if b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(key))); err != nil || string(b) != "archive" {
		t.Fatalf("archive under key %s: %q, %v", key, b, err)
	}
	if _, err := os.Stat(legacy); !os.IsNotExist(err) {
		t.Errorf("legacy file still there: %v", err)
	}
	if !strings.HasPrefix(key, "12/") || strings.Contains(key, "dist") {
		t.Errorf("key %q: want the run's ID first and no client-chosen name", key)
	}
}
