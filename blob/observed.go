package blob

import (
	"context"
	"io"
	"time"
)

// Observed is a Store that tells Observe how long each operation on the
// Store inside it took, for /metrics: op is put, get, delete or list, and
// err the operation's error (a Get is timed to its answer, not to the end
// of reading it).
type Observed struct {
	Store
	Observe func(op string, d time.Duration, err error)
}

// Put implements Store.
func (o Observed) Put(ctx context.Context, key string, r io.Reader, want Want) (Info, error) {
	start := time.Now()
	info, err := o.Store.Put(ctx, key, r, want)
	o.Observe("put", time.Since(start), err)
	return info, err
}

// Get implements Store.
func (o Observed) Get(ctx context.Context, key string, off, length int64) (io.ReadCloser, error) {
	start := time.Now()
	rc, err := o.Store.Get(ctx, key, off, length)
	o.Observe("get", time.Since(start), err)
	return rc, err
}

// Delete implements Store.
func (o Observed) Delete(ctx context.Context, key string) error {
	start := time.Now()
	err := o.Store.Delete(ctx, key)
	o.Observe("delete", time.Since(start), err)
	return err
}

// List implements Store.
func (o Observed) List(ctx context.Context, prefix string) ([]string, error) {
	start := time.Now()
	keys, err := o.Store.List(ctx, prefix)
	o.Observe("list", time.Since(start), err)
	return keys, err
}

// RemoveUnfinished removes what the inner store's interrupted writes left,
// when it keeps any (a directory's temporary files, an S3 bucket's old
// multipart uploads).
func (o Observed) RemoveUnfinished() error {
	if u, ok := o.Store.(interface{ RemoveUnfinished() error }); ok {
		return u.RemoveUnfinished()
	}
	return nil
}
