package server_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/cli"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

const artifactsPipeline = `
jobs:
  build:
    matrix: {os: [linux, darwin]}
    steps:
      - mkdir -p dist/sub && printf 'binary for %s\n' "$MATRIX_OS" > dist/app.bin && echo nested > dist/sub/notes.txt
      - seq 1 5000 > report.txt
      - ln -s /etc/passwd dist/passwd && ln -s ../../.. dist/up && ln -s app.bin dist/alias
      - upload: {name: "bin-{{ matrix.os }}", paths: [dist/app.bin]}
    artifacts:
      paths: ["dist/**", report.txt]
  package:
    needs: [build]
    steps:
      - download: {name: bin-linux}
      - download: {name: bin-darwin}
      - cp dist/app.bin package.bin
    artifacts: [package.bin]
  broken:
    steps:
      - echo crash log > crash.txt
      - exit 3
    artifacts:
      paths: [crash.txt]
      when: on_failure
  nothing:
    steps: ["true"]
    artifacts: [missing/**]
  unlucky:
    steps:
      - echo kept > kept.txt
      - exit 1
    artifacts: [kept.txt]
`

// Jobs' artifacts travel through the real agent and server: files only
// (links are left out and said so), listed per run and job, with metadata,
// downloaded whole, by range and as one zip, with a history per branch and
// path; matrix jobs upload under names with their values; failures keep
// artifacts only when asked to.
func TestArtifactsThroughTheAgent(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		l := lathetest.Start(t, o)
		l.Project(t, "arts", lathetest.Repo(t, map[string]string{".lathe.yml": artifactsPipeline}))
		run := l.Wait(t, l.Trigger(t, "arts", "main", "").ID, 120*time.Second)
		linux := lathetest.JobByName(t, run, "build (os=linux)")
		if run.Status != lathe.StatusFailed || linux.Status != lathe.StatusSuccess ||
			lathetest.JobByName(t, run, "package").Status != lathe.StatusSuccess {
			t.Fatalf("run = %s; want failed (broken, unlucky) with build and package green; build log:\n%s", run.Status, l.Log(t, linux.ID))
		}
		if nothing := lathetest.JobByName(t, run, "nothing"); nothing.Status != lathe.StatusSuccess ||
			!strings.Contains(l.Log(t, nothing.ID), "artifacts: warning: no files match missing/**; nothing kept") {
			t.Errorf("a job whose artifacts match nothing = %s:\n%s", nothing.Status, l.Log(t, nothing.ID))
		}
		log := l.Log(t, linux.ID)
		for _, want := range []string{"artifacts: dist/passwd: symbolic link, not uploaded", "artifacts: dist/up: symbolic link, not uploaded",
			"artifacts: dist/alias: symbolic link, not uploaded", "artifacts: 3 files stored"} {
			if !strings.Contains(log, want) {
				t.Errorf("build log lacks %q:\n%s", want, log)
			}
		}

		var list struct{ Items []*lathe.Artifact }
		l.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d/artifacts", run.ID), nil, &list)
		var got []string
		for _, a := range list.Items {
			got = append(got, a.Job+":"+a.Path)
		}
		want := []string{"broken:crash.txt", "build (os=darwin):dist/app.bin", "build (os=darwin):dist/sub/notes.txt", "build (os=darwin):report.txt",
			"build (os=linux):dist/app.bin", "build (os=linux):dist/sub/notes.txt", "build (os=linux):report.txt", "package:package.bin"}
		if !slices.Equal(got, want) {
			t.Fatalf("run artifacts = %q\nwant %q (unlucky failed without when: on_failure)", got, want)
		}
		l.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d/artifacts?job=%s", run.ID, url.QueryEscape("build (os=linux)")), nil, &list)
		if len(list.Items) != 3 || list.Items[0].Job != "build (os=linux)" {
			t.Errorf("?job= artifacts = %+v; want the linux build's 3", list.Items)
		}
		report := list.Items[2]
		var meta lathe.Artifact
		l.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/artifacts/%d", report.ID), nil, &meta)
		wantReport := seq(1, 5000)
		sum := sha256.Sum256([]byte(wantReport))
		if meta.Path != "report.txt" || meta.Size != int64(len(wantReport)) || meta.SHA256 != hex.EncodeToString(sum[:]) ||
			meta.JobID != linux.ID || meta.Expired || meta.ExpiresAt != nil || meta.RunID != run.ID || meta.Branch != "main" {
			t.Errorf("artifact metadata = %+v", meta)
		}

		// Whole, then a range of it.
		body, status, h := getContent(t, l, report.ID, "")
		if status != http.StatusOK || body != wantReport || h.Get("ETag") != `"`+meta.SHA256+`"` || !strings.HasPrefix(h.Get("Content-Disposition"), "attachment") {
			t.Errorf("content = %d, %d bytes, headers %v", status, len(body), h)
		}
		body, status, h = getContent(t, l, report.ID, "bytes=100-199")
		if status != http.StatusPartialContent || body != wantReport[100:200] || h.Get("Content-Range") != fmt.Sprintf("bytes 100-199/%d", len(wantReport)) {
			t.Errorf("range = %d %q (Content-Range %q); want 206 with bytes 100-199", status, body, h.Get("Content-Range"))
		}
		body, status, _ = getContent(t, l, report.ID, fmt.Sprintf("bytes=%d-", len(wantReport)-4))
		if status != http.StatusPartialContent || body != wantReport[len(wantReport)-4:] {
			t.Errorf("suffix range = %d %q", status, body)
		}

		// The run's zip holds every file at job/path.
		resp, err := l.Client.Send(context.Background(), http.MethodGet, fmt.Sprintf("/api/v1/runs/%d/artifacts.zip", run.ID), nil, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		zb, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		zr, err := zip.NewReader(bytes.NewReader(zb), int64(len(zb)))
		if err != nil {
			t.Fatalf("artifacts.zip: %v", err)
		}
		var names []string
		for _, f := range zr.File {
			names = append(names, f.Name)
			if f.Name == "build (os=darwin)/dist/app.bin" {
				rc, _ := f.Open()
				b, _ := io.ReadAll(rc)
				rc.Close()
				if string(b) != "binary for darwin\n" {
					t.Errorf("zip's darwin app.bin = %q", b)
				}
			}
		}
		wantZip := make([]string, len(want))
		for i, w := range want {
			wantZip[i] = strings.Replace(w, ":", "/", 1)
		}
		if !slices.Equal(names, wantZip) {
			t.Errorf("zip entries = %q\nwant %q", names, wantZip)
		}

		// Both matrix expansions uploaded their own name; package got both.
		var ups struct{ Items []lathe.Upload }
		l.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d/uploads", run.ID), nil, &ups)
		if len(ups.Items) != 2 || ups.Items[0].Name != "bin-darwin" || ups.Items[1].Name != "bin-linux" {
			t.Errorf("uploads = %+v; want bin-darwin and bin-linux", ups.Items)
		}

		// A second run: the branch's history of one path, newest first.
		run2 := l.Wait(t, l.Trigger(t, "arts", "main", "").ID, 120*time.Second)
		var page lathe.Page[*lathe.Artifact]
		l.Do(t, http.MethodGet, "/api/v1/projects/arts/artifacts?branch=main&path=package.bin", nil, &page)
		if len(page.Items) != 2 || page.Items[0].RunID != run2.ID || page.Items[1].RunID != run.ID {
			t.Errorf("history of package.bin = %+v; want run %d then %d", page.Items, run2.ID, run.ID)
		}
		l.Do(t, http.MethodGet, "/api/v1/projects/arts/artifacts?branch=other", nil, &page)
		if len(page.Items) != 0 {
			t.Errorf("history of branch other = %+v; want none", page.Items)
		}

		// The CLI lists and downloads, checking what it writes.
		dir := t.TempDir()
		out := runCLI(t, l, "artifacts", "get", fmt.Sprint(run.ID), "dist", "--job", "build (os=linux)", "-o", dir)
		if b, err := os.ReadFile(filepath.Join(dir, "dist", "sub", "notes.txt")); err != nil || string(b) != "nested\n" {
			t.Errorf("lathe artifacts get wrote %q, %v; output:\n%s", b, err, out)
		}
		if _, err := os.Stat(filepath.Join(dir, "report.txt")); err == nil {
			t.Errorf("get with PATH dist also wrote report.txt")
		}
		if out := runCLI(t, l, "artifacts", "list", fmt.Sprint(run.ID)); !strings.Contains(out, "package.bin") || !strings.Contains(out, "crash.txt") {
			t.Errorf("lathe artifacts list:\n%s", out)
		}
	})
}

