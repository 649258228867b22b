package blob

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/lathe-ci/lathe/internal/s3test"
)

// stores are the implementations every conformance test runs against:
// each makes an empty store for a test.
var stores = map[string]func(t testing.TB) Store{
	"dir": func(t testing.TB) Store { return NewDir(filepath.Join(t.TempDir(), "blobs")) },
	"s3": func(t testing.TB) Store {
		srv := s3test.Start(t, "lathe")
		s, err := NewS3(t.Context(), S3Options{Bucket: "lathe", Prefix: "replica-set/one", Endpoint: srv.Endpoint,
			Region: srv.Region, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey})
		if err != nil {
			t.Fatal(err)
		}
		return s.Sub("uploads")
	},
}

func conformance(t *testing.T, test func(t *testing.T, s Store)) {
	for name, make := range stores {
		t.Run(name, func(t *testing.T) { test(t, make(t)) })
	}
}

func TestStorePutGetRange(t *testing.T) {
	conformance(t, func(t *testing.T, d Store) {
		ctx := t.Context()
		body := []byte("0123456789")
		info, err := d.Put(ctx, "7/a.tar.gz", bytes.NewReader(body), Want{Size: 10, SHA256: sum(body)})
		if err != nil || info != (Info{Size: 10, SHA256: sum(body)}) {
			t.Fatalf("put: %+v, %v", info, err)
		}
		for _, c := range []struct {
			off, n int64
			want   string
		}{{0, -1, "0123456789"}, {3, 4, "3456"}, {8, -1, "89"}, {8, 100, "89"}, {10, -1, ""}, {20, 5, ""}, {2, 0, ""}} {
			if got := get(t, d, "7/a.tar.gz", c.off, c.n); got != c.want {
				t.Errorf("range %d+%d: %q, want %q", c.off, c.n, got, c.want)
			}
		}
		if _, err := d.Get(ctx, "7/missing", 0, -1); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("get missing: %v, want ErrNotExist", err)
		}
		if _, err := d.Get(ctx, "7/missing", 3, 2); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("get a range of a missing object: %v, want ErrNotExist", err)
		}
		// Unknown size and digest: what was stored is reported.
		big := bytes.Repeat([]byte("lathe "), 1<<20) // 6 MiB: more than one write
		info, err = d.Put(ctx, "7/big", bytes.NewReader(big), Want{Size: -1})
		if err != nil || info != (Info{Size: int64(len(big)), SHA256: sum(big)}) {
			t.Fatalf("put big: %+v, %v", info, err)
		}
		if got := get(t, d, "7/big", 0, -1); got != string(big) {
			t.Errorf("big object read back: %d bytes, want %d", len(got), len(big))
		}
		info, err = d.Put(ctx, "7/empty", bytes.NewReader(nil), Want{Size: 0, SHA256: sum(nil)})
		if err != nil || info != (Info{Size: 0, SHA256: sum(nil)}) {
			t.Fatalf("put empty: %+v, %v", info, err)
		}
		if got := get(t, d, "7/empty", 0, -1); got != "" {
			t.Errorf("empty object read back: %q", got)
		}
	})
}

// A put whose content is not what it was told, or whose reader fails, is
// refused and leaves nothing: not the new object, and the object it would
// have replaced is untouched.
func TestStorePutRefusedLeavesNothing(t *testing.T) {
	conformance(t, func(t *testing.T, d Store) {
		ctx := t.Context()
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
			"short":     {func() io.Reader { return bytes.NewReader(body) }, Want{Size: 50, SHA256: sum(body)}, ErrMismatch},
			"long":      {func() io.Reader { return bytes.NewReader(body) }, Want{Size: 5, SHA256: sum(body)}, ErrMismatch},
			"not empty": {func() io.Reader { return bytes.NewReader(body) }, Want{Size: 0}, ErrMismatch},
			"sha":       {func() io.Reader { return bytes.NewReader(body) }, Want{Size: -1, SHA256: sum([]byte("other"))}, ErrMismatch},
			"sha sized": {func() io.Reader { return bytes.NewReader(body) }, Want{Size: int64(len(body)), SHA256: sum([]byte("other"))}, ErrMismatch},
			"reader":    {func() io.Reader { return iotest.TimeoutReader(bytes.NewReader(body)) }, Want{Size: -1}, iotest.ErrTimeout},
		} {
			for _, key := range []string{"1/x", "2/new"} {
				if _, err := d.Put(ctx, key, c.r(), c.want); !errors.Is(err, c.is) {
					t.Errorf("%s mismatch on %s: %v, want %v", name, key, err, c.is)
				}
			}
		}
		if got, err := d.List(ctx, ""); err != nil || !slices.Equal(got, []string{"1/x"}) {
			t.Errorf("keys after refused puts: %q, %v, want the old object alone", got, err)
		}
		if got := get(t, d, "1/x", 0, -1); got != string(old) {
			t.Errorf("old object now %q", got)
		}
	})
}

func TestStoreListDeleteAndKeys(t *testing.T) {
	conformance(t, func(t *testing.T, d Store) {
		ctx := t.Context()
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
		for _, k := range []string{"12/a", "12/b", "12/b", "9/never"} {
			if err := d.Delete(ctx, k); err != nil {
				t.Fatal(err)
			}
		}
		if got := list(""); !slices.Equal(got, []string{"123/a", "2/a"}) {
			t.Errorf("list after delete: %q", got)
		}
		for _, k := range []string{"", "/a", "a/", "../a", "a/../b", "a//b", ".a", "a/./b", "tmp/x", `a\b`, "a b"} {
			if _, err := d.Put(ctx, k, strings.NewReader("x"), Want{Size: -1}); !errors.Is(err, ErrKey) {
				t.Errorf("put %q: %v, want ErrKey", k, err)
			}
			if _, err := d.Get(ctx, k, 0, -1); !errors.Is(err, ErrKey) {
				t.Errorf("get %q: %v, want ErrKey", k, err)
			}
		}
		if got := list("nothing/"); len(got) != 0 {
			t.Errorf("list of an absent prefix: %q", got)
		}
	})
}
