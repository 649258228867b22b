// Package git drives the git binary: Lathe supports any URL that git can
// clone (including local paths and file:// URLs), so it never reimplements
// transport. The server keeps one bare mirror per project to resolve refs and
// read pipeline files; agents keep one per repository URL and check commits
// out of it as worktrees.
package git

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/lathe-ci/lathe/internal/childwait"
)

// Mirror is a bare local copy of a remote repository.
type Mirror struct {
	Dir string
	URL string

	mu   sync.Mutex // serialises fetches into the mirror
	init bool
	// present remembers commits the mirror is known to hold (objects are
	// never removed from a mirror), sparing a git process per trigger.
	present map[string]bool
}

// maxPresent bounds the memory of known commits per mirror.
const maxPresent = 4096

// Mirrors hands out one Mirror per URL under a directory.
type Mirrors struct {
	Dir string

	mu sync.Mutex
	m  map[string]*Mirror
}

// For returns the mirror of url, creating its handle on first use.
func (ms *Mirrors) For(url string) *Mirror { return ms.ForIdentity(url, "") }

// ForIdentity returns the mirror of url as read with one identity (an SSH
// key's fingerprint; "" for none): what one key fetched is never served
// to a project that reads the same URL with another key, which might not
// be allowed to read it.
func (ms *Mirrors) ForIdentity(url, identity string) *Mirror {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if ms.m == nil {
		ms.m = map[string]*Mirror{}
	}
	key := url
	if identity != "" {
		key = url + "\x00" + identity
	}
	m, ok := ms.m[key]
	if !ok {
		sum := sha256.Sum256([]byte(key))
		// Absolute: git runs with its working directory set to the mirror
		// or its parent, where a relative path would point elsewhere.
		dir, err := filepath.Abs(ms.Dir)
		if err != nil {
			dir = ms.Dir
		}
		m = &Mirror{Dir: filepath.Join(dir, hex.EncodeToString(sum[:8])+".git"), URL: url}
		ms.m[key] = m
	}
	return m
}

// gitPath is where git is, looked up in PATH once rather than for every
// process (a stat per PATH entry each time).
var gitPath = sync.OnceValue(func() string {
	if p, err := exec.LookPath("git"); err == nil {
		return p
	}
	return "git" // exec then says why it cannot run it
})

// run runs git with args in dir and returns its standard output. Errors carry git's stderr.
func run(ctx context.Context, dir string, args ...string) ([]byte, error) {
	return runTo(ctx, dir, true, args...)
}

// runTo is run keeping git's output only when keepOut says so (no pipe
// and copying goroutine for output nobody reads).
func runTo(ctx context.Context, dir string, keepOut bool, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, gitPath(), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=", "LC_ALL=C")
	cmd.Env = append(cmd.Env, sshEnv(args)...)
	var out, errb bytes.Buffer
	if keepOut {
		cmd.Stdout = &out
	}
	cmd.Stderr = &errb
	childwait.NullStreams(cmd)
	if err := childwait.Run(cmd); err != nil {
		// git may echo a URL's credentials; an error is logged and shown.
		msg := Redact(strings.TrimSpace(errb.String()))
		if msg == "" {
			msg = err.Error()
		}
		return out.Bytes(), fmt.Errorf("git %s: %s", subcommand(args), msg)
	}
	return out.Bytes(), nil
}

// subcommand names what git was asked to do, past any -c options.
func subcommand(args []string) string {
	for i := 0; i < len(args); i++ {
		if args[i] == "-c" {
			i++
			continue
		}
		return args[i]
	}
	return ""
}

