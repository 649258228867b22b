package local

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/lathe-ci/lathe/pipeline"
)

// repo is what git says about the directory a run starts from. Its fields
// are empty outside a git repository or without git; commit is empty on an
// unborn branch.
type repo struct {
	// top is the repository's top level and gitDir its git directory
	// (of this worktree), both absolute.
	top, gitDir string
	// tree is HEAD's tree, to tell a clean working tree from a changed
	// one; readHeadFiles leaves it empty (see headTree).
	tree string
	// commit is HEAD's commit; ref the ref HEAD points at (empty when
	// detached), branch its branch name.
	commit, ref, branch string
	// tag is a tag pointing at HEAD, looked up only when HEAD is detached
	// (as after `git checkout v1.2`), the state a tag push checks out.
	tag string
}

// readRepo finds where the repository's top level and git directory are
// and what HEAD is: from the repository's files when it can
// (readHeadFiles), else from git in one process (two when HEAD is
// detached, to find its tag; two on an unborn branch, to find its name).
func readRepo(ctx context.Context, dir string) repo {
	if r, ok := readHeadFiles(dir); ok {
		return r
	}
	return readRepoGit(ctx, dir)
}

// readRepoGit is readRepo asking git.
func readRepoGit(ctx context.Context, dir string) repo {
	out, err := git(ctx, dir, nil, "rev-parse", "--show-toplevel", "--absolute-git-dir", "HEAD", "HEAD^{tree}", "--symbolic-full-name", "HEAD")
	lines := strings.Split(string(bytes.TrimSpace(out)), "\n")
	if len(lines) < 2 || !filepath.IsAbs(lines[0]) || !filepath.IsAbs(lines[1]) {
		return repo{}
	}
	r := repo{top: lines[0], gitDir: lines[1]}
	if err != nil || len(lines) < 5 {
		// An unborn branch: HEAD names no commit yet.
		if ref, err := git(ctx, dir, nil, "symbolic-ref", "-q", "HEAD"); err == nil {
			r.ref = strings.TrimSpace(string(ref))
			r.branch = strings.TrimPrefix(r.ref, "refs/heads/")
		}
		return r
	}
	r.commit, r.tree = lines[2], lines[3]
	if lines[4] != "HEAD" {
		r.ref = lines[4]
		if b, ok := strings.CutPrefix(r.ref, "refs/heads/"); ok {
			r.branch = b
		}
		return r
	}
	tags, err := git(ctx, dir, nil, "for-each-ref", "--points-at", "HEAD", "--count", "1", "--format", "%(refname)", "refs/tags/")
	if t := strings.TrimSpace(string(tags)); err == nil && t != "" {
		r.tag = strings.TrimPrefix(t, "refs/tags/")
		r.ref = t
	}
	return r
}

// event is the event a server would see for HEAD when kind is "": a push
// to the branch checked out, a tag push when HEAD is detached at a tag,
// and otherwise a manual run (a detached commit, or no repository). A
// given kind keeps HEAD's branch, tag and commit.
func (r repo) event(kind string) pipeline.Event {
	if kind == "" {
		switch {
		case r.branch != "":
			kind = pipeline.EventPush
		case r.tag != "":
			kind = pipeline.EventTag
		default:
			kind = pipeline.EventManual
		}
	}
	return pipeline.Event{Kind: kind, Branch: r.branch, Tag: r.tag, Ref: r.ref, Commit: r.commit}
}

// RepoEvent is the event `lathe exec` and `lathe plan` plan dir's
// pipelines for: kind as given ("" takes it from the repository, see
// below), with the branch, tag, ref and commit HEAD is at. With kind "", a
// checked-out branch is a push to it and a HEAD detached at a tag a push
// of that tag, as the server would see the same push; anything else is a
// manual run. Changed paths stay unknown, so path conditions hold.
func RepoEvent(ctx context.Context, dir, kind string) pipeline.Event {
	return readRepo(ctx, dir).event(kind)
}

// git runs git in dir with env added to this process's environment and
// returns its standard output; an error carries what git printed.
func git(ctx context.Context, dir string, env []string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	if env != nil {
		cmd.Env = append(cmd.Environ(), env...)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return out, &gitError{args: args, msg: msg, err: err}
		}
		return out, &gitError{args: args, msg: err.Error(), err: err}
	}
	return out, nil
}

// gitError is a git command that failed, with what it said.
type gitError struct {
	args []string
	msg  string
	err  error
}

func (e *gitError) Error() string { return "git " + e.args[0] + ": " + e.msg }
func (e *gitError) Unwrap() error { return e.err }

// headTree is HEAD's tree, asking git when readRepo did not.
func (r repo) headTree(ctx context.Context) string {
	if r.tree != "" || r.commit == "" {
		return r.tree
	}
	out, err := git(ctx, r.top, nil, "rev-parse", "--verify", "-q", r.commit+"^{tree}")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
