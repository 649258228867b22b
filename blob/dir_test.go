package blob

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func get(t *testing.T, d Store, key string, off, n int64) string {
	t.Helper()
	r, err := d.Get(t.Context(), key, off, n)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// files lists every file under root, temporary ones included.
func files(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			rel, _ := filepath.Rel(root, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	return out
}

// What the directory leaves on disk (the behaviour every store shares is
// in store_test.go's conformance tests): a put leaves the object alone,
// no temporary file; refused puts leave nothing and the old object as it
// was; a delete removes the directories it empties; an absent root lists
// as empty.
func TestDirLeavesOnlyItsObjects(t *testing.T) {
	ctx := t.Context()
	d := NewDir(filepath.Join(t.TempDir(), "blobs"))
	if empty, err := d.List(ctx, ""); err != nil || len(empty) != 0 {
		t.Errorf("list of an absent directory: %q, %v", empty, err)
	}
	old := []byte("old content")
	if _, err := d.Put(ctx, "1/x", bytes.NewReader(old), Want{Size: -1}); err != nil {
		t.Fatal(err)
	}
	if got := files(t, d.Root); !slices.Equal(got, []string{"1/x"}) {
		t.Errorf("files after put: %q, want the object alone (no temporary file left)", got)
	}
	body := []byte("new content")
	for name, c := range map[string]struct {
		r    func() io.Reader
		want Want
	}{
		"size":   {func() io.Reader { return bytes.NewReader(body) }, Want{Size: 5, SHA256: sum(body)}},
		"sha":    {func() io.Reader { return bytes.NewReader(body) }, Want{Size: -1, SHA256: sum([]byte("other"))}},
		"reader": {func() io.Reader { return iotest.TimeoutReader(bytes.NewReader(body)) }, Want{Size: -1}},
	} {
		for _, key := range []string{"1/x", "2/new"} {
			if _, err := d.Put(ctx, key, c.r(), c.want); err == nil {
				t.Errorf("%s mismatch on %s: stored", name, key)
			}
		}
	}
	if got := files(t, d.Root); !slices.Equal(got, []string{"1/x"}) {
		t.Errorf("files after refused puts: %q, want the old object alone", got)
	}
	for _, k := range []string{"12/a", "12/b"} {
		if _, err := d.Put(ctx, k, strings.NewReader(k), Want{Size: -1}); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []string{"12/a", "12/b"} {
		if err := d.Delete(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(d.Root, "12")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("emptied directory 12 still there: %v", err)
	}
}

// Objects larger than a block, of sizes that are not a multiple of the
// direct I/O alignment, are stored byte for byte, on a disk file system
// (direct I/O) and on tmpfs where there is one (no direct I/O): the tail
// is written through the page cache, the rest directly.
func TestDirPutLargeUnaligned(t *testing.T) {
	roots := []string{t.TempDir()}
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		shm, err := os.MkdirTemp("/dev/shm", "blobtest-")
		if err == nil {
			t.Cleanup(func() { os.RemoveAll(shm) })
			roots = append(roots, shm)
		}
	}
	body := make([]byte, 2*blockSize+directAlign+123)
	for i := range body {
		body[i] = byte(i*7 + i>>12)
	}
	for _, root := range roots {
		d := NewDir(filepath.Join(root, "blobs"))
		if f, err := openTemp(root); err == nil {
			t.Logf("%s: direct I/O %v", root, f.direct)
			f.Close()
			os.Remove(f.Name())
		}
		for _, size := range []int{0, 1, directAlign, firstBlockSize, firstBlockSize + 1, blockSize, blockSize + 1, len(body)} {
			key := fmt.Sprintf("big/%d", size)
			info, err := d.Put(t.Context(), key, iotest.HalfReader(bytes.NewReader(body[:size])), Want{Size: int64(size), SHA256: sum(body[:size])})
			if err != nil || info.Size != int64(size) {
				t.Fatalf("%s: put %d bytes: %+v %v", root, size, info, err)
			}
			got, err := os.ReadFile(filepath.Join(d.Root, filepath.FromSlash(key)))
			if err != nil || !bytes.Equal(got, body[:size]) {
				t.Fatalf("%s: %d bytes stored as %d bytes (%v)", root, size, len(got), err)
			}
		}
	}
}

// A body that fails after several blocks leaves nothing behind.
func TestDirPutFailsMidway(t *testing.T) {
	d := NewDir(filepath.Join(t.TempDir(), "blobs"))
	boom := errors.New("connection reset")
	r := io.MultiReader(bytes.NewReader(make([]byte, 2*blockSize+5)), iotest.ErrReader(boom))
	if _, err := d.Put(t.Context(), "x/y", r, Want{Size: -1}); !errors.Is(err, boom) {
		t.Fatalf("put: %v, want %v", err, boom)
	}
	if f := files(t, d.Root); len(f) != 0 {
		t.Fatalf("left behind: %v", f)
	}
}
