package git

import (
	"bytes"
	"compress/zlib"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// maxLooseObject bounds what TopEntries inflates of one loose object.
const maxLooseObject = 1 << 20

// TopEntries returns, for the names found at the top of commit's tree,
// their mode and object ID ("100644 <id>"; a subtree's ID covers all it
// holds), read straight from the mirror's loose objects: a commit a hook
// just fetched is loose, and reading it costs less than starting git. ok
// is false when the objects are not loose (packed, or too large), so the
// caller asks git instead.
func (m *Mirror) TopEntries(commit string, names []string) (entries map[string]string, ok bool) {
	typ, body, err := m.readLoose(commit)
	if err != nil || typ != "commit" {
		return nil, false
	}
	treeLine, _, _ := bytes.Cut(body, []byte("\n"))
	tree, found := bytes.CutPrefix(treeLine, []byte("tree "))
	if !found {
		return nil, false
	}
	typ, body, err = m.readLoose(string(tree))
	if err != nil || typ != "tree" {
		return nil, false
	}
	idLen := len(commit) / 2
	entries = map[string]string{}
	for len(body) > 0 {
		// "<mode> <name>\x00<binary id>"
		head, rest, found := bytes.Cut(body, []byte{0})
		mode, name, spaced := bytes.Cut(head, []byte(" "))
		if !found || !spaced || len(rest) < idLen {
			return nil, false
		}
		for _, n := range names {
			if string(name) == n {
				entries[n] = string(mode) + " " + hex.EncodeToString(rest[:idLen])
			}
		}
		body = rest[idLen:]
	}
	return entries, true
}

// readLoose inflates the loose object id: its type and contents.
func (m *Mirror) readLoose(id string) (typ string, body []byte, err error) {
	if len(id) < 3 || !IsCommitID(id) {
		return "", nil, fmt.Errorf("object id %q", id)
	}
	f, err := os.Open(filepath.Join(m.Dir, "objects", id[:2], id[2:]))
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	z, err := zlib.NewReader(f)
	if err != nil {
		return "", nil, err
	}
	defer z.Close()
	data, err := io.ReadAll(io.LimitReader(z, maxLooseObject+1))
	if err != nil {
		return "", nil, err
	}
	if len(data) > maxLooseObject {
		return "", nil, fmt.Errorf("object %s is over %d bytes", id, maxLooseObject)
	}
	// "<type> <size>\x00<contents>"
	header, body, found := bytes.Cut(data, []byte{0})
	typ, size, spaced := strings.Cut(string(header), " ")
	if !found || !spaced || size != fmt.Sprint(len(body)) {
		return "", nil, fmt.Errorf("object %s is damaged", id)
	}
	return typ, body, nil
}
