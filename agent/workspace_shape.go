package agent

import (
	"crypto/sha256"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
)

// A kept workspace must hold nothing but the repository's tracked files
// when the next job checks its commit out in it: `git checkout --force`
// puts every tracked file back as the commit has it, and `git clean
// -ffdx` removes everything else. Most jobs leave nothing else (they
// build elsewhere, or their outputs are ignored files they were told to
// delete), and the clean is a git process walking the whole tree for
// nothing. So the agent notes the workspace's shape right after the
// checkout and again after the job: when no directory's entries changed
// (no file or directory created, deleted, renamed or turned into another
// type, ignored ones included), there is nothing for the clean to remove,
// and it is skipped. A tracked file the job modified is still put back by
// the checkout. Any error, or a tree too large for two walks to cost less
// than the clean's one, means cleaning as before.

// treeShape is a workspace's shape: for each directory, by its path
// relative to the workspace, a digest of its entries' names and types.
type treeShape map[string][sha256.Size]byte

// maxShapeEntries bounds the entries a shape is read for: past it the
// clean's one walk costs less than two walks of the agent's.
const maxShapeEntries = 20_000

// readShape reads the shape of the tree at dir, following no link. It
// returns nil when it cannot, or the tree is larger than maxShapeEntries.
func readShape(dir string) treeShape {
	shape := treeShape{}
	entries := 0
	var walk func(rel string) bool
	walk = func(rel string) bool {
		list, err := os.ReadDir(filepath.Join(dir, rel))
		if err != nil {
			return false
		}
		entries += len(list)
		if entries > maxShapeEntries {
			return false
		}
		h := sha256.New()
		for _, e := range list { // ReadDir sorts by name
			t := e.Type()
			h.Write([]byte(e.Name()))
			h.Write([]byte{0, byte(t >> 24), byte(t >> 16), byte(t >> 8), byte(t), '\n'})
			if t&fs.ModeType == fs.ModeDir && !walk(filepath.Join(rel, e.Name())) {
				return false
			}
		}
		shape[rel] = [sha256.Size]byte(h.Sum(nil))
		return true
	}
	if !walk(".") {
		return nil
	}
	return shape
}

// untouched reports whether the tree at dir still has the shape before
// (read by readShape); false when before is nil.
func untouched(before treeShape, dir string) bool {
	if before == nil {
		return false
	}
	after := readShape(dir)
	return after != nil && maps.Equal(before, after)
}
