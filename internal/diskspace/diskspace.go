// Package diskspace tells whether a directory's filesystem has run out of
// space. A full disk makes every writer fail in its own words (a step's
// "write error", git's "fatal: …", SQLite's "database or disk is full");
// the server and the agents ask here so that they can say it once, plainly:
// "no space left on device". It depends on the standard library only.
package diskspace

import (
	"fmt"
	"syscall"
)

// Reserve is the free space below which a filesystem counts as full: a
// writer needs a few blocks to get anything done, and a log line saying
// why must still fit.
const Reserve = 64 << 10

// Reason is how an attempt's end reason and the API name a full disk.
const Reason = "infrastructure: no space left on device"

// Check returns nil while dir's filesystem has at least Reserve bytes free
// for unprivileged writers, and an error wrapping syscall.ENOSPC that names
// dir when it has not. An error reading the filesystem's state is returned
// as it is: it says nothing about space.
func Check(dir string) error {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return fmt.Errorf("free space of %s: %w", dir, err)
	}
	if free := st.Bavail * uint64(st.Bsize); free < Reserve {
		return fmt.Errorf("%s (%d bytes free): %w", dir, free, syscall.ENOSPC)
	}
	return nil
}
