package dispatch_test

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/dispatch"
	"github.com/lathe-ci/lathe/internal/pgtest"
	"github.com/lathe-ci/lathe/secret"
	"github.com/lathe-ci/lathe/store"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// fixture is a dispatch service over a fresh store, with a project, an
// agent and the keys that open the project's secrets.
type fixture struct {
	st      *store.Store
	d       *dispatch.Service
	project *lathe.Project
	agent   *lathe.Agent
}

// forEachEngine runs fn on a fresh SQLite file and on a fresh PostgreSQL
// database, as the store's own tests do.
func forEachEngine(t *testing.T, fn func(t *testing.T, f *fixture)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, newFixture(t, filepath.Join(t.TempDir(), "lathe.db"))) })
	t.Run("postgres", func(t *testing.T) { fn(t, newFixture(t, pgtest.Shared(t).NewDatabase(t))) })
}

func newFixture(t *testing.T, dsn string) *fixture {
	t.Helper()
	ctx := t.Context()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("open %s: %v", dsn, err)
	}
	t.Cleanup(func() { st.Close() })
	keys, err := secret.NewKeyring(secret.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	d := dispatch.New(st, nil, slog.New(slog.DiscardHandler))
	d.SetKeyring(keys)
	p := &lathe.Project{Name: "app", URL: "https://git.example/app.git", DefaultBranch: "main"}
	if err := st.CreateProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateSecret(ctx, keys, p.ID, "API_KEY", "very-secret-value", "admin"); err != nil {
		t.Fatal(err)
	}
	a := &lathe.Agent{Name: "agent-1", Authorized: true}
	if err := st.PutAgent(ctx, a, "hash-of-agent-1"); err != nil {
		t.Fatal(err)
	}
	return &fixture{st: st, d: d, project: p, agent: a}
}

