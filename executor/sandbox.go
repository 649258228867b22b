package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Sandbox runs each job in its own bubblewrap (bwrap) sandbox, started once
// per job; the job's steps run inside it one after another. In the sandbox
// the job's workspace and home are the only writable host paths, the rest
// of the file system is read-only, the paths in Hide are not there at all,
// /tmp is private, and the job has its own PID namespace and session. The
// sandbox dies with the agent (bwrap --die-with-parent).
//
// When the agent runs as root, bwrap keeps every capability inside the
// sandbox, so steps are started as User through setpriv, with no
// capabilities and no way to gain any. Otherwise bwrap's user namespace
// gives the steps the agent's own user without privileges.
type Sandbox struct {
	// Bwrap is the path of the bwrap program (see FindBwrap).
	Bwrap string
	// User is who steps run as when the agent runs as root (nil otherwise).
	User *User
	// Hide lists host paths a job must not see: directories are covered
	// by an empty tmpfs, files by an empty file.
	Hide []string
	// NoNetwork gives each job an empty network namespace.
	NoNetwork bool
	// Grace is how long a canceled step's process group has between SIGTERM and SIGKILL.
	Grace time.Duration

	setpriv string
}

// User is a numeric user and group that steps run as.
type User struct {
	Uid, Gid int
}

// NewSandbox checks that the sandbox can run here: bwrap is installed and,
// as root, so is setpriv and a job user is given.
func NewSandbox(s Sandbox) (*Sandbox, error) {
	if s.Bwrap == "" {
		p, err := FindBwrap()
		if err != nil {
			return nil, err
		}
		s.Bwrap = p
	}
	if _, err := exec.LookPath("setsid"); err != nil {
		return nil, errors.New("sandbox: setsid (util-linux) is needed to give each step its own process group")
	}
	if os.Geteuid() == 0 {
		if s.User == nil || s.User.Uid == 0 {
			return nil, errors.New("sandbox: running as root, steps need an unprivileged job user (--job-user)")
		}
		p, err := exec.LookPath("setpriv")
		if err != nil {
			return nil, errors.New("sandbox: setpriv (util-linux) is needed to run steps as the job user when Lathe runs as root")
		}
		s.setpriv = p
	} else {
		s.User = nil
	}
	for i, h := range s.Hide {
		abs, err := filepath.Abs(h)
		if err != nil {
			return nil, err
		}
		s.Hide[i] = abs
	}
	return &s, nil
}

// ErrNoBwrap says how to get bubblewrap, or how to do without it.
var ErrNoBwrap = errors.New("bubblewrap (bwrap) is not installed: steps run in a bwrap sandbox by default. " +
	"Install it (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap), " +
	"or choose --executor shell to run steps with no isolation at all")

// FindBwrap returns the path of bwrap, or ErrNoBwrap.
func FindBwrap() (string, error) {
	p, err := exec.LookPath("bwrap")
	if err != nil {
		return "", ErrNoBwrap
	}
	return p, nil
}

// Isolation is "sandbox".
func (s *Sandbox) Isolation() string { return IsolationSandbox }

// Start starts the job's sandbox with its step runner; the runner says it
// is ready before Start returns, so a sandbox that cannot be built is an
// error here, with bwrap's own message.
func (s *Sandbox) Start(ctx context.Context, spec Spec) (Job, error) {
	return startSandboxJob(ctx, s, spec)
}

// args returns bwrap's arguments for spec, up to and including the
// command that runs the step runner.
func (s *Sandbox) args(spec Spec) []string {
	a := []string{
		"--die-with-parent", "--new-session", "--unshare-pid", "--unshare-ipc",
		"--info-fd", "6", // the sandbox's init PID, for kill (see startSandboxJob)
		"--ro-bind", "/", "/",
		"--dev", "/dev",
		"--proc", "/proc",
	}
	if s.User == nil {
		a = append(a, "--unshare-user")
	}
	if s.NoNetwork {
		a = append(a, "--unshare-net")
	}
	// Empty file systems: the private temporary directories, then the
	// hidden directories; hidden files are covered by an empty file.
	var empty []string
	for _, d := range []string{"/tmp", "/var/tmp", "/dev/shm"} {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			a = append(a, "--perms", "1777", "--tmpfs", d)
			empty = append(empty, d)
		}
	}
	for _, h := range s.Hide {
		fi, err := os.Stat(h)
		switch {
		case err != nil:
			continue // nothing there to hide
		case fi.IsDir():
			a = append(a, "--tmpfs", h)
			empty = append(empty, h)
		default:
			a = append(a, "--ro-bind", "/dev/null", h)
		}
	}
	// The job's own directories come last: they may lie inside an empty
	// file system, where the directories leading to them are made
	// traversable for the job user (bwrap would make them 0700).
	made := map[string]bool{}
	binds := []struct {
		mode, path string
	}{{"--bind", spec.Workspace}, {"--bind", spec.Home}, {"--ro-bind", spec.Control}}
	for _, p := range spec.ReadOnly {
		binds = append(binds, struct{ mode, path string }{"--ro-bind", p})
	}
	for _, b := range binds {
		for _, dir := range dirsUnder(empty, b.path) {
			if !made[dir] {
				made[dir] = true
				a = append(a, "--perms", "0755", "--dir", dir)
			}
		}
		a = append(a, b.mode, b.path, b.path)
	}
	a = append(a, "--chdir", spec.Workspace, "--")
	if s.User != nil {
		a = append(a, s.setpriv,
			"--reuid", fmt.Sprint(s.User.Uid), "--regid", fmt.Sprint(s.User.Gid), "--clear-groups",
			"--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--")
	}
	return append(a, "/bin/sh", "-c", runnerScript, "lathe-step-runner", spec.Control)
}

