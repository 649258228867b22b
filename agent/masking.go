package agent

import (
	"github.com/lathe-ci/lathe/secret"
)

// A job that gets secrets has every value masked before its output reaches
// the spool, so no secret is ever on the agent's disk or sent to the
// server. The steps' output, copied from their pipe (see step_output.go),
// and the agent's own lines go through the job's one Masker; the agent's
// lines are whole, so each is flushed at once, and the steps' output is
// flushed at each step's end. The report files the job sends (reports.go)
// go through the same masks, since the server keeps their text and shows
// it to every reader of the project.

// spoolWriter writes into the spool and wakes the shipper.
type spoolWriter struct{ s *shipper }

func (w spoolWriter) Write(p []byte) (int, error) {
	n, err := w.s.spool.Write(p)
	w.s.wake()
	return n, err
}

// maskSecrets makes every later write to the attempt's log mask ms.
func (s *shipper) maskSecrets(ms *secret.Masks) {
	if ms.Empty() {
		return
	}
	s.mask = ms.Writer(spoolWriter{s})
}
