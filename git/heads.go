package git

import (
	"context"
	"fmt"
	"strings"
)

// Heads asks the remote for its branches and the commit each points at
// (one ls-remote, contacting the remote only as hold allows), by branch
// name. The mirror fetches nothing.
func (m *Mirror) Heads(ctx context.Context, hold Hold) (map[string]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.ensure(ctx); err != nil {
		return nil, err
	}
	out, err := run(ctx, m.Dir, hold.args("ls-remote", "--heads", "--end-of-options", m.URL)...)
	if err != nil {
		return nil, fmt.Errorf("list the branches of %s: %w", Redact(m.URL), err)
	}
	heads := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		sha, ref, ok := strings.Cut(line, "\t")
		if name, isHead := strings.CutPrefix(ref, "refs/heads/"); ok && isHead {
			heads[name] = sha
		}
	}
	return heads, nil
}

// DefaultBranch asks the remote which branch its HEAD names (one
// ls-remote, contacting the remote only as hold allows): the branch a
// clone checks out. It fails when the remote cannot be reached or its
// HEAD names no branch.
func (m *Mirror) DefaultBranch(ctx context.Context, hold Hold) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.ensure(ctx); err != nil {
		return "", err
	}
	out, err := run(ctx, m.Dir, hold.args("ls-remote", "--symref", "--end-of-options", m.URL, "HEAD")...)
	if err != nil {
		return "", fmt.Errorf("ask %s for its default branch: %w", Redact(m.URL), err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		// ref: refs/heads/NAME<TAB>HEAD
		target, name, ok := strings.Cut(line, "\t")
		if branch, isRef := strings.CutPrefix(target, "ref: refs/heads/"); ok && isRef && name == "HEAD" && branch != "" {
			return branch, nil
		}
	}
	return "", fmt.Errorf("%s names no default branch", Redact(m.URL))
}
