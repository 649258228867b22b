package executor

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// chownTree gives everything under a directory, nested directories,
// files, links and the directory itself, to the user, and never what a
// link points to.
func TestChownTreeOwnsAllAndFollowsNoLink(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown to another user needs root")
	}
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret")
	if err := os.WriteFile(secret, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, d := range []string{"a/b/c", "d", "e/f"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"top", "a/one", "a/b/two", "a/b/c/three", "e/f/four"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for link, to := range map[string]string{"to-outside-dir": outside, "a/to-secret": secret, "d/dangling": "/no/such"} {
		if err := os.Symlink(to, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	const uid, gid = 65534, 65534
	if err := chownTree(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	n := 0
	err := filepath.WalkDir(dir, func(p string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != uid || st.Gid != gid {
			t.Errorf("%s is owned by %d:%d; want %d:%d", p, st.Uid, st.Gid, uid, gid)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 15 {
		t.Errorf("walked %d entries; want 15 (the directory, 6 directories, 5 files, 3 links)", n)
	}
	for _, p := range []string{outside, secret} {
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Uid == uid {
			t.Errorf("%s, a link's target, was given away", p)
		}
	}
	// A file alone (a FIFO the agent made, say) is changed as it is.
	if err := chownTree(filepath.Join(dir, "top"), 0, 0); err != nil {
		t.Fatal(err)
	}
}
