package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// DefaultToolCacheBytes bounds the archives the agent keeps in
// <work dir>/tools when Agent.ToolCacheBytes is zero.
const DefaultToolCacheBytes = 1 << 30

// maxToolCacheFiles bounds the files pruneToolCache looks at, so a start
// never walks an unbounded directory; the rest wait for the next start.
const maxToolCacheFiles = 10000

// pruneToolCache removes, at the agent's start, the fetches an earlier
// run left half-written (fetch-*) and, beyond maxBytes, the archives used
// least recently (a use touches an archive's modification time). It says
// how many files it removed.
func pruneToolCache(dir string, maxBytes int64) (int, error) {
	f, err := os.Open(dir)
	if os.IsNotExist(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("tool cache: %w", err)
	}
	ents, err := f.ReadDir(maxToolCacheFiles)
	f.Close()
	if err != nil && len(ents) == 0 {
		return 0, nil // empty
	}
	type archive struct {
		path string
		size int64
		used time.Time
	}
	var archives []archive
	removed := 0
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		if strings.HasPrefix(e.Name(), "fetch-") {
			if os.Remove(p) == nil {
				removed++
			}
			continue
		}
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() || !strings.HasSuffix(e.Name(), ".tar.gz") {
			continue
		}
		archives = append(archives, archive{p, info.Size(), info.ModTime()})
	}
	sort.Slice(archives, func(i, j int) bool { return archives[i].used.After(archives[j].used) })
	var kept int64
	for _, a := range archives {
		if kept+a.size <= maxBytes {
			kept += a.size
			continue
		}
		if os.Remove(a.path) == nil {
			removed++
		}
	}
	return removed, nil
}

// touchTool marks a cached archive as just used.
func touchTool(path string) {
	now := time.Now()
	os.Chtimes(path, now, now)
}
