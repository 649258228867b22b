package agent

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// A key's hashFiles changes with the content of the files it names and
// with nothing else; a key without it is itself; bad globs are refused.
func TestCacheKeyHashesTheFilesItNames(t *testing.T) {
	ws := t.TempDir()
	writeFiles(t, ws, map[string]string{"go.sum": "a", "sub/go.sum": "b", "other.txt": "x"})
	k1, err := cacheKey("go-{{ hashFiles('go.sum', '**/go.sum') }}", ws)
	if err != nil || !strings.HasPrefix(k1, "go-") || len(k1) != 3+64 {
		t.Fatalf("key = %q, %v", k1, err)
	}
	writeFiles(t, ws, map[string]string{"other.txt": "y"})
	if k, _ := cacheKey("go-{{ hashFiles('go.sum', '**/go.sum') }}", ws); k != k1 {
		t.Errorf("a file the key does not name changed it: %q → %q", k1, k)
	}
	writeFiles(t, ws, map[string]string{"sub/go.sum": "c"})
	if k, _ := cacheKey("go-{{ hashFiles('go.sum', '**/go.sum') }}", ws); k == k1 {
		t.Errorf("changing sub/go.sum left the key %q", k)
	}
	if k, err := cacheKey("plain-1", ws); k != "plain-1" || err != nil {
		t.Errorf("plain key = %q, %v", k, err)
	}
	if k, err := cacheKey("none-{{ hashFiles('nothing.lock') }}", ws); k != "none-" || err != nil {
		t.Errorf("key over no files = %q, %v; want the empty hash", k, err)
	}
	if _, err := cacheKey("x-{{ hashFiles('../../etc/passwd') }}", ws); err == nil {
		t.Errorf("hashFiles of a path outside the workspace was accepted")
	}
}

// A cache packs the HOME's paths as home/… and the workspace's as ws/…,
// leaves links out, and unpacks into the same places; an archive that
// would write elsewhere, into the git metadata or through a link is
// refused.
func TestCacheArchiveRoundTripAndRefusals(t *testing.T) {
	home, ws := t.TempDir(), t.TempDir()
	writeFiles(t, home, map[string]string{".cache/go-build/aa/obj": "object"})
	writeFiles(t, ws, map[string]string{"vendor/m/m.go": "package m"})
	os.Symlink("/etc/passwd", filepath.Join(home, ".cache/go-build/leak"))
	var buf bytes.Buffer
	var notes []string
	st, err := packCache(&buf, home, ws, []string{"~/.cache/go-build", "vendor", "~/missing"}, func(s string) { notes = append(notes, s) })
	if err != nil || st.Files != 2 {
		t.Fatalf("packCache = %+v, %v", st, err)
	}
	if !strings.Contains(strings.Join(notes, "\n"), "leak: symbolic link, not uploaded") {
		t.Errorf("notes = %q; want the link left out", notes)
	}
	home2, ws2 := t.TempDir(), t.TempDir()
	if st, err := unpackCache(bytes.NewReader(buf.Bytes()), home2, ws2); err != nil || st.Files != 2 {
		t.Fatalf("unpackCache = %+v, %v", st, err)
	}
	if b, err := os.ReadFile(filepath.Join(home2, ".cache/go-build/aa/obj")); err != nil || string(b) != "object" {
		t.Errorf("home file = %q, %v", b, err)
	}
	if b, err := os.ReadFile(filepath.Join(ws2, "vendor/m/m.go")); err != nil || string(b) != "package m" {
		t.Errorf("workspace file = %q, %v", b, err)
	}
	if _, err := packCache(&bytes.Buffer{}, home, ws, []string{"~/nothing"}, func(string) {}); err != errNothingCached {
		t.Errorf("packing nothing = %v; want errNothingCached", err)
	}

	os.Symlink("/tmp", filepath.Join(ws2, "escape"))
	for _, name := range []string{"home/../../x", "/etc/x", "ws/.git/config", "other/x", "ws/escape/x"} {
		var b bytes.Buffer
		gz := gzip.NewWriter(&b)
		tw := tar.NewWriter(gz)
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Size: 1, Mode: 0o644})
		tw.Write([]byte("x"))
		tw.Close()
		gz.Close()
		if _, err := unpackCache(&b, home2, ws2); err == nil {
			t.Errorf("an archive entry %q was unpacked", name)
		}
	}
}
