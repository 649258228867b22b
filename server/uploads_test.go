package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

const handOffPipeline = `
jobs:
  build:
    steps:
      - checkout: {depth: 1}
      - mkdir -p dist/nested/deeper && echo app > dist/app.txt && echo deep > dist/nested/deeper/lib.txt &&
        printf '#!/bin/sh\necho ran\n' > dist/run.sh && chmod +x dist/run.sh && echo green > report.txt && echo left > stays.txt
      - upload: {name: dist, paths: ["dist/**", "report.txt"]}
  test:
    needs: [build]
    steps:
      - download: {name: dist}
      - test "$(cat dist/app.txt)" = app && test "$(cat dist/nested/deeper/lib.txt)" = deep && test "$(cat report.txt)" = green
      - ./dist/run.sh && test ! -e stays.txt
`

// A job uploads files and a job that needs it downloads them, nested
// directories and modes included, through the server, on either database.
func TestUploadedFilesReachALaterJob(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		l := lathetest.Start(t, o)
		l.Project(t, "handoff", lathetest.Repo(t, map[string]string{".lathe.yml": handOffPipeline}))
		run := l.Wait(t, l.Trigger(t, "handoff", "main", "").ID, 90*time.Second)
		build, test := lathetest.JobByName(t, run, "build"), lathetest.JobByName(t, run, "test")
		if run.Status != lathe.StatusSuccess {
			t.Fatalf("run = %s; build log:\n%s\ntest log:\n%s", run.Status, l.Log(t, build.ID), l.Log(t, test.ID))
		}
		buildLog, testLog := l.Log(t, build.ID), l.Log(t, test.ID)
		for _, want := range []string{"» checkout", "is already checked out", "depth 1 is ignored", "» upload dist (dist/**, report.txt)",
			"upload dist: 4 files, 3 directories"} {
			if !strings.Contains(buildLog, want) {
				t.Errorf("build log lacks %q:\n%s", want, buildLog)
			}
		}
		if !strings.Contains(testLog, "download dist: 4 files, 3 directories") || !strings.Contains(testLog, "ran") {
			t.Errorf("test log lacks the download or the script's output:\n%s", testLog)
		}
		steps := l.Job(t, build.ID).Attempts[0].Steps
		if len(steps) != 4 {
			t.Fatalf("build has %d steps, want 4 (checkout, checkout action, command, upload)", len(steps))
		}
		for _, st := range steps {
			if st.Status != lathe.StatusSuccess || st.ExitCode == nil || *st.ExitCode != 0 {
				t.Errorf("build step %d (%s) = %s exit %v; want success exit 0", st.Index, st.Name, st.Status, st.ExitCode)
			}
		}

		var list struct{ Items []lathe.Upload }
		l.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d/uploads", run.ID), nil, &list)
		if len(list.Items) != 1 {
			t.Fatalf("run uploads = %+v; want one", list.Items)
		}
		u := list.Items[0]
		if u.Name != "dist" || u.Job != "build" || u.JobID != build.ID || u.Attempt != 1 || u.Size <= 0 || len(u.SHA256) != 64 {
			t.Errorf("upload = %+v", u)
		}
		// The run's one archive, under a key named by the run and the content.
		stored, _ := filepath.Glob(filepath.Join(l.DataDir, "uploads", fmt.Sprint(run.ID), "*-"+u.SHA256+".tar.gz"))
		if len(stored) != 1 {
			t.Fatalf("stored archives of run %d: %q, want one", run.ID, stored)
		}
		b, err := os.ReadFile(stored[0])
		if sum := sha256.Sum256(b); err != nil || hex.EncodeToString(sum[:]) != u.SHA256 || int64(len(b)) != u.Size {
			t.Errorf("stored archive: %d bytes, %v; want %d bytes hashing to %s", len(b), err, u.Size, u.SHA256)
		}
	})
}

