package server_test

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/lathe-ci/lathe/internal/lathetest"
	"github.com/lathe-ci/lathe/provision"
	"github.com/lathe-ci/lathe/store"
)

// An agent the process provider lists under a group that is no instance
// of any group (here one started by hand where the provider keeps its
// agents) is stopped, not adopted; and it was not authorized by being
// there: it registered with an admin's token, on a server whose agents
// need authorization.
func TestProviderStopsListedAgentsWithoutAnInstance(t *testing.T) {
	bin := lathetest.Binary(t)
	killAgents(t, bin)
	l := lathetest.Start(t, lathetest.Options{Agents: -1, ProviderBinary: bin, ProvisionInterval: 100 * time.Millisecond})
	l.Server.API.RequireAgentAuthorization(true)
	token := l.RegistrationToken(t)
	dir := filepath.Join(l.DataDir, "provider", "pool-stray")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "agent", "--server", l.URL, "--name", "pool-stray", "--labels", "ondemand", "--work-dir", dir, "--executor", "shell")
	cmd.Env = append(os.Environ(), "LATHE_REGISTRATION_TOKEN="+token, "LATHE_TOKEN=")
	out := &lathetest.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	})
	waitUntil(t, 30*time.Second, "the stray agent registered", func() bool {
		a, err := l.Server.Store.Agent(t.Context(), "pool-stray")
		return err == nil && a != nil
	})
	if a, _ := l.Server.Store.Agent(t.Context(), "pool-stray"); a.Authorized || len(a.Groups) != 0 {
		t.Errorf("an agent started by hand was authorized (%v) or put in a group (%q)", a.Authorized, a.Groups)
	}
	l.Do(t, http.MethodPost, "/api/v1/agent-groups", map[string]any{"name": "pool",
		"provider": map[string]any{"kind": "process", "labels": []string{"ondemand"}, "max": 1, "idle_timeout_sec": 60}}, nil)
	select {
	case <-exited:
	case <-time.After(60 * time.Second):
		t.Fatalf("the stray agent still runs; its output:\n%s", out.String())
	}
	page, err := l.Server.Store.AuditEvents(t.Context(), store.AuditFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	for _, e := range page.Items {
		stopped = stopped || e.Actor == provision.Actor && e.Action == "agent_instance.stop" &&
			e.Details["instance"] == "pool-stray" && e.Details["reason"] == provision.ReasonUnknown
	}
	if !stopped {
		t.Errorf("no audit event of the stray agent's stop")
	}
	if in := instances(t, l, "pool"); len(in) != 0 {
		t.Errorf("the stray agent was adopted: %+v", in)
	}
}
