package git

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"os"
	"path/filepath"
)

// hasObject reports whether the mirror's object store holds the object
// named by the hex ID id, looking at the files git keeps (a loose object,
// or an entry of a pack index) instead of starting git: a hook's commit is
// checked on the way in, and a process costs more than the look. It may
// say no for an object it cannot see (an unreadable index); the caller
// then fetches, which is never wrong.
func (m *Mirror) hasObject(id string) bool {
	objects := filepath.Join(m.Dir, "objects")
	if _, err := os.Stat(filepath.Join(objects, id[:2], id[2:])); err == nil {
		return true
	}
	want, err := hex.DecodeString(id)
	if err != nil {
		return false
	}
	idxs, _ := filepath.Glob(filepath.Join(objects, "pack", "*.idx"))
	for _, idx := range idxs {
		if inPackIndex(idx, want) {
			return true
		}
	}
	return false
}

// packIndexMagic starts a version 2 pack index.
var packIndexMagic = []byte{0xff, 't', 'O', 'c', 0, 0, 0, 2}

// inPackIndex binary-searches a version 2 pack index for the object name
// want: after the 8-byte header, 256 big-endian counts of the names whose
// first byte is at most 0…255, then the sorted names.
func inPackIndex(path string, want []byte) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 8+256*4)
	if _, err := f.ReadAt(head, 0); err != nil || !bytes.Equal(head[:8], packIndexMagic) {
		return false
	}
	fanout := func(b int) int64 {
		if b < 0 {
			return 0
		}
		return int64(binary.BigEndian.Uint32(head[8+4*b:]))
	}
	lo, hi := fanout(int(want[0])-1), fanout(int(want[0]))
	name := make([]byte, len(want))
	for lo < hi {
		mid := lo + (hi-lo)/2
		if _, err := f.ReadAt(name, int64(len(head))+mid*int64(len(want))); err != nil {
			return false
		}
		switch c := bytes.Compare(name, want); {
		case c == 0:
			return true
		case c < 0:
			lo = mid + 1
		default:
			hi = mid
		}
	}
	return false
}
