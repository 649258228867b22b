package agent

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func quietAgent(t testing.TB) *Agent {
	return &Agent{WorkDir: t.TempDir(), Name: "t", Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

func TestJobDirsLeftEmptyServeTheNextAttempt(t *testing.T) {
	a := quietAgent(t)
	jd, err := a.newJobDirs(1)
	if err != nil {
		t.Fatal(err)
	}
	home := inode(t, jd.home)
	// The steps' user owns HOME and may open it up; the next attempt gets it private again.
	if err := os.Chmod(jd.home, 0o777); err != nil {
		t.Fatal(err)
	}
	a.releaseJobDirs(jd, 1)
	next, err := a.newJobDirs(2)
	if err != nil {
		t.Fatal(err)
	}
	if next != jd || inode(t, next.home) != home {
		t.Fatalf("an empty set was not kept: %+v (home inode %d, was %d)", next, inode(t, next.home), home)
	}
	for dir, mode := range map[string]os.FileMode{next.home: homeMode, next.control: controlMode} {
		fi, err := os.Stat(dir)
		if err != nil || fi.Mode().Perm() != mode || !fi.IsDir() {
			t.Fatalf("%s: %v, %v; want a directory of mode %v", dir, fi.Mode(), err, mode)
		}
	}
}

func TestJobDirsLeftWithFilesAreDeletedAndMadeAfresh(t *testing.T) {
	for _, sub := range []string{"home", "control"} {
		t.Run(sub, func(t *testing.T) {
			a := quietAgent(t)
			jd, err := a.newJobDirs(7)
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(jd.root, sub)
			if err := os.MkdirAll(filepath.Join(dir, ".cache", "x"), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "secret"), []byte("s3cr3t"), 0o600); err != nil {
				t.Fatal(err)
			}
			a.releaseJobDirs(jd, 7) // no remover: deleted at once
			if _, err := os.Stat(filepath.Join(a.WorkDir, "jobs", "7")); !os.IsNotExist(err) {
				t.Fatalf("the set aside job directory is still there: %v", err)
			}
			next, err := a.newJobDirs(8)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range []string{next.home, next.control} {
				if !emptyDir(d) {
					t.Fatalf("%s is not empty for the next attempt", d)
				}
			}
		})
	}
}

func TestEmptyDir(t *testing.T) {
	dir := t.TempDir()
	if !emptyDir(dir) {
		t.Fatal("an empty directory is not empty")
	}
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	if emptyDir(link) {
		t.Fatal("a link to an empty directory counts as one")
	}
	if emptyDir(filepath.Join(dir, "missing")) {
		t.Fatal("a missing directory counts as empty")
	}
	if err := os.WriteFile(filepath.Join(dir, ".hidden"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if emptyDir(dir) {
		t.Fatal("a directory holding a dot file counts as empty")
	}
}
