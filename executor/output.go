package executor

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// A job's log reaches the steps as a pipe (the agent's: it copies what
// arrives into its spool) or, for a caller that wants it so, as a file
// opened for appending. A step may open its output again by name
// (`echo x > /dev/stdout`, `tee /dev/stderr`, `curl -o /dev/stdout`):
// a pipe opened again is the same pipe, and O_TRUNC means nothing to it.
// For that, the job's user must be allowed to open it: a pipe belongs to
// whoever made it, with mode 0600, so the sandbox gives the log's pipe to
// the job user when that is not the agent's. Each step also writes
// through an open file of its own on the pipe, not one shared with the
// steps before it: a program may set O_NONBLOCK on its output (Node.js
// does, on a pipe), and on a shared open file a later step's writes would
// then fail with EAGAIN once the pipe is full.

// isPipe reports whether f is a pipe (or a FIFO).
func isPipe(f *os.File) bool {
	var st unix.Stat_t
	return unix.Fstat(int(f.Fd()), &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFIFO
}

// ownPipe gives the pipe f to uid:gid, so they can open it again by name.
func ownPipe(f *os.File, uid, gid int) error {
	if err := unix.Fchown(int(f.Fd()), uid, gid); err != nil {
		return fmt.Errorf("give the job user its log pipe: %w", err)
	}
	return nil
}

// stepOutput is what one step writes to when its output is out: out
// itself, unless out is a pipe, which is opened again for the step alone
// (see above); done closes what it opened.
func stepOutput(out *os.File) (f *os.File, done func(), err error) {
	if out == nil || !isPipe(out) {
		return out, func() {}, nil
	}
	f, err = os.OpenFile("/proc/self/fd/"+strconv.Itoa(int(out.Fd())), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("step output: %w", err)
	}
	return f, func() { f.Close() }, nil
}
