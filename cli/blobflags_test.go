package cli_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lathe-ci/lathe/internal/lathetest"
	"github.com/lathe-ci/lathe/internal/s3test"
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

// The embedded agents' steps cannot read the file --s3-secret-key-file
// names, wherever it is kept and however readable (here by everyone,
// outside the sandbox's private /tmp, as a file under /etc may be): with
// the bucket's key a job could read and change every project's blobs.
func TestStepsCannotReadTheS3SecretKeyFile(t *testing.T) {
	lathetest.NeedSandbox(t)
	bin := lathetest.Binary(t)
	s3 := s3test.Start(t, "lathe")
	keys := lathetest.PublicDir(t)
	keyFile, public := filepath.Join(keys, "s3.key"), filepath.Join(keys, "public.txt")
	if err := os.WriteFile(keyFile, []byte(s3.SecretKey+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Beside it, a file the step reads: without it, a key the step could not
	// reach at all would pass the test.
	if err := os.WriteFile(public, []byte("public beside the key\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	repo := lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  attack:\n    steps:\n      - cat " + keyFile + " || echo no key here\n      - cat " + public + "\n"})
	dir := t.TempDir()
	t.Chdir(dir)
	up := lathetest.StartProcess(t, bin, "up", "--addr", "127.0.0.1:0", "--data", "state", "--agents", "1",
		"--blob-store", "s3://lathe/ci", "--s3-endpoint", s3.Endpoint, "--s3-region", s3.Region,
		"--s3-access-key", s3.AccessKey, "--s3-secret-key-file", keyFile)
	for i := 0; i < 600 && !strings.Contains(up.Output.String(), "Try: ") && !up.Exited(); i++ {
		time.Sleep(100 * time.Millisecond)
	}
	var server string
	for _, line := range strings.Split(up.Output.String(), "\n") {
		if s, ok := strings.CutPrefix(line, "First: export LATHE_SERVER="); ok {
			server, _, _ = strings.Cut(s, " ")
		}
	}
	if server == "" {
		t.Fatalf("lathe up did not start:\n%s", up.Output.String())
	}
	token, err := os.ReadFile(filepath.Join(dir, "state", "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	sh := exec.Command("sh", "-e", "-c", "lathe project create demo "+repo+" && lathe run demo --follow")
	sh.Dir = dir
	sh.Env = append(os.Environ(), "PATH="+filepath.Dir(bin)+":"+os.Getenv("PATH"), "LATHE_SERVER="+server,
		"LATHE_TOKEN="+strings.TrimSpace(string(token)), "LATHE_CONFIG="+filepath.Join(t.TempDir(), "none.json"))
	out, err := sh.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "[attack] no key here") || !strings.Contains(string(out), "[attack] public beside the key") ||
		strings.Contains(string(out), s3.SecretKey) {
		t.Errorf("a step read the S3 secret key file (or the run failed): %v\n%s", err, out)
	}
	up.Signal(t, syscall.SIGINT)
	up.Wait(t, time.Minute)
}
