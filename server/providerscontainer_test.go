package server_test

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lathe-ci/lathe/internal/dockerapi"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/executor"
	"github.com/lathe-ci/lathe/internal/enginetest"
	"github.com/lathe-ci/lathe/internal/lathetest"
	"github.com/lathe-ci/lathe/provision"
	"github.com/lathe-ci/lathe/store"
)

// agentContainers counts the container provider's containers on the engine.
func agentContainers(t *testing.T, e *executor.Engine) int {
	t.Helper()
	f := dockerapi.Filters{"label": {provision.LabelProvider + "=1"}}
	cs, err := e.Client().ContainerList(context.Background(), true, f)
	if err != nil {
		t.Fatal(err)
	}
	return len(cs)
}

const containerProviderPipeline = `
jobs:
  first:
    runs-on: [group:boxes]
    steps: [cat /etc/os-release, test ! -e /usr/bin/bwrap]
  second:
    runs-on: [group:boxes]
    steps: [cat /etc/os-release]
`

// The container provider starts each agent in a container of the group's
// image (the server's lathe mounted in it) through Docker's daemon: on a
// server whose agents need authorization, its agents are authorized and
// in their group from the start, run real jobs (one each, one-shot) that
// wait for group:NAME, and their containers go once they exit. Removing
// the group's provider stops the agents it had started.
func TestContainerProviderRunsJobsInAgentContainers(t *testing.T) {
	e := enginetest.Engine(t)
	bin := lathetest.Binary(t)
	image := enginetest.AgentImage(t, e, bin)
	t.Cleanup(func() {
		if n := agentContainers(t, e); n > 0 {
			t.Errorf("%d agent containers left at the end", n)
			e.RemoveLabelled(context.Background(), provision.LabelProvider+"=1")
		}
	})
	repo := lathetest.Repo(t, map[string]string{".lathe.yml": containerProviderPipeline})
	l := lathetest.Start(t, lathetest.Options{Agents: -1, ProviderBinary: bin, ProvisionInterval: 100 * time.Millisecond,
		Executor: executor.Options{ContainerHost: e.Host}, ProviderContainerBinds: []string{filepath.Dir(repo) + ":" + filepath.Dir(repo) + ":ro"}})
	l.Server.API.RequireAgentAuthorization(true)
	l.Do(t, http.MethodPost, "/api/v1/agent-groups", map[string]any{"name": "boxes",
		"provider": map[string]any{"kind": "container", "image": image, "labels": []string{"boxed"}, "max": 2, "idle_timeout_sec": 60, "one_shot": true}}, nil)
	l.Project(t, "boxed", repo)
	run := l.Wait(t, l.Trigger(t, "boxed", "", "").ID, 120*time.Second)
	if run.Status != lathe.StatusSuccess {
		for _, j := range run.Jobs {
			t.Logf("%s:\n%s", j.Name, l.Log(t, j.ID))
		}
		t.Fatalf("run %s", run.Status)
	}
	seen := map[string]bool{}
	for _, name := range []string{"first", "second"} {
		job := l.Job(t, lathetest.JobByName(t, run, name).ID)
		agent := job.Attempts[len(job.Attempts)-1].Agent
		if !strings.HasPrefix(agent, "boxes-") || seen[agent] {
			t.Errorf("%s ran on %q: want a fresh agent of the group each", name, agent)
		}
		seen[agent] = true
		if log := l.Log(t, job.ID); !strings.Contains(log, enginetest.OSRelease) {
			t.Errorf("%s did not run in the agent's container:\n%s", name, log)
		}
	}
	waitUntil(t, 60*time.Second, "instances gone", func() bool { return len(instances(t, l, "boxes")) == 0 })
	waitUntil(t, 30*time.Second, "containers gone", func() bool { return agentContainers(t, e) == 0 })

	// A provider that keeps one agent; removing it stops that agent.
	l.Do(t, http.MethodPatch, "/api/v1/agent-groups/boxes", map[string]any{
		"provider": map[string]any{"kind": "container", "image": image, "labels": []string{"boxed"}, "min": 1, "max": 1, "idle_timeout_sec": 60}}, nil)
	waitUntil(t, 60*time.Second, "an idle agent kept", func() bool {
		in := instances(t, l, "boxes")
		return len(in) == 1 && in[0].State == lathe.InstanceReady
	})
	l.Do(t, http.MethodPatch, "/api/v1/agent-groups/boxes", map[string]any{"provider": nil}, nil)
	waitUntil(t, 60*time.Second, "instances gone once the provider is removed", func() bool { return len(instances(t, l, "boxes")) == 0 })
	waitUntil(t, 30*time.Second, "containers gone once the provider is removed", func() bool { return agentContainers(t, e) == 0 })
	page, err := l.Server.Store.AuditEvents(t.Context(), store.AuditFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	starts, removedStops := 0, 0
	for _, e := range page.Items {
		if e.Actor != provision.Actor {
			continue
		}
		t.Logf("%s %v", e.Action, e.Details)
		starts += boolCount(e.Action == "agent_instance.start")
		removedStops += boolCount(e.Action == "agent_instance.stop" && e.Details["reason"] == provision.ReasonProviderGone)
	}
	if starts != 3 || removedStops != 1 {
		t.Errorf("%d starts, %d stops for the removed provider; want 3 and 1", starts, removedStops)
	}
}

func boolCount(b bool) int {
	if b {
		return 1
	}
	return 0
}
