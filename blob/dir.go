package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Dir is a Store in a local directory: the object of key a/b is the file
// Root/a/b. Put writes a temporary file in Root/tmp, syncs it, checks it,
// and renames it into place, so an object is whole or absent even across
// a crash; the first segment of a key may therefore not be "tmp".
type Dir struct {
	Root string
}

// NewDir returns the Store in directory root (created when first written).
func NewDir(root string) *Dir { return &Dir{Root: root} }

// tmpDir holds the files being written.
const tmpDir = "tmp"

func (d *Dir) path(key string) (string, error) {
	if err := CheckKey(key); err != nil {
		return "", err
	}
	if first, _, _ := strings.Cut(key, "/"); first == tmpDir || !filepath.IsLocal(filepath.FromSlash(key)) {
		return "", fmt.Errorf("%w: %q", ErrKey, key)
	}
	return filepath.Join(d.Root, filepath.FromSlash(key)), nil
}

// Put implements Store.
func (d *Dir) Put(ctx context.Context, key string, r io.Reader, want Want) (Info, error) {
	final, err := d.path(key)
	if err != nil {
		return Info{}, err
	}
	tmp := filepath.Join(d.Root, tmpDir)
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return Info{}, fmt.Errorf("blob %s: %w", key, err)
	}
	f, err := openTemp(tmp)
	if err != nil {
		return Info{}, fmt.Errorf("blob %s: %w", key, err)
	}
	fail := func(err error) (Info, error) {
		f.Close()
		os.Remove(f.Name())
		return Info{}, err
	}
	n, digest, err := copyHashed(ctx, f, contextReader{ctx, r})
	if err != nil {
		return fail(fmt.Errorf("blob %s: %w", key, err))
	}
	info := Info{Size: n, SHA256: digest}
	if want.Size >= 0 && n != want.Size {
		return fail(fmt.Errorf("blob %s: %d bytes, want %d: %w", key, n, want.Size, ErrMismatch))
	}
	if want.SHA256 != "" && info.SHA256 != want.SHA256 {
		return fail(fmt.Errorf("blob %s: SHA-256 %s, want %s: %w", key, info.SHA256, want.SHA256, ErrMismatch))
	}
	// Durable before it is in place: a crash must not leave a torn object
	// under its key.
	if err := f.Sync(); err != nil {
		return fail(fmt.Errorf("blob %s: %w", key, err))
	}
	if err := f.Close(); err != nil {
		return fail(fmt.Errorf("blob %s: %w", key, err))
	}
	// A Delete may remove the directory, emptied, between the two: once more.
	for try := 0; ; try++ {
		if err := os.MkdirAll(filepath.Dir(final), 0o700); err != nil {
			return fail(fmt.Errorf("blob %s: %w", key, err))
		}
		err := os.Rename(f.Name(), final)
		if err == nil {
			return info, nil
		}
		if try > 0 || !errors.Is(err, fs.ErrNotExist) {
			return fail(fmt.Errorf("blob %s: %w", key, err))
		}
	}
}

// contextReader stops a copy once ctx ends.
type contextReader struct {
	ctx context.Context
	r   io.Reader
}

func (c contextReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Get implements Store.
func (d *Dir) Get(ctx context.Context, key string, off, length int64) (io.ReadCloser, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	if off < 0 {
		return nil, fmt.Errorf("blob %s: negative offset %d", key, off)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", key, err)
	}
	if off > 0 {
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			f.Close()
			return nil, fmt.Errorf("blob %s: %w", key, err)
		}
	}
	if length < 0 {
		return f, nil
	}
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(f, length), f}, nil
}

// Delete implements Store.
func (d *Dir) Delete(ctx context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob %s: %w", key, err)
	}
	// Directories left empty go too (one still in use is not empty).
	for dir := filepath.Dir(p); dir != filepath.Clean(d.Root); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil {
			break
		}
	}
	return nil
}

// List implements Store.
func (d *Dir) List(ctx context.Context, prefix string) ([]string, error) {
	var keys []string
	err := filepath.WalkDir(d.Root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if p == d.Root && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(d.Root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if e.IsDir() {
			// Skip the temporary files, and directories no key under prefix is in.
			if key == tmpDir || (key != "." && !strings.HasPrefix(key+"/", prefix) && !strings.HasPrefix(prefix, key+"/")) {
				return fs.SkipDir
			}
			return nil
		}
		if strings.HasPrefix(key, prefix) && CheckKey(key) == nil {
			keys = append(keys, key)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("blob list %q: %w", prefix, err)
	}
	slices.Sort(keys)
	return keys, nil
}

// RemoveUnfinished removes the temporary files of writes a stop cut short.
// Call it before serving.
func (d *Dir) RemoveUnfinished() error {
	if err := os.RemoveAll(filepath.Join(d.Root, tmpDir)); err != nil {
		return fmt.Errorf("remove unfinished blobs: %w", err)
	}
	return nil
}
