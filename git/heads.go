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
