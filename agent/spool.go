package agent

import (
	"errors"
	"os"
)

// An attempt's log spool is logs/<attempt>.log. Creating a file and
// deleting it again for every attempt costs ext4 half a millisecond of CPU
// on a busy disk (it searches for an inode not freed recently), more than
// the rest of a short job's spool work; so the agent keeps one empty spare
// file, logs/spare, which becomes the next attempt's spool by a rename and
// is left again, emptied, when the attempt ends. No process of the job
// ever gets the spool (they write into a pipe the agent copies from: see
// step_output.go), so once the copying and the shipper have ended nothing
// can write into it, and a process a job left behind can never write into
// a later attempt's log.

// spareSpool is the spare's name in the logs directory.
const spareSpool = "spare"

// openSpool opens path for an attempt's spool, moving the spare there
// first when there is one.
func openSpool(path, spare string) (*os.File, error) {
	if spare != "" {
		os.Rename(spare, path) // none yet: the file is created
	}
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o600)
}

// Close ends the spool: emptied and kept as the spare when nothing writes
// into it or reads it any more, deleted otherwise. Call it once Run and
// EndOutput have returned.
func (s *shipper) Close() error {
	name := s.spool.Name()
	if s.spare != "" && s.outputEnded() && s.runEnded() {
		err := s.spool.Truncate(0)
		if cerr := s.spool.Close(); err == nil {
			err = cerr
		}
		if err == nil && os.Rename(name, s.spare) == nil {
			return nil
		}
	} else {
		s.spool.Close()
	}
	if err := os.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// runEnded reports whether Run has returned.
func (s *shipper) runEnded() bool {
	select {
	case <-s.finished:
		return true
	default:
		return false
	}
}
