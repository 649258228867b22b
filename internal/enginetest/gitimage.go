package enginetest

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lathe-ci/lathe/executor"
)

// GitImage is an image for agents: busybox, plus the machine's own git
// and the shared libraries it and the given binaries (a dynamically
// linked lathe) need, copied from this machine. An agent provider's test
// runs `lathe agent` in it; made once per test binary.
const GitImage = "lathe-test/agent:1"

var (
	gitImageErr  error
	gitImageMade bool
)

// AgentImage makes GitImage on e (again, each test binary: the machine's
// binaries may have changed) with the libraries bins need too.
func AgentImage(t testing.TB, e *executor.Engine, bins ...string) string {
	t.Helper()
	if !gitImageMade {
		gitImageMade = true
		gitImageErr = makeAgentImage(e, bins)
	}
	if gitImageErr != nil {
		t.Fatalf("make the agent test image: %v", gitImageErr)
	}
	return GitImage
}

func makeAgentImage(e *executor.Engine, bins []string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	git, err := exec.LookPath("git")
	if err != nil {
		return err
	}
	files := map[string]bool{"/usr/bin/git": true}
	for _, b := range append([]string{git}, bins...) {
		libs, err := sharedLibs(b)
		if err != nil {
			return err
		}
		for _, l := range libs {
			files[l] = true
		}
	}
	base, err := rootfs()
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	// The busybox image's entries first, its end-of-archive left out.
	tr := tar.NewReader(bytes.NewReader(base))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return err
		}
	}
	dirs := map[string]bool{"bin": true, "etc": true, "tmp": true}
	var names []string
	for f := range files {
		names = append(names, f)
	}
	names = append(names, "/usr/lib/git-core/git")
	written := map[string]bool{}
	writeDirs := func(name string) error {
		var chain []string
		for d := filepath.Dir(name); d != "." && d != "/" && !written[d]; d = filepath.Dir(d) {
			chain = append([]string{d}, chain...)
		}
		for _, d := range chain {
			if dirs[strings.TrimPrefix(d, "/")] {
				written[d] = true
				continue
			}
			written[d] = true
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: strings.TrimPrefix(d, "/") + "/", Mode: 0o755, ModTime: time.Now()}); err != nil {
				return err
			}
		}
		return nil
	}
	for _, n := range names {
		src := n
		if n == "/usr/lib/git-core/git" {
			src = git
		}
		body, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		if err := writeDirs(n); err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: strings.TrimPrefix(n, "/"), Mode: 0o755, Size: int64(len(body)), ModTime: time.Now()}); err != nil {
			return err
		}
		if _, err := tw.Write(body); err != nil {
			return err
		}
	}
	for _, l := range []string{"git-upload-pack", "git-receive-pack"} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "usr/lib/git-core/" + l, Linkname: "git", Mode: 0o777, ModTime: time.Now()}); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return e.Client().ImageImport(ctx, GitImage, []string{"ENV PATH=/usr/bin:/bin"}, &buf)
}

// sharedLibs are the files ldd says bin loads (none for a static binary).
func sharedLibs(bin string) ([]string, error) {
	out, err := exec.Command("ldd", bin).CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "not a dynamic executable") {
			return nil, nil
		}
		return nil, err
	}
	var libs []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		for _, f := range strings.Fields(sc.Text()) {
			if strings.HasPrefix(f, "/") {
				libs = append(libs, f)
			}
		}
	}
	return libs, nil
}
