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

func TestDirPutGetRange(t *testing.T) {
	ctx := t.Context()
	d := NewDir(filepath.Join(t.TempDir(), "blobs"))
	body := []byte("0123456789")
	info, err := d.Put(ctx, "7/a.tar.gz", bytes.NewReader(body), Want{Size: 10, SHA256: sum(body)})
	if err != nil || info != (Info{Size: 10, SHA256: sum(body)}) {
		t.Fatalf("put: %+v, %v", info, err)
	}
	for _, c := range []struct {
		off, n int64
		want   string
	}{{0, -1, "0123456789"}, {3, 4, "3456"}, {8, -1, "89"}, {8, 100, "89"}, {10, -1, ""}, {20, 5, ""}} {
		if got := get(t, d, "7/a.tar.gz", c.off, c.n); got != c.want {
			t.Errorf("range %d+%d: %q, want %q", c.off, c.n, got, c.want)
		}
	}
	if got := files(t, d.Root); !slices.Equal(got, []string{"7/a.tar.gz"}) {
		t.Errorf("files after put: %q, want the object alone (no temporary file left)", got)
	}
	if _, err := d.Get(ctx, "7/missing", 0, -1); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("get missing: %v, want ErrNotExist", err)
	}
}

// A put whose content is not what it was told, or whose reader fails, is
// refused and leaves nothing: not the new object, not a temporary file, and
// the object it would have replaced is untouched.
func TestDirPutRefusedLeavesNothing(t *testing.T) {
	ctx := t.Context()
	d := NewDir(t.TempDir())
	old := []byte("old content")
	if _, err := d.Put(ctx, "1/x", bytes.NewReader(old), Want{Size: -1}); err != nil {
		t.Fatal(err)
	}
	body := []byte("new content")
	for name, c := range map[string]struct {
		r    func() io.Reader
		want Want
		is   error
	}{
		"size":   {func() io.Reader { return bytes.NewReader(body) }, Want{Size: 5, SHA256: sum(body)}, ErrMismatch},
		"sha":    {func() io.Reader { return bytes.NewReader(body) }, Want{Size: -1, SHA256: sum([]byte("other"))}, ErrMismatch},
		"reader": {func() io.Reader { return iotest.TimeoutReader(bytes.NewReader(body)) }, Want{Size: -1}, iotest.ErrTimeout},
	} {
		for _, key := range []string{"1/x", "2/new"} {
			if _, err := d.Put(ctx, key, c.r(), c.want); !errors.Is(err, c.is) {
				t.Errorf("%s mismatch on %s: %v, want %v", name, key, err, c.is)
			}
		}
	}
	if got := files(t, d.Root); !slices.Equal(got, []string{"1/x"}) {
		t.Errorf("files after refused puts: %q, want the old object alone", got)
	}
	if got := get(t, d, "1/x", 0, -1); got != string(old) {
		t.Errorf("old object now %q", got)
	}
}

func TestDirListDeleteAndKeys(t *testing.T) {
	ctx := t.Context()
	d := NewDir(t.TempDir())
	for _, k := range []string{"12/a", "12/b", "123/a", "2/a"} {
		if _, err := d.Put(ctx, k, strings.NewReader(k), Want{Size: -1}); err != nil {
			t.Fatal(err)
		}
	}
	list := func(prefix string) []string {
		t.Helper()
		keys, err := d.List(ctx, prefix)
		if err != nil {
			t.Fatal(err)
		}
		return keys
	}
	if got := list(""); !slices.Equal(got, []string{"12/a", "12/b", "123/a", "2/a"}) {
		t.Errorf("list all: %q", got)
	}
	if got := list("12/"); !slices.Equal(got, []string{"12/a", "12/b"}) {
		t.Errorf("list 12/: %q", got)
	}
	for _, k := range []string{"12/a", "12/b", "12/b"} {
		if err := d.Delete(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(d.Root, "12")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("emptied directory 12 still there: %v", err)
	}
	if got := list(""); !slices.Equal(got, []string{"123/a", "2/a"}) {
		t.Errorf("list after delete: %q", got)
	}
	for _, k := range []string{"", "/a", "a/", "../a", "a/../b", "a//b", ".a", "a/./b", "tmp/x", `a\b`, "a b"} {
		if _, err := d.Put(ctx, k, strings.NewReader("x"), Want{Size: -1}); !errors.Is(err, ErrKey) {
			t.Errorf("put %q: %v, want ErrKey", k, err)
		}
	}
	if empty, err := NewDir(filepath.Join(t.TempDir(), "absent")).List(ctx, ""); err != nil || len(empty) != 0 {
		t.Errorf("list of an absent directory: %q, %v", empty, err)
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
