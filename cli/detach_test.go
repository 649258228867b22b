package cli_test

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// Ctrl-C during `lathe run --follow` detaches: the run goes on, and the
// command says how to follow it again, printing no "context canceled".
// Two Ctrl-C in a row cancel the run (stdin is no terminal: no question).
func TestCtrlCDetachesAndTwiceCancels(t *testing.T) {
	bin := lathetest.Binary(t)
	l := lathetest.Start(t, lathetest.Options{Agents: 1})
	l.Project(t, "shop", lathetest.Repo(t, map[string]string{".lathe.yml": `
jobs:
  deploy:
    approval: {from: [admin]}
    steps: [echo shipped]
`}))
	follow := func() (*lathetest.Process, int64) {
		t.Helper()
		p := lathetest.StartProcess(t, bin, "run", "shop", "--follow", "--server", l.URL, "--token", l.AdminToken)
		for i := 0; i < 600 && !strings.Contains(p.Output.String(), "[deploy] waiting: approval from admin"); i++ {
			time.Sleep(100 * time.Millisecond)
		}
		out := p.Output.String()
		var id int64
		if _, err := fmt.Sscanf(out, "run %d:", &id); err != nil || !strings.Contains(out, "waiting: approval") {
			t.Fatalf("run --follow did not start following: %v\n%s", err, out)
		}
		return p, id
	}

	p, id := follow()
	p.Signal(t, syscall.SIGINT)
	if code := p.Wait(t, time.Minute); code != 130 {
		t.Errorf("detached run --follow exited %d, want 130", code)
	}
	out := p.Output.String()
	if want := fmt.Sprintf("Detached: run %d goes on. Follow it again with: lathe logs -f %d --server %s", id, id, l.URL); !strings.Contains(out, want) {
		t.Errorf("detaching did not say %q:\n%s", want, out)
	}
	if strings.Contains(out, "context canceled") {
		t.Errorf("Ctrl-C printed context canceled:\n%s", out)
	}
	if st := l.Run(t, id).Status; st.Terminal() {
		t.Errorf("detaching ended the run: %s", st)
	}

	p, id = follow()
	p.Signal(t, syscall.SIGINT)
	for i := 0; i < 600 && !strings.Contains(p.Output.String(), "Ctrl-C again"); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	p.Signal(t, syscall.SIGINT)
	p.Wait(t, time.Minute)
	if out := p.Output.String(); !strings.Contains(out, fmt.Sprintf("cancel of run %d requested", id)) || strings.Contains(out, "context canceled") {
		t.Errorf("two Ctrl-C did not cancel the run:\n%s", out)
	}
	if r := l.Wait(t, id, time.Minute); r.Status != lathe.StatusCanceled {
		t.Errorf("run %d after two Ctrl-C: %s, want canceled", id, r.Status)
	}
}
