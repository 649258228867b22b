package git

import (
	"context"
	"fmt"
	"strings"
)

// FetchCommit brings one commit a forge's hook named into the mirror,
// without asking the remote what its refs point at: the hook's SHA is
// used as it is. It fetches the commit alone into ref in the mirror, or,
// from a remote that refuses a commit by ID, the hook's ref, and checks
// the commit is there.
// For a tag it returns the commit an annotated tag points at. The Ref it
// returns is ref (a full ref) at that commit.
func (m *Mirror) FetchCommit(ctx context.Context, ref, commit string, hold Hold) (Ref, error) {
	if !IsCommitID(commit) {
		return Ref{}, fmt.Errorf("commit %q is not a full commit ID", commit)
	}
	if !strings.HasPrefix(ref, "refs/") || strings.Contains(ref, "..") || strings.ContainsAny(ref, ":~^?*[\\ \t\r\n\x00\x7f") ||
		strings.HasSuffix(ref, "/") || strings.HasSuffix(ref, ".lock") {
		return Ref{}, fmt.Errorf("ref %q is not a full ref name (refs/…)", ref)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.ensure(ctx); err != nil {
		return Ref{}, err
	}
	if !m.present[commit] && !m.hasObject(commit) {
		// The ref follows the hook in the mirror: the next fetch tells the
		// remote it has this commit, and gets only what is new.
		_, err := run(ctx, m.Dir, hold.args("fetch", "--quiet", "--no-tags", "--end-of-options", m.URL, "+"+commit+":"+ref)...)
		if err == nil {
			// git fetched the object it was asked for, or it failed.
			m.remember(commit)
		} else {
			// A remote that serves only advertised refs: fetch the ref,
			// keeping branches and tags under their names.
			spec := ref
			if strings.HasPrefix(ref, "refs/heads/") || strings.HasPrefix(ref, "refs/tags/") {
				spec = "+" + ref + ":" + ref
			}
			if _, err := run(ctx, m.Dir, hold.args("fetch", "--quiet", "--no-tags", "--end-of-options", m.URL, spec)...); err != nil {
				return Ref{}, fmt.Errorf("fetch %.12s (%s) from %s: %w", commit, ref, Redact(m.URL), err)
			}
			if !m.has(ctx, commit) {
				return Ref{}, fmt.Errorf("commit %s of %s is not in %s", commit, ref, Redact(m.URL))
			}
		}
	}
	r := Ref{Commit: commit, Ref: ref}
	if b, ok := strings.CutPrefix(ref, "refs/heads/"); ok {
		r.Branch = b
	}
	if strings.HasPrefix(ref, "refs/tags/") {
		out, err := run(ctx, m.Dir, "rev-parse", "--verify", "--end-of-options", commit+"^{commit}")
		if err != nil {
			return Ref{}, err
		}
		r.Commit = strings.TrimSpace(string(out))
	}
	return r, nil
}
