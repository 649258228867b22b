package git

import (
	"context"
	"fmt"
	"strings"
)

// ChangedFiles lists the paths that differ between two commits the mirror
// holds, as `when: paths` conditions see them. An error (a commit the
// mirror no longer has, after a force push and prune) means the changes
// are unknown.
func (m *Mirror) ChangedFiles(ctx context.Context, from, to string) ([]string, error) {
	if !IsCommitID(from) || !IsCommitID(to) {
		return nil, fmt.Errorf("changed files: %q..%q are not commit IDs", from, to)
	}
	out, err := run(ctx, m.Dir, "diff", "--name-only", "-z", "--no-renames", from, to, "--")
	if err != nil {
		return nil, fmt.Errorf("changed files %.12s..%.12s: %w", from, to, err)
	}
	paths := []string{}
	for _, p := range strings.Split(string(out), "\x00") {
		if p != "" {
			paths = append(paths, p)
		}
	}
	return paths, nil
}

// MergeBase returns the best common ancestor of two commits the mirror
// holds: what a pull request's changes are counted from.
func (m *Mirror) MergeBase(ctx context.Context, a, b string) (string, error) {
	if !IsCommitID(a) || !IsCommitID(b) {
		return "", fmt.Errorf("merge base: %q and %q are not commit IDs", a, b)
	}
	out, err := run(ctx, m.Dir, "merge-base", a, b)
	if err != nil {
		return "", fmt.Errorf("merge base of %.12s and %.12s: %w", a, b, err)
	}
	return strings.TrimSpace(string(out)), nil
}
