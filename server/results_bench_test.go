package server_test

import (
	"os/exec"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// stepSeconds is how long the named step of the job's latest attempt took.
func stepSeconds(tb testing.TB, l *lathetest.Lathe, jobID int64, name string) float64 {
	tb.Helper()
	j := l.Job(tb, jobID)
	for _, st := range j.Attempts[len(j.Attempts)-1].Steps {
		if st.Name == name && st.StartedAt != nil && st.FinishedAt != nil {
			return st.FinishedAt.Sub(*st.StartedAt).Seconds()
		}
	}
	tb.Fatalf("job %d has no finished step %q", jobID, name)
	return 0
}

// One 200 MB artifact sent through the agent (hashed as it is streamed
// over HTTP, hashed again and written durably by the server), beside
// copying the same file in the same job, the floor measured in the same
// run: cp (which may copy inside the kernel), cat (through user space, as
// the agent and server must), and cp followed by an fsync of the copy
// (durable, as a stored artifact is before the server answers). Each
// starts with no dirty pages left by the one before (a sync step between
// them, not timed), so the kernel's writeback throttling does not land on
// whichever runs last. Target: upload/copy ≤ 2.
func BenchmarkArtifactUpload200MB(b *testing.B) {
	l := lathetest.Start(b, lathetest.Options{Agents: 1})
	l.Project(b, "big", lathetest.Repo(b, map[string]string{".lathe.yml": `
jobs:
  big:
    steps:
      - name: make
        run: head -c 209715200 /dev/urandom > big.bin && sync
      - name: copy
        run: cp big.bin copy.bin
      - sync
      - name: cat
        run: cat big.bin > copy2.bin
      - sync
      - name: durable copy
        run: cp big.bin copy3.bin && sync copy3.bin
      - sync
    artifacts: [big.bin]
`}))
	var up, cp, cat, durable float64
	for i := 0; i < b.N; i++ {
		run := l.Wait(b, l.Trigger(b, "big", "main", "").ID, 5*time.Minute)
		job := lathetest.JobByName(b, run, "big")
		if run.Status != lathe.StatusSuccess {
			b.Fatalf("run = %s:\n%s", run.Status, l.Log(b, job.ID))
		}
		up += stepSeconds(b, l, job.ID, "artifacts")
		cp += stepSeconds(b, l, job.ID, "copy")
		cat += stepSeconds(b, l, job.ID, "cat")
		durable += stepSeconds(b, l, job.ID, "durable copy")
	}
	b.ReportMetric(up/float64(b.N), "upload-s")
	b.ReportMetric(cp/float64(b.N), "copy-s")
	b.ReportMetric(cat/float64(b.N), "cat-s")
	b.ReportMetric(up/cp, "upload/copy")
	b.ReportMetric(up/cat, "upload/cat")
	b.ReportMetric(durable/float64(b.N), "durable-copy-s")
	b.ReportMetric(up/durable, "upload/durable-copy")
}

// A small Go module built twice: the first run with a cold build cache
// (then saved), the second with it restored. Reported: the build step and
// the whole job (restore and save included) of each run.
func BenchmarkGoBuildCache(b *testing.B) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		b.Skip("no go binary")
	}
	l := lathetest.Start(b, lathetest.Options{Agents: 1})
	var coldBuild, warmBuild, coldJob, warmJob, restore float64
	for i := 0; i < b.N; i++ {
		project := "gomod" + string(rune('a'+i%26)) + time.Now().Format("150405.000000")[7:]
		l.Project(b, project, lathetest.Repo(b, map[string]string{
			"go.mod":  "module example.com/app\n\ngo 1.22\n",
			"main.go": goApp,
			".lathe.yml": `
jobs:
  build:
    env: {GOTOOLCHAIN: local, GOPROXY: "off", CGO_ENABLED: "0", GOFLAGS: "-buildvcs=false"}
    cache:
      key: "gobuild-{{ hashFiles('go.mod', '**/*.go') }}"
      restore_keys: [gobuild-]
      paths: [~/.cache/go-build]
    steps:
      - name: build
        run: ` + goBin + ` build -o app . && ./app -check
`}))
		for n := 0; n < 2; n++ {
			run := l.Wait(b, l.Trigger(b, project, "main", "").ID, 10*time.Minute)
			job := lathetest.JobByName(b, run, "build")
			if run.Status != lathe.StatusSuccess {
				b.Fatalf("run = %s:\n%s", run.Status, l.Log(b, job.ID))
			}
			j := l.Job(b, job.ID)
			total := j.FinishedAt.Sub(*j.StartedAt).Seconds()
			build := stepSeconds(b, l, job.ID, "build")
			if n == 0 {
				coldBuild, coldJob = coldBuild+build, coldJob+total
			} else {
				warmBuild, warmJob = warmBuild+build, warmJob+total
				restore += stepSeconds(b, l, job.ID, "restore cache gobuild-{{ hashFiles('go.mod', '**/*.go') }}")
			}
		}
	}
	n := float64(b.N)
	b.ReportMetric(coldBuild/n, "cold-build-s")
	b.ReportMetric(warmBuild/n, "warm-build-s")
	b.ReportMetric(restore/n, "restore-s")
	b.ReportMetric(coldJob/n, "cold-job-s")
	b.ReportMetric(warmJob/n, "warm-job-s")
	b.ReportMetric(coldJob/warmJob, "cold/warm-job")
}

const goApp = `package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"text/template"
)

func main() {
	check := flag.Bool("check", false, "serve one request and exit")
	flag.Parse()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"hello": "world"})
	})
	if *check {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		template.Must(template.New("t").Parse("{{.}}")).Execute(os.Stdout, rec.Body.String())
		fmt.Println()
		return
	}
	http.ListenAndServe(":8080", h)
}
`
