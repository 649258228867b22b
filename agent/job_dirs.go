package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/lathe-ci/lathe/internal/rmtree"
)

// jobDirs are an attempt's private directories beside its workspace, under
// <work dir>/jobs/current: the steps' HOME, and the executor's control
// directory. The agent runs one attempt at a time, so one set serves every
// attempt in turn: an attempt that leaves both empty (a short job's usual
// case) hands them to the next as they are, since making and deleting
// three directories per attempt costs a short job more CPU than the rest
// of its file work (ext4 looks for an inode that was not freed recently).
// An attempt that leaves anything in them has the set renamed away and
// deleted by the remover, and the next one makes a fresh set; so does
// every attempt after an error. What an agent's earlier life left behind
// goes when it starts again (removeLeftovers).
type jobDirs struct {
	root, home, control string
}

// currentJobDirs is the name of the set in use under jobs/.
const currentJobDirs = "current"

// Modes of the job directories: HOME is the steps' alone; the control
// directory holds the step scripts and output FIFOs the steps' user reads
// and opens, and only the agent writes it.
const (
	homeMode    = 0o700
	controlMode = 0o755
)

// newJobDirs returns the directories for an attempt: the set the last
// attempt left empty, or a fresh one.
func (a *Agent) newJobDirs(attemptID int64) (jobDirs, error) {
	root, err := filepath.Abs(filepath.Join(a.WorkDir, "jobs", currentJobDirs))
	if err != nil {
		return jobDirs{}, err
	}
	jd := jobDirs{root: root, home: filepath.Join(root, "home"), control: filepath.Join(root, "control")}
	if a.jobDirsEmpty {
		a.jobDirsEmpty = false
		// The steps' user owns HOME and may have changed its mode.
		if err := os.Chmod(jd.home, homeMode); err == nil {
			return jd, nil
		}
	}
	if err := rmtree.RemoveAll(root); err != nil { // an earlier attempt's, not emptied
		return jobDirs{}, fmt.Errorf("job directory: %w", err)
	}
	for _, d := range []string{jd.home, jd.control} {
		if err := os.MkdirAll(d, homeMode); err != nil {
			return jobDirs{}, fmt.Errorf("job directory: %w", err)
		}
	}
	if err := os.Chmod(jd.control, controlMode); err != nil {
		return jobDirs{}, fmt.Errorf("job directory: %w", err)
	}
	return jd, nil
}

// release ends the attempt's use of jd once nothing of the job runs: left
// empty, the set is kept for the next attempt; otherwise it is renamed to
// jobs/<attempt> and deleted by the remover.
func (a *Agent) releaseJobDirs(jd jobDirs, attemptID int64) {
	if emptyDir(jd.home) && emptyDir(jd.control) {
		a.jobDirsEmpty = true
		return
	}
	old := filepath.Join(filepath.Dir(jd.root), strconv.FormatInt(attemptID, 10))
	if err := os.Rename(jd.root, old); err != nil {
		// newJobDirs deletes it before making the next set.
		a.Log.Warn("set aside an attempt's job directory", "agent", a.Name, "dir", jd.root, "err", err)
		return
	}
	a.remover.remove(func() error {
		if err := rmtree.RemoveAll(old); err != nil {
			return fmt.Errorf("remove job directory %s: %w", old, err)
		}
		return nil
	})
}

// emptyDir reports whether dir is a directory (not a link to one) with
// nothing in it, in three system calls.
func emptyDir(dir string) bool {
	fd, err := syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer syscall.Close(fd)
	var buf [512]byte
	for {
		n, err := syscall.ReadDirent(fd, buf[:])
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return false
		}
		if n <= 0 {
			return true
		}
		if _, count, _ := syscall.ParseDirent(buf[:n], 1, nil); count > 0 {
			return false // ParseDirent leaves "." and ".." out
		}
	}
}
