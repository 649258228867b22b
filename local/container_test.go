package local_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/local"
)

// lathe exec runs an image job's steps on the user's machine and says so.
func TestImageJobSaysItRunsHere(t *testing.T) {
	dir := t.TempDir()
	src := "jobs:\n  boxed:\n    image: golang:1.23\n    services: [postgres:16]\n    steps: [echo ran here]\n"
	if err := os.WriteFile(filepath.Join(dir, ".lathe.yml"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	res, err := local.Run(context.Background(), local.Options{Dir: dir, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != lathe.StatusSuccess || !strings.Contains(out.String(), "ran here") ||
		!strings.Contains(out.String(), "image golang:1.23: lathe exec runs the steps on this machine, not in the image") {
		t.Errorf("%s:\n%s", res.Status, out.String())
	}
}
