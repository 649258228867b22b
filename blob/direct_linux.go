package blob

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// errInvalid is what a file system answers a direct write it cannot do.
var errInvalid = syscall.EINVAL

// openTemp creates a temporary file in dir for writing with direct I/O,
// or without it where the file system refuses it (tmpfs, some FUSE).
func openTemp(dir string) (*tempFile, error) {
	f, err := os.CreateTemp(dir, "put-*")
	if err != nil {
		return nil, err
	}
	flags, err := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0)
	if err == nil {
		_, err = unix.FcntlInt(f.Fd(), unix.F_SETFL, flags|unix.O_DIRECT)
	}
	return &tempFile{File: f, direct: err == nil}, nil
}

// clearDirect turns direct I/O off for the rest of f.
func clearDirect(f *os.File) error {
	flags, err := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0)
	if err == nil {
		_, err = unix.FcntlInt(f.Fd(), unix.F_SETFL, flags&^unix.O_DIRECT)
	}
	return err
}