// runCLI runs a lathe command against l as its admin and returns its
// output; it fails the test when the command fails.
func runCLI(t *testing.T, l *lathetest.Lathe, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	env := map[string]string{"LATHE_SERVER": l.URL, "LATHE_TOKEN": l.AdminToken, "HOME": t.TempDir()}
	code := cli.Run(context.Background(), args, &cli.Env{Stdout: &stdout, Stderr: &stderr, Getenv: func(k string) string { return env[k] }})
	if code != 0 {
		t.Fatalf("lathe %s = %d:\n%s%s", strings.Join(args, " "), code, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// getContent downloads an artifact's content, with a Range when given.
func getContent(t *testing.T, l *lathetest.Lathe, id int64, rng string) (string, int, http.Header) {
	t.Helper()
	h := http.Header{}
	if rng != "" {
		h.Set("Range", rng)
	}
	resp, err := l.Client.Send(context.Background(), http.MethodGet, fmt.Sprintf("/api/v1/artifacts/%d/content", id), nil, 0, h)
	if err != nil {
		t.Fatalf("artifact %d content: %v", id, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), resp.StatusCode, resp.Header
}

func seq(from, to int) string {
	var b strings.Builder
	for i := from; i <= to; i++ {
		fmt.Fprintf(&b, "%d\n", i)
	}
	return b.String()
}
