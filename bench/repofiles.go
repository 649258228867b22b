package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
)

// makeRepoWith creates a git repository on branch main holding files in
// one commit and returns the commit ID. The agent-facing sections each make
// their own, since their pipelines depend on their flags.
func makeRepoWith(ctx context.Context, dir string, files map[string]string) (string, error) {
	if _, err := gitOut(ctx, "", "init", "-q", "-b", "main", dir); err != nil {
		return "", err
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return "", err
		}
	}
	if _, err := gitOut(ctx, dir, "add", "-A"); err != nil {
		return "", err
	}
	if _, err := gitOut(ctx, dir, "-c", "user.email=bench@lathe.invalid", "-c", "user.name=bench",
		"commit", "-q", "-m", "benchmark pipelines"); err != nil {
		return "", err
	}
	out, err := gitOut(ctx, dir, "rev-parse", "HEAD")
	return strings.TrimSpace(out), err
}
