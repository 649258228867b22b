package agent

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// files writes path → content under dir (a trailing "/" makes a directory).
func files(t *testing.T, dir string, fs map[string]string) {
	t.Helper()
	for p, content := range fs {
		full := filepath.Join(dir, p)
		if strings.HasSuffix(p, "/") {
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// What the globs match travels whole: files with their content and mode,
// nested and empty directories; links, git metadata and unmatched files stay.
func TestPackThenUnpackCarriesFilesAndDirectories(t *testing.T) {
	src, dst, outside := t.TempDir(), t.TempDir(), t.TempDir()
	files(t, src, map[string]string{
		"dist/app.txt":           "app",
		"dist/lib/deep/util.txt": "util",
		"dist/empty/":            "",
		"report.xml":             "<ok/>",
		"src/main.go":            "package main",
		".git":                   "gitdir: /elsewhere",
	})
	files(t, outside, map[string]string{"secret": "not for upload"})
	if err := os.WriteFile(filepath.Join(src, "dist/run.sh"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{"dist/passwd": filepath.Join(outside, "secret"), "dist/out": outside, "dist/inner": "app.txt"} {
		if err := os.Symlink(target, filepath.Join(src, link)); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	var notes []string
	st, err := pack(&buf, src, []string{"dist/**", "*.xml", "nothing/*", "**/.git"}, func(s string) { notes = append(notes, s) })
	if err != nil {
		t.Fatalf("pack: %v", err)
	}
	if st.Files != 4 || st.Dirs != 4 {
		t.Errorf("packed %v; want 4 files and 4 directories (dist, dist/lib, dist/lib/deep, dist/empty)", st)
	}
	for _, want := range []string{"dist/passwd: symbolic link", "dist/out: symbolic link", "dist/inner: symbolic link", "nothing/*: matches nothing"} {
		if !slices.ContainsFunc(notes, func(n string) bool { return strings.HasPrefix(n, want) }) {
			t.Errorf("notes %q lack %q", notes, want)
		}
	}

	got, err := unpack(bytes.NewReader(buf.Bytes()), dst, defaultUnpackLimits)
	if err != nil {
		t.Fatalf("unpack: %v", err)
	}
	if got != st {
		t.Errorf("unpacked %v, packed %v", got, st)
	}
	for p, want := range map[string]string{"dist/app.txt": "app", "dist/lib/deep/util.txt": "util", "report.xml": "<ok/>", "dist/run.sh": "#!/bin/sh\n"} {
		b, err := os.ReadFile(filepath.Join(dst, p))
		if err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", p, b, err, want)
		}
	}
	if fi, err := os.Stat(filepath.Join(dst, "dist/run.sh")); err != nil || fi.Mode().Perm()&0o100 == 0 {
		t.Errorf("dist/run.sh lost its executable bit: %v %v", fi.Mode(), err)
	}
	if fi, err := os.Stat(filepath.Join(dst, "dist/empty")); err != nil || !fi.IsDir() {
		t.Errorf("dist/empty: %v; want an empty directory", err)
	}
	// A directory written with a trailing slash, and a path with a leading
	// "./", are the same paths: "stat dist/: invalid argument" failed the job.
	var again bytes.Buffer
	if st2, err := pack(&again, src, []string{"dist/", "./report.xml"}, func(string) {}); err != nil || st2 != st {
		t.Errorf("pack of dist/ and ./report.xml: %v, %v; want %v, as dist/** and *.xml", st2, err, st)
	}
	for _, p := range []string{"src/main.go", ".git", "dist/passwd", "dist/out", "dist/inner"} {
		if _, err := os.Lstat(filepath.Join(dst, p)); !os.IsNotExist(err) {
			t.Errorf("%s was carried over (%v); it should not be", p, err)
		}
	}
}

func TestPackRefusesGlobsOutsideTheWorkspaceAndEmptyUploads(t *testing.T) {
	ws := t.TempDir()
	files(t, ws, map[string]string{"a.txt": "a"})
	for _, c := range []struct{ glob, want string }{
		{"../x", `"../x": '..' would leave the workspace`},
		{"dist/../../x", `"dist/../../x": '..' would leave the workspace`},
		{`\.\./x`, `"\\.\\./x": '..' would leave the workspace`},
		{"[.][.]/x", `"[.][.]/x": '..' would leave the workspace`},
		{"{..,src}/x", `"{..,src}/x": '..' would leave the workspace`},
		{"src/{a,..}", `"src/{a,..}": '..' would leave the workspace`},
		{"/etc/passwd", `"/etc/passwd": paths are relative to the workspace`},
		{"[unclosed", `"[unclosed" is not a valid glob`},
		{"dist/**", `no files match dist/**`},
	} {
		_, err := pack(&bytes.Buffer{}, ws, []string{c.glob}, func(string) {})
		if err == nil || err.Error() != c.want {
			t.Errorf("pack %q: %v; want exactly %q", c.glob, err, c.want)
		}
	}
	// Names that only look like "..": allowed.
	files(t, ws, map[string]string{"a..b/x": "x", "..c": "c"})
	if _, err := pack(&bytes.Buffer{}, ws, []string{"a..b/*", "..c"}, func(string) {}); err != nil {
		t.Errorf("pack of names holding dots: %v", err)
	}

	// A glob naming a linked directory before its wildcard reaches through
	// the link; what it finds there is left out.
	outside := t.TempDir()
	files(t, outside, map[string]string{"secret": "s"})
	if err := os.Symlink(outside, filepath.Join(ws, "outlink")); err != nil {
		t.Fatal(err)
	}
	var notes []string
	_, err := pack(&bytes.Buffer{}, ws, []string{"outlink/*"}, func(n string) { notes = append(notes, n) })
	if err == nil || !slices.Contains(notes, "outlink/*: reached through the symbolic link outlink, not uploaded") {
		t.Errorf("pack through a link: %v, notes %q; want it left out", err, notes)
	}
}

// entry is one header (and content) of a hand-made archive.
type entry struct {
	name, body, link string
	flag             byte
}

func archive(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		flag := e.flag
		if flag == 0 {
			flag = tar.TypeReg
		}
		hdr := &tar.Header{Name: e.name, Typeflag: flag, Mode: 0o644, Linkname: e.link, Size: int64(len(e.body))}
		if flag != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Size > 0 {
			tw.Write([]byte(e.body))
		}
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

// A download can only put regular files and directories inside the
// workspace: paths that leave it, links, devices, the git metadata and
// writes through links already in the workspace fail it, naming the entry.
func TestUnpackRefusesWhatCouldLeaveTheWorkspace(t *testing.T) {
	for _, c := range []struct {
		name    string
		entries []entry
		want    string
	}{
		{"parent", []entry{{name: "../x", body: "x"}}, `archive entry "../x": '..' would leave the workspace`},
		{"nested parent", []entry{{name: "a/../../x", body: "x"}}, `archive entry "a/../../x": '..' would leave the workspace`},
		{"absolute", []entry{{name: "/tmp/x", body: "x"}}, `archive entry "/tmp/x": absolute paths are refused`},
		{"symlink", []entry{{name: "link", link: "/etc", flag: tar.TypeSymlink}}, `archive entry "link" is a symbolic link; only regular files and directories are downloaded`},
		{"hard link", []entry{{name: "hard", link: "/etc/passwd", flag: tar.TypeLink}}, `archive entry "hard" is a hard link; only regular files and directories are downloaded`},
		{"device", []entry{{name: "dev", flag: tar.TypeChar}}, `archive entry "dev" is a device file; only regular files and directories are downloaded`},
		{"fifo", []entry{{name: "pipe", flag: tar.TypeFifo}}, `archive entry "pipe" is a named pipe; only regular files and directories are downloaded`},
		{"git metadata", []entry{{name: ".git/config", body: "x"}}, `archive entry ".git/config": the workspace's git metadata is not overwritten`},
		{"through a linked dir", []entry{{name: "escape/x", body: "x"}}, `archive entry "escape/x": escape is a symbolic link in the workspace; refusing to write through it`},
		{"not a gzip", nil, "not a gzipped tar archive: gzip: invalid header"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ws, outside := t.TempDir(), t.TempDir()
			if err := os.Symlink(outside, filepath.Join(ws, "escape")); err != nil {
				t.Fatal(err)
			}
			data := []byte("plain text")
			if c.entries != nil {
				data = archive(t, c.entries...)
			}
			_, err := unpack(bytes.NewReader(data), ws, defaultUnpackLimits)
			if err == nil || err.Error() != c.want {
				t.Fatalf("unpack: %v; want exactly %q", err, c.want)
			}
			if left, _ := os.ReadDir(outside); len(left) != 0 {
				t.Errorf("unpack wrote outside the workspace: %v", left)
			}
		})
	}
}

// A file in the workspace that is a link to outside is replaced by the
// downloaded file, never written through.
func TestUnpackReplacesALinkInsteadOfWritingThroughIt(t *testing.T) {
	ws, outside := t.TempDir(), t.TempDir()
	target := filepath.Join(outside, "victim")
	if err := os.WriteFile(target, []byte("untouched"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(ws, "out.txt")); err != nil {
		t.Fatal(err)
	}
	if _, err := unpack(bytes.NewReader(archive(t, entry{name: "./out.txt", body: "new"})), ws, defaultUnpackLimits); err != nil {
		t.Fatalf("unpack: %v", err)
	}
	if b, _ := os.ReadFile(target); string(b) != "untouched" {
		t.Errorf("the link's target now holds %q", b)
	}
	fi, err := os.Lstat(filepath.Join(ws, "out.txt"))
	if err != nil || !fi.Mode().IsRegular() {
		t.Errorf("out.txt = %v, %v; want a regular file", fi, err)
	}
}

func TestUnpackStopsAtItsLimits(t *testing.T) {
	data := archive(t, entry{name: "a", body: "0123456789"}, entry{name: "b", body: "0123456789"})
	if _, err := unpack(bytes.NewReader(data), t.TempDir(), unpackLimits{Bytes: 15, Entries: 10}); err == nil ||
		err.Error() != `archive entry "b": the archive unpacks to more than 15 B` {
		t.Errorf("unpack past the byte limit: %q", err)
	}
	if _, err := unpack(bytes.NewReader(data), t.TempDir(), unpackLimits{Bytes: 100, Entries: 1}); err == nil ||
		err.Error() != "archive holds more than 1 entries" {
		t.Errorf("unpack past the entry limit: %q", err)
	}
}

// `**` packs the whole workspace but its git metadata, and what it packs
// unpacks (the workspace itself is not an entry).
func TestPackOfTheWholeWorkspaceLeavesGitOut(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	files(t, src, map[string]string{".git": "gitdir: /elsewhere", ".env": "hidden", "a/b/c.txt": "c"})
	var buf bytes.Buffer
	st, err := pack(&buf, src, []string{"**"}, func(string) {})
	if err != nil || st.Files != 2 || st.Dirs != 2 {
		t.Fatalf("pack ** = %v, %v; want .env and a/b/c.txt in a and a/b", st, err)
	}
	if _, err := unpack(&buf, dst, defaultUnpackLimits); err != nil {
		t.Fatalf("unpack: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(dst, ".git")); !os.IsNotExist(err) {
		t.Errorf(".git was carried over: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(dst, "a/b/c.txt")); err != nil || string(b) != "c" {
		t.Errorf("a/b/c.txt = %q, %v", b, err)
	}
}
