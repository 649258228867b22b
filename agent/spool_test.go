package agent

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/lathe-ci/lathe/secret"
)

func testShipper(t *testing.T, dir string, attempt int64) *shipper {
	t.Helper()
	s, err := newShipper(nil, attempt, filepath.Join(dir, "a.log"), filepath.Join(dir, spareSpool), 0,
		slog.New(slog.NewTextHandler(io.Discard, nil)), func() {})
	if err != nil {
		t.Fatal(err)
	}
	close(s.finished) // as if Run had returned
	return s
}

func TestASpoolNoOneElseHeldIsKeptEmptyAsTheSpare(t *testing.T) {
	for name, masked := range map[string]bool{"plain": false, "masked": true} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			s := testShipper(t, dir, 1)
			if masked {
				s.maskSecrets(secret.NewMasks([]string{"s3cr3t-value"}))
			}
			s.Write([]byte("the first attempt's line\n"))
			w, err := s.StartOutput() // given to the job's processes …
			if err != nil {
				t.Fatal(err)
			}
			w.WriteString("a step's line\n")
			if err := s.EndOutput(); err != nil { // … which have all ended
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(s.spool.Name()); string(b) != "the first attempt's line\na step's line\n" {
				t.Fatalf("spool = %q", b)
			}
			ino := inode(t, s.spool.Name())
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			spare := filepath.Join(dir, spareSpool)
			if fi, err := os.Stat(spare); err != nil || fi.Size() != 0 {
				t.Fatalf("spare %v, %v; want an empty file", fi, err)
			}
			if _, err := os.Stat(filepath.Join(dir, "a.log")); !os.IsNotExist(err) {
				t.Fatalf("the attempt's spool is still there: %v", err)
			}
			next := testShipper(t, dir, 2)
			if inode(t, next.spool.Name()) != ino {
				t.Fatal("the next spool is not the spare")
			}
			if next.Offset() != 0 {
				t.Fatalf("the next spool starts at %d bytes", next.Offset())
			}
		})
	}
}

func TestASpoolStillWrittenOrReadIsDeleted(t *testing.T) {
	for name, hold := range map[string]func(*shipper){
		"output copying": func(s *shipper) {
			if _, err := s.StartOutput(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.EndOutput() })
		},
		"run running": func(s *shipper) { s.finished = make(chan struct{}) },
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			s := testShipper(t, dir, 1)
			hold(s)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{"a.log", spareSpool} {
				if _, err := os.Stat(filepath.Join(dir, f)); !os.IsNotExist(err) {
					t.Fatalf("%s is there: %v", f, err)
				}
			}
		})
	}
}