// A download of a name no job uploaded fails its step like a failing
// command, saying which name, and the job's later steps are skipped.
func TestDownloadOfAMissingUploadFailsTheStep(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{})
	l.Project(t, "lonely", lathetest.Repo(t, map[string]string{".lathe.yml": `
jobs:
  test:
    steps:
      - download: {name: ghost-build}
      - echo should not run
`}))
	run := l.Wait(t, l.Trigger(t, "lonely", "main", "").ID, 60*time.Second)
	job := lathetest.JobByName(t, run, "test")
	if run.Status != lathe.StatusFailed || job.Status != lathe.StatusFailed {
		t.Fatalf("run %s, job %s; want both failed", run.Status, job.Status)
	}
	log := l.Log(t, job.ID)
	if !strings.Contains(log, `download ghost-build: server said 404: no job of run`) || !strings.Contains(log, `"ghost-build"`) {
		t.Errorf("log does not say which upload is missing:\n%s", log)
	}
	if strings.Contains(log, "should not run") {
		t.Errorf("the step after the failed download ran:\n%s", log)
	}
	steps := l.Job(t, job.ID).Attempts[0].Steps
	if len(steps) != 3 || steps[1].Status != lathe.StatusFailed || steps[1].ExitCode == nil || *steps[1].ExitCode != 1 ||
		steps[2].Status != lathe.StatusSkipped {
		t.Errorf("steps = %+v; want checkout, the download failed with exit 1, the command skipped", steps)
	}
}

// Only the agent holding a running attempt may upload or download through
// it: another agent's credential is refused, and so is a finished attempt.
func TestUploadRoutesAreFencedToTheRunningAttempt(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	heldJobProject(t, l, "fenced")
	reg := l.RegistrationToken(t)
	holder := l.StartAgent(t, reg, "holder", "", "holder")
	intruder := l.StartAgent(t, reg, "intruder", "", "elsewhere")
	run := l.Trigger(t, "fenced", "main", "")
	attemptID := waitForRunningAttempt(t, l, run)

	body := []byte("not really a tar.gz, the server does not look")
	sum := sha256.Sum256(body)
	call := func(method, token, sha string) (int, http.Header, []byte) {
		t.Helper()
		var rd io.Reader
		if method == http.MethodPut {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequest(method, fmt.Sprintf("%s/api/v1/agent/attempts/%d/uploads/out", l.URL, attemptID), rd)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set(lathe.UploadSHA256Header, sha)
		resp, err := lathetest.HTTPClient(t).Do(req)
		if err != nil {
			t.Fatalf("%s upload: %v", method, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, b
	}
	good := hex.EncodeToString(sum[:])
	if code, _, b := call(http.MethodPut, intruder.Token, good); code != http.StatusForbidden {
		t.Errorf("PUT with another agent's credential = %d %s; want 403", code, b)
	}
	if code, _, b := call(http.MethodGet, intruder.Token, ""); code != http.StatusForbidden {
		t.Errorf("GET with another agent's credential = %d %s; want 403", code, b)
	}
	if code, _, b := call(http.MethodPut, holder.Token, strings.Repeat("0", 64)); code != http.StatusBadRequest || !strings.Contains(string(b), "damaged") {
		t.Errorf("PUT with a wrong checksum = %d %s; want 400", code, b)
	}
	if code, _, b := call(http.MethodPut, holder.Token, good); code != http.StatusCreated {
		t.Fatalf("PUT by the holder = %d %s; want 201", code, b)
	}
	if code, _, b := call(http.MethodPut, holder.Token, good); code != http.StatusOK {
		t.Errorf("second PUT by the holder = %d %s; want 200 (replaced)", code, b)
	}
	code, h, b := call(http.MethodGet, holder.Token, "")
	if code != http.StatusOK || !bytes.Equal(b, body) || h.Get(lathe.UploadSHA256Header) != good {
		t.Errorf("GET by the holder = %d %q (sha %s); want the bytes it uploaded", code, b, h.Get(lathe.UploadSHA256Header))
	}

	releaseHeldJob(t, holder, attemptID)
	if done := l.Wait(t, run.ID, 60*time.Second); done.Status != lathe.StatusSuccess {
		t.Fatalf("run = %s, want success", done.Status)
	}
	for _, method := range []string{http.MethodPut, http.MethodGet} {
		code, h, b := call(method, holder.Token, good)
		if code != http.StatusGone || h.Get("Lathe-Fenced") != fmt.Sprint(attemptID) {
			t.Errorf("%s after the attempt finished = %d %s (Lathe-Fenced %q); want 410", method, code, b, h.Get("Lathe-Fenced"))
		}
	}
}

// waitForRunningAttempt waits (bounded) for the run's only job to be running and
// returns its attempt's ID.
func waitForRunningAttempt(t *testing.T, l *lathetest.Lathe, run *lathe.Run) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		r := l.Run(t, run.ID)
		if len(r.Jobs) == 1 {
			if j := l.Job(t, r.Jobs[0].ID); j.Status == lathe.StatusRunning && len(j.Attempts) == 1 {
				return j.Attempts[0].ID
			}
		}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
		}
	}
	t.Fatalf("run %d's job did not start within 60s", run.ID)
	return 0
}

