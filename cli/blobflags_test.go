package cli_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lathe-ci/lathe/internal/lathetest"
)

// A --blob-store that is not an S3 URL is refused before the server makes
// anything: no data directory, no database, no admin token printed
// nowhere.
func TestABadBlobStoreMakesNothing(t *testing.T) {
	bin := lathetest.Binary(t)
	data := filepath.Join(t.TempDir(), "data")
	cmd := exec.Command(bin, "server", "--data", data, "--addr", "127.0.0.1:0", "--blob-store", filepath.Join(t.TempDir(), "blobs"))
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--blob-store: ") || !strings.Contains(string(out), "want s3://BUCKET") {
		t.Fatalf("lathe server --blob-store DIR: %v\n%s\nwant it refused, naming the flag", err, out)
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Errorf("a refused start made %s (%v)", data, err)
	}
}