// dirsUnder returns the directories from just below the deepest of roots
// that holds path down to path itself, outermost first; none when no root
// holds path.
func dirsUnder(roots []string, path string) []string {
	root := ""
	for _, r := range roots {
		if strings.HasPrefix(path, r+"/") && len(r) > len(root) {
			root = r
		}
	}
	if root == "" {
		return nil
	}
	var dirs []string
	for p := path; p != root; p = filepath.Dir(p) {
		dirs = append([]string{p}, dirs...)
	}
	return dirs
}

// own gives the job user what the agent wrote at path (recursively).
func (s *Sandbox) own(path string) error {
	if s.User == nil {
		return nil
	}
	return chownTree(path, s.User.Uid, s.User.Gid)
}

// chownTree makes uid:gid own dir and everything in it, without following
// symbolic links. It works through directory descriptors, each opened from
// its parent with O_NOFOLLOW, and changes each entry relative to its
// directory: a step still running in the background may swap a directory
// for a link to /etc while the walk goes on, and no path may then lead the
// agent (often root) out of dir. One system call per file, a few per
// directory (resolving each path from dir again cost one per component).
//
// An entry uid:gid owns already is left as it is: a chown changes the
// inode's ctime even when the owner stays, and git compares ctimes with
// its index, so a kept workspace chowned whole before every job had git
// read and hash every tracked file again at the next checkout (243 ms
// instead of 9 for a worktree of 4,000 files here). Only what git wrote
// since, as the agent's user, is given away again. What a directory that
// was not the user's holds is given away without looking first: the
// agent made that directory since, and all in it.
func chownTree(dir string, uid, gid int) error {
	if fi, err := os.Lstat(dir); err != nil {
		return err
	} else if !fi.IsDir() {
		if owned(fi, uid, gid) {
			return nil
		}
		return os.Lchown(dir, uid, gid) // a FIFO of the agent's: opening it would block
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: dir, Err: err}
	}
	changed, err := chownAt(fd, "", uid, gid, false)
	if err != nil {
		unix.Close(fd)
		return &os.PathError{Op: "chown", Path: dir, Err: err}
	}
	return chownEntries(fd, dir, uid, gid, changed)
}

// owned reports whether uid:gid own what fi describes.
func owned(fi os.FileInfo, uid, gid int) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == uid && int(st.Gid) == gid
}

// chownAt makes uid:gid own the entry name of the directory open as fd
// (the directory itself when name is ""), unless they do already, which
// it looks at only when not told the entry is fresh. It follows no link,
// and reports whether it changed the entry.
func chownAt(fd int, name string, uid, gid int, fresh bool) (bool, error) {
	flags := unix.AT_SYMLINK_NOFOLLOW
	if name == "" {
		flags |= unix.AT_EMPTY_PATH
	}
	if !fresh {
		var st unix.Stat_t
		if err := unix.Fstatat(fd, name, &st, flags); err != nil {
			return false, err
		}
		if int(st.Uid) == uid && int(st.Gid) == gid {
			return false, nil
		}
	}
	return true, unix.Fchownat(fd, name, uid, gid, flags)
}

// chownEntries makes uid:gid own what the directory open as fd (at path,
// for errors) holds, recursively; it closes fd. fresh says the directory
// was not theirs (see chownTree).
func chownEntries(fd int, path string, uid, gid int, fresh bool) error {
	d := os.NewFile(uintptr(fd), path)
	defer d.Close()
	for {
		entries, err := d.ReadDir(256)
		for _, e := range entries {
			name := e.Name()
			changed, err := chownAt(fd, name, uid, gid, fresh)
			if err != nil {
				return &os.PathError{Op: "chown", Path: filepath.Join(path, name), Err: err}
			}
			if !e.IsDir() {
				continue
			}
			sub, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if err != nil {
				return &os.PathError{Op: "open", Path: filepath.Join(path, name), Err: err}
			}
			if err := chownEntries(sub, filepath.Join(path, name), uid, gid, changed); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
