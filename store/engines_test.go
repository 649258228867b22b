package store_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/pgtest"
	"github.com/lathe-ci/lathe/store"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// forEachEngine runs fn on a fresh SQLite file and on a fresh PostgreSQL
// database, so every rule of the store is checked on both engines.
func forEachEngine(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		fn(t, open(t, filepath.Join(t.TempDir(), "lathe.db")))
	})
	t.Run("postgres", func(t *testing.T) {
		fn(t, open(t, pgtest.Shared(t).NewDatabase(t)))
	})
}

// open opens dsn and closes the store when the test ends.
func open(t *testing.T, dsn string) *store.Store {
	t.Helper()
	s, err := store.Open(t.Context(), dsn)
	if err != nil {
		t.Fatalf("open %s: %v", dsn, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

func TestReadyAfterOpen(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		if err := s.Ready(t.Context()); err != nil {
			t.Fatalf("Ready: %v", err)
		}
		if got := t.Name(); filepath.Base(got) != s.Engine() {
			t.Errorf("Engine() = %q in subtest %q", s.Engine(), got)
		}
	})
}

func TestReopenedSQLiteFileKeepsItsData(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "nested", "lathe.db")
	s, err := store.Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	p := mustProject(t, s, "kept")
	a := mustAgent(t, s, "kept-agent")
	r := mustRun(t, s, p.ID, "ci", []string{"build"}, job("compile", "build"))
	as := mustClaim(t, s, a)
	mustReport(t, s, a, as.AttemptID, &lathe.Report{Log: []byte("hello\n"),
		Finish: &lathe.FinishReport{Status: lathe.StatusSuccess, LogSize: 6}})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, path) // a second Open applies no migration twice
	if err := s.Ready(ctx); err != nil {
		t.Fatalf("Ready after reopen: %v", err)
	}
	got, err := s.Project(ctx, "kept")
	if err != nil || got.ID != p.ID {
		t.Fatalf("project after reopen = %+v, %v; want ID %d", got, err, p.ID)
	}
	run, err := s.Run(ctx, r.ID)
	if err != nil || run.Status != lathe.StatusSuccess {
		t.Fatalf("run after reopen = %+v, %v; want success", run, err)
	}
	if log := readLog(t, s, as.AttemptID); log != "hello\n" {
		t.Errorf("log after reopen = %q", log)
	}
	// Numbering continues where it stopped.
	if next := mustRun(t, s, p.ID, "ci", []string{"build"}, job("compile", "build")); next.Number != 2 {
		t.Errorf("first run after reopen is #%d, want #2", next.Number)
	}
}

// Fixtures shared by the tests of this package.

func mustProject(t *testing.T, s *store.Store, name string) *lathe.Project {
	t.Helper()
	p := &lathe.Project{Name: name, URL: "https://git.example/" + name + ".git", DefaultBranch: "main"}
	if err := s.CreateProject(t.Context(), p); err != nil {
		t.Fatalf("create project %q: %v", name, err)
	}
	return p
}

// mustAgent registers an agent with the given labels; its credential hash is derived from its name.
func mustAgent(t *testing.T, s *store.Store, name string, labels ...string) *lathe.Agent {
	t.Helper()
	a := &lathe.Agent{Name: name, Labels: labels}
	if err := s.PutAgent(t.Context(), a, "hash-of-"+name); err != nil {
		t.Fatalf("put agent %q: %v", name, err)
	}
	return a
}

// job declares a job in a stage waiting for deps (no deps: it is queued at once).
func job(name, stage string, deps ...string) *lathe.Job {
	return &lathe.Job{Name: name, Stage: stage, Deps: deps, TimeoutSec: 600,
		Steps: []lathe.StepDef{{Name: "run", Run: "make " + name}}}
}

