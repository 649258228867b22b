// Package blob keeps the server's large byte objects (bodies too big for a
// database row) under keys. Uploads (the archives jobs of a run hand each
// other) live here now; logs and artifacts are to move here later, and an
// S3-compatible implementation is to stand beside Dir, the local directory.
//
// Keys are made by the server from its own IDs and digests (say
// "123/5f0c….tar.gz"), never from a path a client sent: a key is one or more
// "/"-separated segments of letters, digits, '.', '_' and '-', each starting
// with a letter or digit (so no segment is "." or ".."). Objects are written
// whole or not at all, and never changed in place: a new content gets a new
// key, so a reader never sees a torn object.
package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sync"
)

// Store keeps objects by key.
type Store interface {
	// Put stores the bytes of r under key, refusing (ErrMismatch, nothing
	// stored) content whose size or SHA-256 is not what want says. It
	// replaces an object of the same key. Errors reading r are returned
	// wrapped, so the caller can tell a body too large or cut short.
	Put(ctx context.Context, key string, r io.Reader, want Want) (Info, error)
	// Get reads length bytes of the object from offset off (length < 0:
	// to its end). A missing object is an error wrapping fs.ErrNotExist;
	// a range past the end reads what there is.
	Get(ctx context.Context, key string, off, length int64) (io.ReadCloser, error)
	// Delete removes the object; a missing one is no error.
	Delete(ctx context.Context, key string) error
	// List returns the keys starting with prefix, sorted.
	List(ctx context.Context, prefix string) ([]string, error)
}

// Want is what Put checks the content against.
type Want struct {
	// Size in bytes; negative when unknown (not checked).
	Size int64
	// SHA256 in lower-case hex; empty when not checked.
	SHA256 string
}

// Info is what Put stored.
type Info struct {
	Size   int64
	SHA256 string
}

// ErrMismatch is content whose size or digest is not what Put was told.
var ErrMismatch = errors.New("blob content does not match")

// ErrKey is a key that is not one a server makes.
var ErrKey = errors.New("invalid blob key")

var keyPattern = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$`)
})

// CheckKey refuses a key that is not of the form the package describes.
func CheckKey(key string) error {
	if len(key) > 1024 || !keyPattern().MatchString(key) {
		return fmt.Errorf("%w: %q", ErrKey, key)
	}
	return nil
}
