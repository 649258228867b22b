package server_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// serverProcess starts `lathe server` on addr with dir as its data directory
// (and any extra flags) and waits (bounded) until it answers.
func serverProcess(t *testing.T, bin, addr, dir, dbURL string, extra ...string) (*lathetest.Process, *lathetest.Lathe) {
	t.Helper()
	args := append([]string{"server", "--addr", addr, "--data", dir, "--agents", "0",
		"--lease-ttl", "10s", "--sweep-interval", "200ms", "--log-level", "warn"}, extra...)
	if dbURL != "" {
		args = append(args, "--database-url", dbURL)
	}
	p := lathetest.StartProcess(t, bin, args...)
	url := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		if p.Exited() {
			t.Fatalf("server exited at start; output:\n%s", p.Output.String())
		}
		if tok, err := os.ReadFile(filepath.Join(dir, "admin.token")); err == nil && len(strings.TrimSpace(string(tok))) > 0 {
			if resp, err := http.Get(url + "/api/v1/projects"); err == nil {
				resp.Body.Close()
				c := client.New(url, strings.TrimSpace(string(tok)))
				c.HTTP.Transport = lathetest.CheckOpenAPI(t, c.HTTP.Transport)
				return p, &lathetest.Lathe{Client: c, DataDir: dir}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not answering on %s within 30s; output:\n%s", addr, p.Output.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A server killed with SIGKILL while jobs run loses nothing: after a restart
// on the same address and data, the agents reconnect and carry on, every job
// ends in a terminal state, and every log byte the server served before the
// kill is still the start of the final log.
func TestServerKilledMidRunLosesNothing(t *testing.T) {
	bin := lathetest.Binary(t)
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		const lines = 30
		addr, dir := lathetest.FreeAddr(t), t.TempDir()
		srv, l := serverProcess(t, bin, addr, dir, o.DatabaseURL)

		step := fmt.Sprintf(`for i in $(seq 1 %d); do echo "job-$LATHE_JOB line $i"; sleep 0.1; done`, lines)
		jobNames := []string{"a", "b", "c"}
		var yml strings.Builder
		yml.WriteString("jobs:\n")
		for _, n := range jobNames {
			fmt.Fprintf(&yml, "  %s:\n    runs-on: [crash]\n    steps:\n      - '%s'\n", n, step)
		}
		l.Project(t, "crash", lathetest.Repo(t, map[string]string{".lathe/slow.yml": yml.String()}))
		reg := l.RegistrationToken(t)
		for i := 1; i <= 2; i++ {
			lathetest.StartProcess(t, bin, "agent", "--server", "http://"+addr, "--token", reg,
				"--name", fmt.Sprintf("crash-%d", i), "--labels", "crash", "--work-dir", t.TempDir(),
				"--heartbeat", "300ms", "--grace", "1s", "--poll-wait", "1", "--log-level", "warn")
		}

		run := l.Trigger(t, "crash", "", "slow")
		r := l.Run(t, run.ID)
		if len(r.Jobs) != len(jobNames) {
			t.Fatalf("run has %d jobs; want %d", len(r.Jobs), len(jobNames))
		}
		// Wait until some job has log bytes stored, then take what the
		// server serves of every job: those bytes were acknowledged.
		// Kill mid-step: a running attempt has stored bytes including a few
		// of its numbered lines (the third job is still queued).
		waitFor(t, 30*time.Second, "some log bytes stored", func() bool {
			for _, j := range r.Jobs {
				for _, a := range l.Job(t, j.ID).Attempts {
					if a.LogSize > 0 && a.Status == lathe.StatusRunning &&
						strings.Contains(l.Log(t, j.ID), fmt.Sprintf("job-%s line 5\n", j.Name)) {
						return true
					}
				}
			}
			return false
		})
		before := map[int64]string{}
		for _, j := range r.Jobs {
			before[j.ID] = l.Log(t, j.ID)
		}
		srv.Signal(t, syscall.SIGKILL)
		srv.Wait(t, 10*time.Second)
		killed := 0
		for _, s := range before {
			killed += len(s)
		}
		t.Logf("killed the server with %d log bytes acknowledged", killed)
		time.Sleep(time.Second)

		_, l = serverProcess(t, bin, addr, dir, o.DatabaseURL)
		done := l.Wait(t, run.ID, 60*time.Second)
		if done.Status != lathe.StatusSuccess {
			t.Errorf("run after the restart = %s; want success", done.Status)
		}
		for _, j := range done.Jobs {
			j = l.Job(t, j.ID)
			if !j.Status.Terminal() || j.Status != lathe.StatusSuccess {
				t.Errorf("job %s = %s; want success", j.Name, j.Status)
			}
			for _, a := range j.Attempts {
				if !a.Status.Terminal() {
					t.Errorf("job %s attempt %d = %s; want terminal", j.Name, a.Number, a.Status)
				}
			}
			if len(j.Attempts) != 1 {
				t.Errorf("job %s has %d attempts; want 1 (the agent carried on)", j.Name, len(j.Attempts))
			}
			final := l.Log(t, j.ID)
			if !strings.HasPrefix(final, before[j.ID]) {
				t.Errorf("job %s: log before the kill is not a prefix of the final log\nbefore: %q\nfinal:  %q", j.Name, before[j.ID], final)
			}
			for i := 1; i <= lines; i++ {
				line := fmt.Sprintf("job-%s line %d\n", j.Name, i)
				if c := strings.Count(final, line); c != 1 {
					t.Errorf("job %s: %q appears %d times in the final log; want once\nlog: %q", j.Name, line, c, final)
				}
			}
		}
	})
}
