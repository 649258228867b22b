package local

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
)

// head is the commit the directory has checked out, for LATHE_COMMIT,
// LATHE_REF and LATHE_BRANCH. Its fields are empty outside a git
// repository, on an unborn branch, or without git.
type head struct {
	commit, ref, branch string
}

// readHead asks git for HEAD's commit and the ref it points at, in one
// process. A detached HEAD has a commit but no ref or branch.
func readHead(ctx context.Context, dir string) head {
	cmd := exec.CommandContext(ctx, "git", "rev-parse", "HEAD", "--symbolic-full-name", "HEAD")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return head{}
	}
	lines := strings.Split(string(bytes.TrimSpace(out)), "\n")
	h := head{commit: lines[0]}
	if len(lines) > 1 && lines[1] != "HEAD" {
		h.ref = lines[1]
		if branch, ok := strings.CutPrefix(h.ref, "refs/heads/"); ok {
			h.branch = branch
		}
	}
	return h
}