var hexSHA = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`) })

// IsCommitID reports whether s is a full hexadecimal object name.
func IsCommitID(s string) bool { return hexSHA().MatchString(s) }

func (m *Mirror) ensure(ctx context.Context) error {
	if m.init {
		return nil
	}
	if _, err := os.Stat(filepath.Join(m.Dir, "HEAD")); err != nil {
		if err := os.MkdirAll(filepath.Dir(m.Dir), 0o755); err != nil {
			return err
		}
		if _, err := run(ctx, filepath.Dir(m.Dir), "init", "--bare", "--quiet", m.Dir); err != nil {
			return err
		}
	}
	// The worktrees of a mirror compare a file's size, mtime and mode with
	// their index, not its owner, inode or ctime: a job's steps run as
	// another user than the agent's (root's job user), who is given the
	// files after git wrote the index, and git's full stat check would find
	// every file changed. The agent's checkout would then write every file
	// again, and a step's git status hash every one. git still reads the
	// content of a file changed within its index's second.
	if _, err := run(ctx, m.Dir, "config", "core.checkStat", "minimal"); err != nil {
		return err
	}
	m.init = true
	return nil
}

// fetch brings every branch and tag of the remote into the mirror.
func (m *Mirror) fetch(ctx context.Context, hold Hold) error {
	_, err := run(ctx, m.Dir, hold.args("fetch", "--quiet", "--prune", "--force", "--no-tags", "--end-of-options", m.URL,
		"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")...)
	if err != nil {
		return fmt.Errorf("fetch %s: %w", Redact(m.URL), err)
	}
	return nil
}

// has reports whether the mirror holds the commit. Callers hold m.mu.
func (m *Mirror) has(ctx context.Context, commit string) bool {
	if m.present[commit] {
		return true
	}
	if _, err := run(ctx, m.Dir, "cat-file", "-e", commit+"^{commit}"); err != nil {
		return false
	}
	m.remember(commit)
	return true
}

// remember records that the mirror holds the commit. Callers hold m.mu.
func (m *Mirror) remember(commit string) {
	if m.present == nil || len(m.present) >= maxPresent {
		m.present = map[string]bool{}
	}
	m.present[commit] = true
}

// Ref is a resolved ref.
type Ref struct {
	Commit string
	// Branch is set when the ref named a branch.
	Branch string
	// Ref is the full ref name (refs/heads/main), or the commit ID when one was given.
	Ref string
}

// Tag returns the tag name when the ref is a tag, else "".
func (r Ref) Tag() string {
	if tag, ok := strings.CutPrefix(r.Ref, "refs/tags/"); ok {
		return tag
	}
	return ""
}

// Resolve turns a branch, tag, full ref or commit ID into a commit the mirror
// holds, fetching from the remote when needed. An empty ref means the
// remote's default branch (HEAD).
func (m *Mirror) Resolve(ctx context.Context, ref string) (Ref, error) {
	return m.ResolveHeld(ctx, ref, nil)
}

// ResolveHeld is Resolve contacting the remote only as hold allows (see
// Policy.Check).
func (m *Mirror) ResolveHeld(ctx context.Context, ref string, hold Hold) (Ref, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.ensure(ctx); err != nil {
		return Ref{}, err
	}
	if IsCommitID(ref) {
		if !m.has(ctx, ref) {
			if err := m.fetch(ctx, hold); err != nil {
				return Ref{}, err
			}
			if !m.has(ctx, ref) {
				return Ref{}, fmt.Errorf("commit %s is not in %s", ref, Redact(m.URL))
			}
		}
		return Ref{Commit: ref, Ref: ref}, nil
	}
	// Ask the remote what the ref points at now; fetch only for commits we lack.
	pattern := ref
	if pattern == "" {
		pattern = "HEAD"
	}
	out, err := run(ctx, m.Dir, hold.args("ls-remote", "--symref", "--end-of-options", m.URL, pattern)...)
	if err != nil {
		return Ref{}, fmt.Errorf("resolve %q in %s: %w", ref, Redact(m.URL), err)
	}
	r, ok := pickRef(string(out), ref)
	if !ok {
		return Ref{}, fmt.Errorf("no branch or tag %q in %s", ref, Redact(m.URL))
	}
	if !m.has(ctx, r.Commit) {
		if err := m.fetch(ctx, hold); err != nil {
			return Ref{}, err
		}
	}
	if !m.has(ctx, r.Commit) {
		// A ref the mirror does not keep (a forge's refs/pull/2/head):
		// fetch its commit alone.
		if _, err := run(ctx, m.Dir, hold.args("fetch", "--quiet", "--no-tags", "--end-of-options", m.URL, r.Ref)...); err != nil {
			return Ref{}, fmt.Errorf("fetch %s from %s: %w", r.Ref, Redact(m.URL), err)
		}
		if !m.has(ctx, r.Commit) {
			return Ref{}, fmt.Errorf("commit %s of %s is not in %s", r.Commit, r.Ref, Redact(m.URL))
		}
	}
	if strings.HasPrefix(r.Ref, "refs/tags/") {
		// An annotated tag points at a tag object; build the commit it tags.
		out, err := run(ctx, m.Dir, "rev-parse", "--verify", "--end-of-options", r.Commit+"^{commit}")
		if err != nil {
			return Ref{}, err
		}
		r.Commit = strings.TrimSpace(string(out))
	}
	return r, nil
}

// pickRef chooses the ref ls-remote listed for the name: the exact full ref,
// else refs/heads/NAME, else refs/tags/NAME (peeled form preferred).
func pickRef(lsRemote, name string) (Ref, bool) {
	refs := map[string]string{}
	symHead := ""
	for _, line := range strings.Split(lsRemote, "\n") {
		sha, ref, ok := strings.Cut(line, "\t")
		if !ok {
			continue
		}
		if strings.HasPrefix(sha, "ref: ") {
			symHead = strings.TrimPrefix(sha, "ref: ")
			continue
		}
		refs[ref] = sha
	}
	if name == "" {
		sha, ok := refs["HEAD"]
		r := Ref{Commit: sha, Ref: symHead}
		if strings.HasPrefix(symHead, "refs/heads/") {
			r.Branch = strings.TrimPrefix(symHead, "refs/heads/")
		}
		return r, ok
	}
	for _, full := range []string{name, "refs/heads/" + name, "refs/tags/" + name} {
		sha, ok := refs[full]
		if !ok {
			continue
		}
		r := Ref{Commit: sha, Ref: full}
		if strings.HasPrefix(full, "refs/heads/") {
			r.Branch = strings.TrimPrefix(full, "refs/heads/")
		}
		return r, true
	}
	return Ref{}, false
}

// File is a file of a commit's tree: its path, the ID of its contents
// (equal IDs, equal contents) and its size in bytes.
type File struct {
	Path string
	Blob string
	Size int64
}

// ListFiles lists the files at commit under the given tree prefixes,
// without reading them.
func (m *Mirror) ListFiles(ctx context.Context, commit string, paths []string) ([]File, error) {
	args := append([]string{"ls-tree", "-r", "-z", "-l", "--full-tree", commit, "--"}, paths...)
	out, err := run(ctx, m.Dir, args...)
	if err != nil {
		return nil, err
	}
	var files []File
	for _, entry := range strings.Split(string(out), "\x00") {
		// "<mode> blob <sha> <size, padded>\t<path>"
		meta, path, ok := strings.Cut(entry, "\t")
		fields := strings.Fields(meta)
		if !ok || len(fields) != 4 || fields[1] != "blob" {
			continue
		}
		size, err := strconv.ParseInt(fields[3], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("git ls-tree: size %q of %s", fields[3], path)
		}
		files = append(files, File{Path: path, Blob: fields[2], Size: size})
	}
	return files, nil
}

// ReadFiles returns the contents of the files at commit that keep accepts,
// among the paths under the given tree prefixes. keep sees each file's
// path and size before anything is read, so a caller can refuse a huge
// blob without it ever entering memory.
func (m *Mirror) ReadFiles(ctx context.Context, commit string, paths []string, keep func(path string, size int64) bool) (map[string][]byte, error) {
	all, err := m.ListFiles(ctx, commit, paths)
	if err != nil {
		return nil, err
	}
	var want []File
	for _, f := range all {
		if keep(f.Path, f.Size) {
			want = append(want, f)
		}
	}
	return m.ReadBlobs(ctx, want)
}

// ReadBlobs returns the contents of files ListFiles listed, by path.
func (m *Mirror) ReadBlobs(ctx context.Context, want []File) (map[string][]byte, error) {
	files := map[string][]byte{}
	if len(want) == 0 {
		return files, nil
	}
	var in bytes.Buffer
	for _, f := range want {
		fmt.Fprintf(&in, "%s\n", f.Blob)
	}
	cmd := exec.CommandContext(ctx, "git", "cat-file", "--batch")
	cmd.Dir = m.Dir
	cmd.Stdin = &in
	blobs, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git cat-file: %w", err)
	}
	for _, f := range want {
		p := f.Path
		// Each object is "<sha> blob <size>\n<content>\n".
		header, rest, ok := bytes.Cut(blobs, []byte("\n"))
		var size int
		if !ok || len(bytes.Fields(header)) != 3 {
			return nil, fmt.Errorf("git cat-file: unexpected output for %s", p)
		}
		fmt.Sscan(string(bytes.Fields(header)[2]), &size)
		if size+1 > len(rest) {
			return nil, fmt.Errorf("git cat-file: short output for %s", p)
		}
		files[p] = rest[:size]
		blobs = rest[size+1:]
	}
	return files, nil
}
