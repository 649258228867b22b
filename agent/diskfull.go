package agent

import (
	"errors"
	"path/filepath"
	"syscall"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/diskspace"
)

// noteFullDisk tells the server, with the finish of a failed attempt, that
// the agent's disk is full, when it is. A full disk fails a step in the
// step's own words (a "write error", a log cut mid-line, since its output
// cannot reach the spool either); the attempt's end reason and the last line
// of its log then say "infrastructure: no space left on device" instead. The
// check looks at the filesystems of the workspace and of the spool before
// the workspace is removed, while whatever filled them is still there.
func (a *Agent) noteFullDisk(status lathe.Status, ws string, out *shipper) {
	if status != lathe.StatusFailed && status != lathe.StatusTimedOut {
		return
	}
	for _, dir := range []string{filepath.Dir(ws), filepath.Dir(out.spool.Name())} {
		if err := diskspace.Check(dir); errors.Is(err, syscall.ENOSPC) {
			a.Log.Error("the attempt failed on a full disk", "agent", a.Name, "attempt_id", out.attemptID, "err", err)
			out.setReason(diskspace.Reason)
			return
		}
	}
}