// mustRun creates a run of pipeline on branch main with the given stages and jobs.
func mustRun(t *testing.T, s *store.Store, projectID int64, pipeline string, stages []string, jobs ...*lathe.Job) *lathe.Run {
	t.Helper()
	return mustCreateRun(t, s, &lathe.Run{ProjectID: projectID, Pipeline: pipeline, Branch: "main"}, stages, jobs...)
}

// mustCreateRun creates r (ref, commit and event default to a push to r.Branch).
func mustCreateRun(t *testing.T, s *store.Store, r *lathe.Run, stages []string, jobs ...*lathe.Job) *lathe.Run {
	t.Helper()
	if r.Ref == "" {
		r.Ref = "refs/heads/" + r.Branch
	}
	if r.Commit == "" {
		r.Commit = "0123456789abcdef0123456789abcdef01234567"
	}
	if r.Event == "" {
		r.Event = "push"
	}
	if err := s.CreateRun(t.Context(), store.NewRun{Run: r, Stages: stages, Jobs: jobs}); err != nil {
		t.Fatalf("create run: %v", err)
	}
	return r
}

func mustClaim(t *testing.T, s *store.Store, a *lathe.Agent) *lathe.Assignment {
	t.Helper()
	as, err := s.Claim(t.Context(), a.ID, a.Labels)
	if err != nil {
		t.Fatalf("claim by %s: %v", a.Name, err)
	}
	if as == nil {
		t.Fatalf("claim by %s: no job", a.Name)
	}
	return as
}

func mustReport(t *testing.T, s *store.Store, a *lathe.Agent, attemptID int64, rep *lathe.Report) lathe.ReportReply {
	t.Helper()
	reply, err := s.Report(t.Context(), a.ID, attemptID, rep)
	if err != nil {
		t.Fatalf("report on attempt %d: %v", attemptID, err)
	}
	return reply
}

// finish ends an attempt that has sent no log with status.
func finish(t *testing.T, s *store.Store, a *lathe.Agent, as *lathe.Assignment, status lathe.Status) {
	t.Helper()
	reply := mustReport(t, s, a, as.AttemptID, &lathe.Report{Finish: &lathe.FinishReport{Status: status}})
	if !reply.Finished {
		t.Fatalf("finish %s as %s: not finished (%+v)", as.Job, status, reply)
	}
}

func mustGetRun(t *testing.T, s *store.Store, id int64) *lathe.Run {
	t.Helper()
	r, err := s.Run(t.Context(), id)
	if err != nil {
		t.Fatalf("run %d: %v", id, err)
	}
	return r
}

// jobStatuses maps a run's job names to their statuses.
func jobStatuses(r *lathe.Run) map[string]lathe.Status {
	m := map[string]lathe.Status{}
	for _, j := range r.Jobs {
		m[j.Name] = j.Status
	}
	return m
}

func jobNamed(t *testing.T, r *lathe.Run, name string) *lathe.Job {
	t.Helper()
	for _, j := range r.Jobs {
		if j.Name == name {
			return j
		}
	}
	t.Fatalf("run %d has no job %q", r.ID, name)
	return nil
}

func readLog(t *testing.T, s *store.Store, attemptID int64) string {
	t.Helper()
	data, _, err := s.ReadLog(t.Context(), attemptID, 0, 1<<30)
	if err != nil {
		t.Fatalf("read log of attempt %d: %v", attemptID, err)
	}
	return string(data)
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: err = %v, want %v", what, err, want)
	}
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }

// noPanic calls f and turns a panic into an error, so a test can report it
// as a failure of its own and go on.
func noPanic[T any](f func() (T, error)) (v T, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return f()
}

// next is a page's cursor, 0 on the last page (where the API sends null).
func next[T any](p lathe.Page[T]) int64 {
	if p.Next == nil {
		return 0
	}
	return *p.Next
}

// sameTime compares times at the store's precision (microseconds).
func sameTime(a, b time.Time) bool {
	return a.Truncate(time.Microsecond).Equal(b.Truncate(time.Microsecond))
}
