package server_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// attackSteps try to read what no job may see. Each prints what it read,
// so any success leaves the bytes in the job's log.
func attackSteps(dataDir, agentDir string) string {
	targets := []string{
		filepath.Join(dataDir, "secret.key"),
		filepath.Join(dataDir, "admin.token"),
		filepath.Join(dataDir, "lathe.db"),
		filepath.Join(agentDir, "agent.token"),
		filepath.Join(agentDir, "credential"),
	}
	var b strings.Builder
	for _, t := range targets {
		fmt.Fprintf(&b, "      - cat %q || true\n", t)
	}
	fmt.Fprintf(&b, "      - ls -laR %q || true\n", dataDir)
	fmt.Fprintf(&b, "      - ls -laR %q || true\n", agentDir)
	b.WriteString("      - cat /proc/*/environ | tr '\\0' '\\n' || true\n")
	b.WriteString("      - env\n")
	return b.String()
}

// The forbidden bytes: the server's key and admin token, the database's
// header, the agent's credential, and the server's own environment.
func forbidden(t *testing.T, dataDir, agentDir string) map[string]string {
	t.Helper()
	out := map[string]string{"the SQLite database": "SQLite format 3"}
	for name, path := range map[string]string{
		"secret.key":  filepath.Join(dataDir, "secret.key"),
		"admin.token": filepath.Join(dataDir, "admin.token"),
	} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = strings.TrimSpace(string(b))
	}
	if agentDir != "" {
		ents, _ := os.ReadDir(agentDir)
		for _, e := range ents {
			if e.Type().IsRegular() {
				if b, _ := os.ReadFile(filepath.Join(agentDir, e.Name())); len(strings.TrimSpace(string(b))) >= 16 {
					out["the agent's "+e.Name()] = strings.TrimSpace(string(b))
				}
			}
		}
	}
	for _, k := range []string{"LATHE_TOKEN", "LATHE_REGISTRATION_TOKEN", "LATHE_DATABASE_URL", "PROXY_PASSWORD"} {
		out["the server's "+k] = os.Getenv(k)
	}
	return out
}

// A pipeline step tries to read the server's key, admin token and
// database, the agent's credential, every process's environment and its
// own: every attempt fails, and the log holds none of those bytes.
func TestStepsCannotReadTheServersOrAgentsFiles(t *testing.T) {
	// The server's own environment holds credentials no job may get.
	t.Setenv("LATHE_TOKEN", "lathe_user_envtokenvalue0123456789")
	t.Setenv("LATHE_REGISTRATION_TOKEN", "lathe_reg_envtokenvalue0123456789")
	t.Setenv("LATHE_DATABASE_URL", "postgres://lathe:dbpassword0123@127.0.0.1:1/x")
	t.Setenv("PROXY_PASSWORD", "proxy-password-0123456789")
	lathetest.NeedSandbox(t)
	l := lathetest.Start(t, lathetest.Options{})
	agentDir := filepath.Join(l.DataDir, "agents", "1")

	t.Run("embedded agent", func(t *testing.T) {
		repo := lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  attack:\n    steps:\n" + attackSteps(l.DataDir, agentDir)})
		l.Project(t, "attack", repo)
		r := l.Wait(t, l.Trigger(t, "attack", "", "").ID, time.Minute)
		checkAttackLog(t, l, r, forbidden(t, l.DataDir, ""))
	})

	t.Run("remote agent", func(t *testing.T) {
		dir := t.TempDir()
		l.StartAgent(t, l.RegistrationToken(t), "remote-1", dir, "remote")
		files := map[string]string{".lathe.yml": "jobs:\n  attack:\n    runs-on: [remote]\n    steps:\n" + attackSteps(l.DataDir, dir)}
		repo := lathetest.Repo(t, files)
		l.Project(t, "attack-remote", repo)
		r := l.Wait(t, l.Trigger(t, "attack-remote", "", "").ID, time.Minute)
		checkAttackLog(t, l, r, forbidden(t, l.DataDir, dir))
	})
}

func checkAttackLog(t *testing.T, l *lathetest.Lathe, r *lathe.Run, forbidden map[string]string) {
	t.Helper()
	j := lathetest.JobByName(t, r, "attack")
	log := l.Log(t, j.ID)
	if r.Status != lathe.StatusSuccess {
		t.Fatalf("run %s; log:\n%s", r.Status, log)
	}
	for what, value := range forbidden {
		if value != "" && strings.Contains(log, value) {
			t.Errorf("the job's log holds %s", what)
		}
	}
	for _, leak := range []string{"LATHE_SECRET_KEY", "LATHE_TOKEN", "LATHE_REGISTRATION_TOKEN", "LATHE_DATABASE_URL", "PROXY_PASSWORD"} {
		if strings.Contains(log, leak) {
			t.Errorf("the job's log names %s:\n%s", leak, log)
		}
	}
	if !strings.Contains(log, "LATHE_JOB=attack") {
		t.Errorf("the job's own environment is missing from its log:\n%s", log)
	}
}

// A job of one project cannot change another project's checkout while
// that job runs, even on the agent beside it.
func TestAJobCannotTouchAnotherJobsWorkspace(t *testing.T) {
	lathetest.NeedSandbox(t)
	l := lathetest.Start(t, lathetest.Options{})
	victim := lathetest.Repo(t, map[string]string{
		"code.txt": "original\n",
		".lathe.yml": `jobs:
  victim:
    timeout: 1m
    steps:
      - while [ ! -e release ]; do sleep 0.05; done
      - test ! -e pwned
      - grep -qx original code.txt
`,
	})
	wsRoot := filepath.Join(l.DataDir, "agents")
	attacker := lathetest.Repo(t, map[string]string{".lathe.yml": fmt.Sprintf(`jobs:
  attack:
    steps:
      - for d in %[1]s/*/ws/*; do echo pwned > "$d/pwned" || true; echo changed > "$d/code.txt" || true; done
      - ls %[1]s/*/ws || true
`, wsRoot)})
	l.Project(t, "victim", victim)
	l.Project(t, "attacker", attacker)
	vr := l.Trigger(t, "victim", "", "")
	ws := waitForWorkspace(t, wsRoot)
	ar := l.Wait(t, l.Trigger(t, "attacker", "", "").ID, time.Minute)
	if ar.Status != lathe.StatusSuccess {
		t.Fatalf("attacker run %s", ar.Status)
	}
	if b, _ := os.ReadFile(filepath.Join(ws, "code.txt")); string(b) != "original\n" {
		t.Errorf("the victim's checkout holds %q", b)
	}
	if err := os.WriteFile(filepath.Join(ws, "release"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r := l.Wait(t, vr.ID, time.Minute)
	if r.Status != lathe.StatusSuccess {
		t.Errorf("victim run %s; log:\n%s", r.Status, l.Log(t, lathetest.JobByName(t, r, "victim").ID))
	}
}

// waitForWorkspace waits for the one job workspace under root to hold a
// checkout, and returns it.
func waitForWorkspace(t *testing.T, root string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		m, _ := filepath.Glob(filepath.Join(root, "*", "ws", "*", "code.txt"))
		if len(m) == 1 {
			return filepath.Dir(m[0])
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("no job workspace appeared")
	return ""
}
