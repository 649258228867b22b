// Package rmtree removes what a job left, including what it made
// unwritable to its own user.
package rmtree

import (
	"errors"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// RemoveAll removes path and everything in it, as os.RemoveAll does, and
// also what a job made unwritable: its user may not delete what a
// directory of mode 0555 holds (Go's module cache makes every module's
// directory so), and os.RemoveAll stops there when Lathe does not run as
// root. On a permission error every directory in path is then made
// readable, writable and searchable by its owner, following no link, and
// the removal tried again. Call it once nothing of the job runs.
func RemoveAll(path string) error {
	err := os.RemoveAll(path)
	if err == nil || !errors.Is(err, fs.ErrPermission) {
		return err
	}
	openUp(unix.AT_FDCWD, path)
	return os.RemoveAll(path)
}

// openUp gives the owner rwx on the directory name (relative to the
// directory open as at) and on every directory below it, and leaves
// anything that is not a directory alone: a link is neither followed nor
// changed. It works through directory descriptors, each opened from its
// parent with O_NOFOLLOW, and gives up quietly where it cannot go on.
func openUp(at int, name string) {
	var st unix.Stat_t
	if err := unix.Fstatat(at, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return
	}
	if st.Mode&0o700 != 0o700 {
		// The entry was a directory just now; nothing of the job runs
		// that could swap it for a link since.
		if err := unix.Fchmodat(at, name, st.Mode&0o7777|0o700, 0); err != nil {
			return
		}
	}
	fd, err := unix.Openat(at, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	d := os.NewFile(uintptr(fd), name)
	defer d.Close()
	for {
		entries, err := d.ReadDir(256)
		for _, e := range entries {
			if e.IsDir() {
				openUp(fd, e.Name())
			}
		}
		if err != nil {
			return
		}
	}
}
