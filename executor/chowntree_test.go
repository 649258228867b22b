package executor

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
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

// What the user owns already is not changed again, so its ctime stays
// (git compares ctimes with its index: a kept workspace chowned whole
// before each job had git hash every file again); what another user owns
// in it is given away.
func TestChownTreeLeavesWhatTheUserOwnsAsItIs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown to another user needs root")
	}
	const uid, gid = 65534, 65534
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"kept", "sub/kept", "sub/rewritten"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := chownTree(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	ctimes := map[string]syscall.Timespec{}
	for _, p := range []string{"", "sub", "kept", "sub/kept"} {
		ctimes[p] = stat(t, filepath.Join(dir, p)).Ctim
	}
	// As git checking out as root does: one file written anew.
	rewritten := filepath.Join(dir, "sub/rewritten")
	if err := os.Remove(rewritten); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rewritten, []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	if st := stat(t, rewritten); st.Uid != 0 {
		t.Fatalf("the rewritten file is owned by %d; want root", st.Uid)
	}
	// And a directory made anew, with a file in it.
	made := filepath.Join(dir, "sub/new/file")
	if err := os.MkdirAll(filepath.Dir(made), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(made, []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The directory's ctime changed with the file made in it; take it again.
	ctimes["sub"] = stat(t, filepath.Join(dir, "sub")).Ctim
	time.Sleep(20 * time.Millisecond) // past the file system's timestamp granularity
	if err := chownTree(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{rewritten, filepath.Dir(made), made} {
		if st := stat(t, p); st.Uid != uid || st.Gid != gid {
			t.Errorf("%s, made by root, is owned by %d:%d; want %d:%d", p, st.Uid, st.Gid, uid, gid)
		}
	}
	for p, before := range ctimes {
		if after := stat(t, filepath.Join(dir, p)).Ctim; after != before {
			t.Errorf("%q, owned by the user already, was changed again: ctime %v → %v", p, before, after)
		}
	}
}

func stat(t *testing.T, path string) *syscall.Stat_t {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t)
}
