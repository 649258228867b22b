// Package enginetest gives tests a real container engine and tiny test
// images made on the spot from the machine's static busybox, so the
// container tests need no registry. A test that needs an engine skips when
// none answers, and fails instead when CI=true: CI must run them.
package enginetest

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lathe-ci/lathe/executor"
)

// Image is the test image: busybox and its applets in /bin, an
// /etc/os-release naming it, and PATH=/bin.
const Image = "lathe-test/busybox:1"

// ServiceImage is Image with port 7000 exposed, for services waited for by port.
const ServiceImage = "lathe-test/busybox-service:1"

// Missing is an image no engine has.
const Missing = "lathe-test/no-such-image:1"

// OSRelease is the NAME line of the test image's /etc/os-release.
const OSRelease = `NAME="lathe-test busybox"`

var (
	once     sync.Once
	imageErr error
)

// Engine connects to the engine at DOCKER_HOST (or Docker's usual socket),
// makes sure the test images are there, and closes the connection when the
// test ends.
func Engine(t testing.TB) *executor.Engine {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e, err := executor.ConnectEngine(ctx, "")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI needs a container engine for this test: %v", err)
		}
		t.Skipf("no container engine answers (start dockerd or podman system service, or set DOCKER_HOST): %v", err)
	}
	t.Cleanup(func() { e.Close() })
	once.Do(func() { imageErr = makeImages(ctx, e) })
	if imageErr != nil {
		t.Fatalf("make the test images: %v", imageErr)
	}
	return e
}

// makeImages imports the test images unless the engine has them.
func makeImages(ctx context.Context, e *executor.Engine) error {
	for _, img := range []struct {
		ref     string
		changes []string
	}{
		{Image, []string{"ENV PATH=/bin"}},
		{ServiceImage, []string{"ENV PATH=/bin", "EXPOSE 7000"}},
	} {
		if _, err := e.Client().ImageInspect(ctx, img.ref); err == nil {
			continue
		}
		root, err := rootfs()
		if err != nil {
			return err
		}
		if err := e.Client().ImageImport(ctx, img.ref, img.changes, bytes.NewReader(root)); err != nil {
			return err
		}
	}
	return nil
}

// rootfs is a tar of the test image's file system.
func rootfs() ([]byte, error) {
	path, err := exec.LookPath("busybox")
	if err != nil {
		return nil, errNoBusybox
	}
	bin, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if f, err := elf.NewFile(bytes.NewReader(bin)); err != nil {
		return nil, err
	} else if f.Section(".interp") != nil {
		return nil, errNoBusybox // a dynamic busybox needs a libc the image lacks
	}
	out, err := exec.Command(path, "--list").Output()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Now()
	add := func(h *tar.Header, body []byte) {
		h.ModTime = now
		tw.WriteHeader(h)
		tw.Write(body)
	}
	for _, d := range []string{"bin/", "etc/"} {
		add(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o755}, nil)
	}
	add(&tar.Header{Typeflag: tar.TypeDir, Name: "tmp/", Mode: 0o1777}, nil)
	add(&tar.Header{Typeflag: tar.TypeReg, Name: "bin/busybox", Mode: 0o755, Size: int64(len(bin))}, bin)
	for _, applet := range strings.Fields(string(out)) {
		if applet != "busybox" {
			add(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + applet, Linkname: "busybox", Mode: 0o777}, nil)
		}
	}
	rel := []byte(OSRelease + "\n")
	add(&tar.Header{Typeflag: tar.TypeReg, Name: "etc/os-release", Mode: 0o644, Size: int64(len(rel))}, rel)
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

type noBusybox struct{}

func (noBusybox) Error() string {
	return "the test images need a static busybox on PATH (Debian/Ubuntu: apt-get install busybox-static)"
}

var errNoBusybox error = noBusybox{}
