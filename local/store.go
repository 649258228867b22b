package local

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// execDir is where `lathe exec` keeps what a server would store: under
// the run's directory, one numbered directory per run that uploaded files
// or kept artifacts,
//
//	.lathe/exec/N/uploads/NAME.tar.gz   an upload step's archive, for later jobs' downloads
//	.lathe/exec/N/artifacts/JOB/…       a job's artifacts, as files
//
// A .gitignore of "*" keeps all of it out of git (and out of the next
// run's snapshot).
const execDir = ".lathe/exec"

// store is one run's directory under execDir, made when first needed, so
// a run that keeps nothing leaves nothing.
type store struct {
	base string // <dir>/.lathe/exec

	mu  sync.Mutex
	dir string // <base>/N once made
}

// runDir returns the run's directory, making it (with the next free
// number) on first use.
func (s *store) runDir() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dir != "" {
		return s.dir, nil
	}
	if err := os.MkdirAll(s.base, 0o755); err != nil {
		return "", fmt.Errorf("make %s: %w", s.base, err)
	}
	ignore := filepath.Join(s.base, ".gitignore")
	if _, err := os.Stat(ignore); errors.Is(err, fs.ErrNotExist) {
		if err := os.WriteFile(ignore, []byte("# lathe exec's uploads and artifacts: never committed\n*\n"), 0o644); err != nil {
			return "", fmt.Errorf("make %s: %w", ignore, err)
		}
	}
	entries, err := os.ReadDir(s.base)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", s.base, err)
	}
	n := 1
	for _, e := range entries {
		if k, err := strconv.Atoi(e.Name()); err == nil && k >= n {
			n = k + 1
		}
	}
	// Mkdir fails on a number another run took meanwhile: take the next.
	for ; ; n++ {
		d := filepath.Join(s.base, strconv.Itoa(n))
		err := os.Mkdir(d, 0o755)
		if err == nil {
			s.dir = d
			return d, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("make %s: %w", d, err)
		}
	}
}

// made returns the run's directory if it was made, or "".
func (s *store) made() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dir
}

// path returns a path below the run's directory, making its parent.
func (s *store) path(elem ...string) (string, error) {
	d, err := s.runDir()
	if err != nil {
		return "", err
	}
	p := filepath.Join(append([]string{d}, elem...)...)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", err
	}
	return p, nil
}
