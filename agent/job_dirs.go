package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// jobDirs are an attempt's private directories beside its workspace, under
// <work dir>/jobs/<attempt>: the steps' HOME, and the executor's control
// directory. Both go when the attempt ends; those an agent's earlier life
// left behind go when it starts again (removeLeftovers).
type jobDirs struct {
	root, home, control string
}

func (a *Agent) newJobDirs(attemptID int64) (jobDirs, error) {
	root, err := filepath.Abs(filepath.Join(a.WorkDir, "jobs", strconv.FormatInt(attemptID, 10)))
	if err != nil {
		return jobDirs{}, err
	}
	jd := jobDirs{root: root, home: filepath.Join(root, "home"), control: filepath.Join(root, "control")}
	os.RemoveAll(root) // a retry of a claim may find an earlier try's
	for _, d := range []string{jd.home, jd.control} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return jobDirs{}, fmt.Errorf("job directory: %w", err)
		}
	}
	// The control directory holds the step scripts and output FIFOs the
	// steps' user reads and opens; only the agent writes it.
	if err := os.Chmod(jd.control, 0o755); err != nil {
		return jobDirs{}, fmt.Errorf("job directory: %w", err)
	}
	return jd, nil
}

func (jd jobDirs) remove() error {
	if err := os.RemoveAll(jd.root); err != nil {
		return fmt.Errorf("remove job directory %s: %w", jd.root, err)
	}
	return nil
}
