package local

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// readHeadFiles reads what readRepo needs from the repository's files
// instead of starting git: starting a process costs more than all the rest
// of `lathe exec` before its first step. It knows the plain layout (a .git
// directory, or a worktree's .git file, loose refs and packed-refs); ok is
// false for anything else (GIT_DIR set, reftable, a detached HEAD whose
// tag must be looked up, an unreadable file), and git is asked instead.
func readHeadFiles(dir string) (r repo, ok bool) {
	if os.Getenv("GIT_DIR") != "" || os.Getenv("GIT_WORK_TREE") != "" || os.Getenv("GIT_COMMON_DIR") != "" {
		return repo{}, false
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return repo{}, false
	}
	top, gitDir, found := findGitDir(dir)
	if !found {
		// No repository up to the root: what git would say too, unless
		// GIT_CEILING_DIRECTORIES or a safe.directory refusal is at play,
		// which only makes git say the same.
		return repo{}, top == ""
	}
	common := commonDir(gitDir)
	head, err := os.ReadFile(filepath.Join(gitDir, "HEAD"))
	if err != nil {
		return repo{}, false
	}
	r = repo{top: top, gitDir: gitDir}
	h := strings.TrimSpace(string(head))
	ref, symbolic := strings.CutPrefix(h, "ref: ")
	if !symbolic || !strings.HasPrefix(ref, "refs/heads/") || ref == "refs/heads/.invalid" {
		return repo{}, false // detached (its tag is git's to find), or reftable
	}
	r.ref, r.branch = ref, strings.TrimPrefix(ref, "refs/heads/")
	id, err := resolveRef(common, ref)
	if err != nil {
		return repo{}, false
	}
	r.commit = id // "" on an unborn branch
	return r, true
}

// commonDir is the git directory a worktree's gitDir shares with the
// repository's other worktrees: the one its commondir file names, or gitDir
// itself (the main worktree's).
func commonDir(gitDir string) string {
	b, err := os.ReadFile(filepath.Join(gitDir, "commondir"))
	if err != nil {
		return gitDir
	}
	c := strings.TrimSpace(string(b))
	if !filepath.IsAbs(c) {
		c = filepath.Join(gitDir, c)
	}
	return filepath.Clean(c)
}

// findGitDir walks up from dir to the directory holding .git. top is ""
// when there is none, and found false then or when .git is unreadable.
func findGitDir(dir string) (top, gitDir string, found bool) {
	for d := dir; ; {
		p := filepath.Join(d, ".git")
		fi, err := os.Stat(p)
		switch {
		case err == nil && fi.IsDir():
			return d, p, true
		case err == nil:
			b, err := os.ReadFile(p)
			g, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "gitdir: ")
			if err != nil || !ok {
				return d, "", false
			}
			if !filepath.IsAbs(g) {
				g = filepath.Join(d, g)
			}
			return d, filepath.Clean(g), true
		case !errors.Is(err, os.ErrNotExist):
			return d, "", false
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", "", false
		}
		d = parent
	}
}

// resolveRef returns the commit a branch ref names, from its loose file or
// packed-refs; "" when neither has it (an unborn branch).
func resolveRef(common, ref string) (string, error) {
	b, err := os.ReadFile(filepath.Join(common, filepath.FromSlash(ref)))
	if err == nil {
		id := strings.TrimSpace(string(b))
		if !isObjectID(id) {
			return "", errors.New("not a commit: " + ref)
		}
		return id, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	f, err := os.Open(filepath.Join(common, "packed-refs"))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Bytes()
		if id, name, ok := bytes.Cut(line, []byte(" ")); ok && string(name) == ref && isObjectID(string(id)) {
			return string(id), nil
		}
	}
	return "", sc.Err()
}

// isObjectID reports whether s is a SHA-1 or SHA-256 object ID in hex.
func isObjectID(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
