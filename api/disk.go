package api

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/lathe-ci/lathe/internal/diskspace"
)

// SetDataDir names the server's data directory (SQLite database, git
// mirrors, uploads), whose disk /readyz and every trigger check first: a
// run started on a full disk would fail in some git or SQLite message,
// whereas a 503 naming the full disk tells the operator what to do.
func (s *Server) SetDataDir(dir string) { s.dataDir = dir }

// roomToRun returns an error wrapping syscall.ENOSPC (answered as 503) when
// the data directory's disk is full. Not being able to tell says nothing.
func (s *Server) roomToRun() error {
	if s.dataDir == "" {
		return nil
	}
	if err := diskspace.Check(s.dataDir); errors.Is(err, syscall.ENOSPC) {
		return fmt.Errorf("data directory %w", err)
	}
	return nil
}