// Issue 12, item 44: an upload name that is a path, "..", or an escaped
// form of either is refused before anything is stored, whatever way it
// is written in the URL; nothing appears outside the run's directory.
func TestUploadNamesThatCouldLeaveTheRunDirectoryAreRefused(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	heldJobProject(t, l, "names")
	holder := l.StartAgent(t, l.RegistrationToken(t), "holder", "", "holder")
	run := l.Trigger(t, "names", "main", "")
	attemptID := waitForRunningAttempt(t, l, run)
	body := []byte("archive bytes")
	sum := sha256.Sum256(body)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, c := range []struct{ raw, want string }{
		{"..%2F..%2Fetc%2Fx", `must not contain '/'`},
		{"..%2f..%2fetc%2fx", `must not contain '/'`},
		{"%2E%2E", `must not contain '..'`},
		{"%2e%2e", `must not contain '..'`},
		{"a..b", `must not contain '..'`},
		{"..%252F..%252Fetc", `must not contain '/', '\\' or '%'`},
		{"..%5C..%5Cx", `must not contain '/', '\\' or '%'`},
		{"ok%2Dname", `must be written in the path as is, not escaped`},
		{"sp%20ace", `' ' is not allowed`},
	} {
		for _, method := range []string{http.MethodPut, http.MethodGet} {
			req, err := http.NewRequest(method, fmt.Sprintf("%s/api/v1/agent/attempts/%d/uploads/%s", l.URL, attemptID, c.raw), bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+holder.Token)
			req.Header.Set(lathe.UploadSHA256Header, hex.EncodeToString(sum[:]))
			resp, err := noRedirect.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), c.want) {
				t.Errorf("%s uploads/%s = %d %s; want 400 saying %q", method, c.raw, resp.StatusCode, b, c.want)
			}
		}
	}
	// Nothing was stored: the upload directory holds no archive at all.
	filepath.WalkDir(filepath.Join(l.DataDir, "uploads"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			t.Errorf("a refused upload left %s", p)
		}
		return nil
	})
	releaseHeldJob(t, holder, attemptID)
	l.Wait(t, run.ID, 60*time.Second)
}

// heldJobProject makes a project whose one job runs on an agent labelled
// holder and holds its attempt until releaseHeldJob.
func heldJobProject(t *testing.T, l *lathetest.Lathe, name string) {
	t.Helper()
	l.Project(t, name, lathetest.Repo(t, map[string]string{".lathe.yml": `
jobs:
  hold:
    runs-on: [holder]
    timeout: 2m
    steps:
      - while [ ! -e release ]; do sleep 0.1; done
`}))
}

// releaseHeldJob lets the held job of heldJobProject finish: it puts
// "release" in the job's workspace once the workspace exists (the step
// may still be checking out).
func releaseHeldJob(t *testing.T, holder *lathetest.RemoteAgent, attemptID int64) {
	t.Helper()
	ws := filepath.Join(holder.WorkDir, "ws", strconv.FormatInt(attemptID, 10))
	waitFor(t, 30*time.Second, "the job's workspace", func() bool {
		_, err := os.Stat(filepath.Join(ws, ".lathe.yml"))
		return err == nil
	})
	if err := os.WriteFile(filepath.Join(ws, "release"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
}