// run creates a run of one job; the job names the secret API_KEY and,
// when approval is set, waits at that gate.
func (f *fixture) run(t *testing.T, untrusted bool, approval *lathe.Approval) *lathe.Run {
	t.Helper()
	r := &lathe.Run{ProjectID: f.project.ID, Pipeline: "ci", Branch: "main", Ref: "refs/heads/main",
		Commit: "0123456789abcdef0123456789abcdef01234567", Event: "pull_request", Untrusted: untrusted}
	j := &lathe.Job{Name: "test", Stage: "test", TimeoutSec: 600, Approval: approval,
		Secrets: []lathe.JobSecret{{Name: "API_KEY"}}, Steps: []lathe.StepDef{{Name: "run", Run: "make test"}}}
	if err := f.st.CreateRun(t.Context(), store.NewRun{Run: r, Stages: []string{"test"}, Jobs: []*lathe.Job{j}}); err != nil {
		t.Fatalf("create run: %v", err)
	}
	run, err := f.st.Run(t.Context(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// writer is a user with write on the fixture's project.
func (f *fixture) user(name string, role lathe.Role) dispatch.Actor {
	return dispatch.Actor{UserID: 1, User: name, Project: f.project, Role: role}
}

// claim asks for a job as the fixture's agent, waiting at most a moment.
func (f *fixture) claim(t *testing.T) *lathe.Assignment {
	t.Helper()
	as, err := f.d.Claim(t.Context(), dispatch.Actor{Agent: f.agent}, &dispatch.ClaimRequest{End: time.Now().Add(100 * time.Millisecond)})
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	return as
}

func jobStatus(t *testing.T, f *fixture, id int64) lathe.Status {
	t.Helper()
	j, err := f.st.Job(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return j.Status
}

func TestTrustedClaimCarriesItsSecrets(t *testing.T) {
	forEachEngine(t, func(t *testing.T, f *fixture) {
		f.run(t, false, nil)
		as := f.claim(t)
		if as == nil {
			t.Fatal("claim: no job")
		}
		if len(as.Secrets) != 1 || as.Secrets[0].Name != "API_KEY" || as.Secrets[0].Value != "very-secret-value" {
			t.Errorf("secrets = %+v, want API_KEY with its value", as.Secrets)
		}
	})
}

func TestUntrustedClaimCarriesNoSecret(t *testing.T) {
	forEachEngine(t, func(t *testing.T, f *fixture) {
		run := f.run(t, true, nil)
		if as := f.claim(t); as != nil {
			t.Fatalf("claim before the commit's approval got job %s", as.Job)
		}
		if err := f.d.ApproveRun(t.Context(), f.user("alice", lathe.RoleWrite), run.ID); err != nil {
			t.Fatalf("approve run: %v", err)
		}
		as := f.claim(t)
		if as == nil {
			t.Fatal("claim after approval: no job")
		}
		if len(as.Secrets) != 0 || len(as.SecretRefs) != 0 {
			t.Errorf("untrusted run's claim carries secrets %+v (refs %+v)", as.Secrets, as.SecretRefs)
		}
	})
}

// A job of a run whose pipeline was posted through the API never gets a
// secret, even if one reached its row (the trigger refuses such files): it
// fails at its claim, saying why, and no value leaves the server.
func TestPostedPipelineClaimGetsNoSecret(t *testing.T) {
	forEachEngine(t, func(t *testing.T, f *fixture) {
		r := &lathe.Run{ProjectID: f.project.ID, Pipeline: "try", Branch: "main", Ref: "refs/heads/main",
			Commit: "0123456789abcdef0123456789abcdef01234567", Event: "manual", PipelineFromAPI: true}
		j := &lathe.Job{Name: "steal", Stage: "test", TimeoutSec: 600,
			Secrets: []lathe.JobSecret{{Name: "API_KEY"}}, Steps: []lathe.StepDef{{Name: "run", Run: "echo $API_KEY"}}}
		if err := f.st.CreateRun(t.Context(), store.NewRun{Run: r, Stages: []string{"test"}, Jobs: []*lathe.Job{j}}); err != nil {
			t.Fatal(err)
		}
		if as := f.claim(t); as != nil {
			t.Fatalf("claim of a posted pipeline's job naming a secret got it: %+v", as.Secrets)
		}
		if st := jobStatus(t, f, j.ID); st != lathe.StatusFailed {
			t.Errorf("job = %s, want failed", st)
		}
		run, err := f.st.Run(t.Context(), r.ID)
		if err != nil || !run.PipelineFromAPI {
			t.Errorf("run = %+v, %v; want it marked pipeline_from_api", run, err)
		}
	})
}

func TestClaimNeedsAnAgent(t *testing.T) {
	forEachEngine(t, func(t *testing.T, f *fixture) {
		f.run(t, false, nil)
		_, err := f.d.Claim(t.Context(), f.user("alice", lathe.RoleOwner), &dispatch.ClaimRequest{End: time.Now()})
		if !errors.Is(err, lathe.ErrForbidden) {
			t.Errorf("claim by a user: err = %v, want forbidden", err)
		}
	})
}

func TestOnlyTheGatesFromMayApprove(t *testing.T) {
	forEachEngine(t, func(t *testing.T, f *fixture) {
		ctx := t.Context()
		if err := f.st.CreateTeam(ctx, &lathe.Team{Name: "ops"}); err != nil {
			t.Fatal(err)
		}
		for _, u := range []string{"alice", "bob", "carol"} {
			if err := f.st.CreateUser(ctx, &lathe.User{Name: u}, ""); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.st.SetTeamMember(ctx, "ops", "carol", true); err != nil {
			t.Fatal(err)
		}
		job := f.run(t, false, &lathe.Approval{From: []string{"alice", "@ops"}}).Jobs[0]
		for _, who := range []string{"bob"} {
			if err := f.d.ApproveJob(ctx, f.user(who, lathe.RoleWrite), job.ID); !errors.Is(err, lathe.ErrForbidden) {
				t.Errorf("approve by %s, not in the gate's from: err = %v, want forbidden", who, err)
			}
			if err := f.d.RejectJob(ctx, f.user(who, lathe.RoleWrite), job.ID, ""); !errors.Is(err, lathe.ErrForbidden) {
				t.Errorf("reject by %s, not in the gate's from: err = %v, want forbidden", who, err)
			}
		}
		if err := f.d.ApproveJob(ctx, f.user("alice", lathe.RoleRead), job.ID); !errors.Is(err, lathe.ErrForbidden) {
			t.Errorf("approve by alice with read only: err = %v, want forbidden", err)
		}
		if st := jobStatus(t, f, job.ID); st.Terminal() || st == lathe.StatusQueued {
			t.Fatalf("job is %s after refused approvals; want it at its gate", st)
		}
		// carol is in @ops.
		if err := f.d.ApproveJob(ctx, f.user("carol", lathe.RoleWrite), job.ID); err != nil {
			t.Fatalf("approve by carol of @ops: %v", err)
		}
		if st := jobStatus(t, f, job.ID); st != lathe.StatusQueued {
			t.Errorf("job is %s after approval, want queued", st)
		}
		events, err := f.st.AuditEvents(ctx, store.AuditFilter{Action: "approval.given", Limit: 10})
		if err != nil || len(events.Items) != 1 || events.Items[0].Actor != "carol" {
			t.Errorf("audit of the approval = %+v, %v; want one by carol", events.Items, err)
		}
	})
}

func TestAdminAnswersEveryGate(t *testing.T) {
	forEachEngine(t, func(t *testing.T, f *fixture) {
		job := f.run(t, false, &lathe.Approval{From: []string{"alice"}}).Jobs[0]
		admin := dispatch.Actor{UserID: 1, User: "root", Admin: true, Project: f.project, Role: lathe.RoleOwner}
		if err := f.d.ApproveJob(t.Context(), admin, job.ID); err != nil {
			t.Fatalf("approve by an admin: %v", err)
		}
	})
}

func TestRejectCancelsTheJob(t *testing.T) {
	forEachEngine(t, func(t *testing.T, f *fixture) {
		job := f.run(t, false, &lathe.Approval{From: []string{"alice"}}).Jobs[0]
		if err := f.d.RejectJob(t.Context(), f.user("alice", lathe.RoleWrite), job.ID, ""); err != nil {
			t.Fatalf("reject by alice: %v", err)
		}
		if st := jobStatus(t, f, job.ID); st != lathe.StatusCanceled {
			t.Errorf("job is %s after rejection, want canceled", st)
		}
		if as := f.claim(t); as != nil {
			t.Errorf("a rejected job was claimed: %s", as.Job)
		}
	})
}

func TestUserActionsNeedWrite(t *testing.T) {
	forEachEngine(t, func(t *testing.T, f *fixture) {
		run := f.run(t, false, nil)
		reader := f.user("rita", lathe.RoleRead)
		ctx := t.Context()
		errOf := func(_ *lathe.Run, err error) error { return err }
		for name, err := range map[string]error{
			"cancel run":   f.d.CancelRun(ctx, reader, run.ID),
			"cancel job":   f.d.CancelJob(ctx, reader, run.Jobs[0].ID),
			"rerun job":    errOf(f.d.RerunJob(ctx, reader, run.Jobs[0].ID)),
			"rerun failed": errOf(f.d.RerunFailed(ctx, reader, run.ID)),
			"approve run":  f.d.ApproveRun(ctx, reader, run.ID),
		} {
			if !errors.Is(err, lathe.ErrForbidden) {
				t.Errorf("%s by a reader: err = %v, want forbidden", name, err)
			}
		}
		if st := jobStatus(t, f, run.Jobs[0].ID); st != lathe.StatusQueued {
			t.Errorf("job is %s after a reader's actions, want queued", st)
		}
		if err := f.d.CancelRun(ctx, f.user("walt", lathe.RoleWrite), run.ID); err != nil {
			t.Fatalf("cancel by a writer: %v", err)
		}
		if st := jobStatus(t, f, run.Jobs[0].ID); st != lathe.StatusCanceled {
			t.Errorf("job is %s after cancel, want canceled", st)
		}
	})
}

func TestReportChecksItsInput(t *testing.T) {
	forEachEngine(t, func(t *testing.T, f *fixture) {
		f.run(t, false, nil)
		as := f.claim(t)
		agent := dispatch.Actor{Agent: f.agent}
		_, err := f.d.Report(t.Context(), agent, as.AttemptID, &lathe.Report{LogOffset: -1})
		if !errors.Is(err, lathe.ErrInvalid) || err.Error() != "log_offset: must not be negative" {
			t.Errorf("negative offset: err = %v, want invalid input", err)
		}
		reply, err := f.d.Report(t.Context(), agent, as.AttemptID, &lathe.Report{Log: []byte("ok\n"),
			Finish: &lathe.FinishReport{Status: lathe.StatusSuccess, LogSize: 3}})
		if err != nil || !reply.Finished {
			t.Fatalf("finish: %+v, %v", reply, err)
		}
		if _, err := f.d.Report(t.Context(), agent, as.AttemptID, &lathe.Report{}); !errors.Is(err, lathe.ErrFenced) {
			t.Errorf("report after finish: err = %v, want fenced", err)
		}
	})
}
