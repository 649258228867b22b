package server_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/agent"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// register registers an agent over HTTP with a registration token and
// returns the answer's status, the agent and its credential.
func register(t *testing.T, l *lathetest.Lathe, regToken, name string, labels ...string) (int, *lathe.Agent, string) {
	t.Helper()
	var out struct {
		Agent *lathe.Agent `json:"agent"`
		Token string       `json:"token"`
	}
	host := lathe.HostInfo{Hostname: "box-" + name, OS: "linux", Arch: "amd64", CPUs: 4, MemoryBytes: 8 << 30, Version: lathe.Version}
	err := l.ClientAs(t, regToken).Do(context.Background(), http.MethodPost, "/api/v1/agent/register",
		map[string]any{"name": name, "labels": labels, "host": host}, &out)
	if err != nil {
		return client.StatusOf(err), nil, ""
	}
	return http.StatusCreated, out.Agent, out.Token
}

// claimOnce polls once without waiting and returns the status and the
// Lathe-Agent-State header.
func claimOnce(t *testing.T, l *lathetest.Lathe, cred string) (int, string) {
	t.Helper()
	resp, err := l.ClientAs(t, cred).Request(context.Background(), http.MethodPost, "/api/v1/agent/claim?wait=0", nil, nil)
	if err != nil {
		return client.StatusOf(err), ""
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Lathe-Agent-State")
}

func getAgent(t *testing.T, l *lathetest.Lathe, key string) *lathe.Agent {
	t.Helper()
	var a lathe.Agent
	l.Do(t, http.MethodGet, "/api/v1/agents/"+key, nil, &a)
	return &a
}

// An admin's registration token lets an agent register and get its own
// credential; once revoked it registers no one, and agents it registered keep working.
func TestAgentRegistration(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		o.Agents = -1
		l := lathetest.Start(t, o)
		reg := l.RegistrationToken(t)
		if !strings.HasPrefix(reg, "lathe_reg_") {
			t.Errorf("registration token %q lacks its prefix", reg)
		}
		code, a, cred := register(t, l, reg, "builder-1", "linux", "go")
		if code != http.StatusCreated || !strings.HasPrefix(cred, "lathe_agent_") || !a.Authorized {
			t.Fatalf("register: %d %+v %q", code, a, cred)
		}
		if code, _ := claimOnce(t, l, cred); code != http.StatusNoContent {
			t.Errorf("claim with the new credential: %d, want 204", code)
		}
		got := getAgent(t, l, "builder-1")
		if got.Host.Hostname != "box-builder-1" || got.Host.CPUs != 4 || got.Host.Version != lathe.Version || !got.Online ||
			!slices.Equal(got.Labels, []string{"linux", "go"}) {
			t.Errorf("agent = %+v", got)
		}
		if code, _, _ := register(t, l, reg, "builder-1"); code != http.StatusConflict {
			t.Errorf("register a taken name: %d, want 409", code)
		}
		if code, _, _ := register(t, l, reg, "bad name!"); code != http.StatusBadRequest {
			t.Errorf("register a bad name: %d, want 400", code)
		}
		if code, _, _ := register(t, l, reg, "x", "group:sneaky"); code != http.StatusBadRequest {
			t.Errorf("register with a group: label: %d, want 400", code)
		}
		if code, _, _ := register(t, l, l.AdminToken, "admin-as-reg"); code != http.StatusUnauthorized {
			t.Errorf("register with the admin token: %d, want 401", code)
		}
		if code, _, _ := register(t, l, cred, "agent-as-reg"); code != http.StatusUnauthorized {
			t.Errorf("register with an agent credential: %d, want 401", code)
		}

		var list lathe.Page[*lathe.RegistrationToken]
		l.Do(t, http.MethodGet, "/api/v1/registration-tokens", nil, &list)
		if len(list.Items) != 1 || list.Items[0].Token != "" || list.Items[0].LastUsed == nil {
			t.Fatalf("registration tokens = %+v; want one, used, without its secret", list.Items)
		}
		var revoked lathe.RegistrationToken
		l.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/registration-tokens/%d/revoke", list.Items[0].ID), nil, &revoked)
		if revoked.RevokedAt == nil {
			t.Errorf("revoke: %+v", revoked)
		}
		if code, _, _ := register(t, l, reg, "builder-2"); code != http.StatusUnauthorized {
			t.Errorf("register with a revoked token: %d, want 401", code)
		}
		if code, _ := claimOnce(t, l, cred); code != http.StatusNoContent {
			t.Errorf("claim by an agent registered before the revocation: %d, want 204", code)
		}
	})
}

// A restarted agent reuses the credential in its work directory: it does
// not register again (its registration token may be revoked by then).
func TestAgentCredentialSurvivesRestart(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	dir := t.TempDir()
	first := l.StartAgent(t, l.RegistrationToken(t), "keeper", dir, "keep")
	first.Stop()
	info, err := os.Stat(filepath.Join(dir, agent.CredentialFile))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("credential file: %v (mode %v); want mode 0600", err, info.Mode())
	}
	second := l.StartAgent(t, "", "keeper", dir, "keep")
	if second.Token != first.Token {
		t.Errorf("restarted agent got a new credential")
	}
	var page lathe.Page[*lathe.Agent]
	l.Do(t, http.MethodGet, "/api/v1/agents", nil, &page)
	if len(page.Items) != 1 {
		t.Errorf("agents after restart = %d, want 1 (no second registration)", len(page.Items))
	}
	repo := lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  j:\n    runs-on: [keep]\n    steps: [echo again]\n"})
	l.Project(t, "keep", repo)
	if r := l.Wait(t, l.Trigger(t, "keep", "", "").ID, 30*time.Second); r.Status != lathe.StatusSuccess {
		t.Errorf("run on the restarted agent: %s", r.Status)
	}
}

// agentAskedSince waits until the agent has asked for work after since: a
// job it may not take is still queued once it has had that chance.
func agentAskedSince(t *testing.T, l *lathetest.Lathe, name string, since time.Time) {
	t.Helper()
	waitFor(t, 30*time.Second, name+" asking for work", func() bool {
		a := getAgent(t, l, name)
		return a.LastSeen != nil && a.LastSeen.After(since)
	})
}

// With authorization required, a new agent keeps polling (and is seen) but
// gets no work until an admin authorizes it; a disabled agent gets none either.
func TestAgentAuthorizationAndDisable(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	l.API.RequireAgentAuthorization(true)
	ra := l.StartAgent(t, l.RegistrationToken(t), "newcomer", "", "linux")
	repo := lathetest.Repo(t, map[string]string{".lathe.yml": "jobs:\n  j:\n    steps: [echo authorized]\n"})
	l.Project(t, "auth", repo)
	run := l.Trigger(t, "auth", "", "")
	agentAskedSince(t, l, "newcomer", time.Now())
	if r := l.Run(t, run.ID); r.Status != lathe.StatusQueued {
		t.Fatalf("run with only an unauthorized agent: %s, want queued", r.Status)
	}
	a := getAgent(t, l, "newcomer")
	if a.Authorized || a.LastSeen == nil || !a.Online {
		t.Errorf("unauthorized agent = %+v; want unauthorized, seen and online", a)
	}
	if code, state := claimOnce(t, l, ra.Token); code != http.StatusNoContent || state != "unauthorized" {
		t.Errorf("claim by an unauthorized agent: %d %q, want 204 unauthorized", code, state)
	}
	var unauth lathe.Page[*lathe.Agent]
	l.Do(t, http.MethodGet, "/api/v1/agents?authorized=false", nil, &unauth)
	if len(unauth.Items) != 1 || unauth.Items[0].Name != "newcomer" {
		t.Errorf("authorized=false lists %+v", unauth.Items)
	}

	start := time.Now()
	l.Do(t, http.MethodPatch, "/api/v1/agents/newcomer", map[string]any{"authorized": true}, nil)
	if r := l.Wait(t, run.ID, 30*time.Second); r.Status != lathe.StatusSuccess {
		t.Fatalf("run after authorizing: %s", r.Status)
	}
	// The waiting claim was woken; the job did not wait for the next poll.
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("job started %v after authorization; want at once", d)
	}

	l.Do(t, http.MethodPatch, "/api/v1/agents/newcomer", map[string]any{"disabled": true}, nil)
	second := l.Trigger(t, "auth", "", "")
	agentAskedSince(t, l, "newcomer", time.Now())
	if r := l.Run(t, second.ID); r.Status != lathe.StatusQueued {
		t.Fatalf("run with only a disabled agent: %s, want queued", r.Status)
	}
	if code, state := claimOnce(t, l, ra.Token); code != http.StatusNoContent || state != "disabled" {
		t.Errorf("claim by a disabled agent: %d %q, want 204 disabled", code, state)
	}
	l.Do(t, http.MethodPatch, "/api/v1/agents/newcomer", map[string]any{"disabled": false}, nil)
	if r := l.Wait(t, second.ID, 30*time.Second); r.Status != lathe.StatusSuccess {
		t.Fatalf("run after enabling: %s", r.Status)
	}
	var attempts lathe.Page[*lathe.Attempt]
	l.Do(t, http.MethodGet, "/api/v1/agents/newcomer/attempts?limit=1", nil, &attempts)
	if len(attempts.Items) != 1 || attempts.Next == nil || attempts.Items[0].Status != lathe.StatusSuccess {
		t.Errorf("agent attempts page 1 = %+v", attempts)
	}
}

// PATCH /agents changes several agents in one request, all or none; the
// list filters and pages.
func TestAgentsBulkUpdateFiltersAndPages(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		o.Agents = -1
		l := lathetest.Start(t, o)
		reg := l.RegistrationToken(t)
		ids := map[string]int64{}
		for _, n := range []string{"a1", "a2", "a3", "a4"} {
			code, a, _ := register(t, l, reg, n, "linux")
			if code != http.StatusCreated {
				t.Fatalf("register %s: %d", n, code)
			}
			ids[n] = a.ID
		}
		var out lathe.Page[*lathe.Agent]
		l.Do(t, http.MethodPatch, "/api/v1/agents", []map[string]any{
			{"id": ids["a1"], "disabled": true},
			{"id": ids["a2"], "labels": []string{"linux", "gpu"}, "name": "gpu-1"},
			{"id": ids["a3"], "authorized": false},
		}, &out)
		if len(out.Items) != 3 || !out.Items[0].Disabled || out.Items[1].Name != "gpu-1" || out.Items[2].Authorized {
			t.Errorf("bulk update answer = %+v", out.Items)
		}
		bad := []struct {
			body any
			want int
		}{
			{[]map[string]any{{"id": ids["a4"], "disabled": true}, {"id": ids["a1"], "name": "gpu-1"}}, http.StatusConflict},
			{[]map[string]any{{"id": ids["a4"], "disabled": true}, {"id": 999999, "disabled": true}}, http.StatusNotFound},
			{[]map[string]any{{"id": ids["a4"], "disabled": true}, {"id": ids["a4"], "disabled": false}}, http.StatusBadRequest},
			{[]map[string]any{{"id": ids["a4"], "color": "red"}}, http.StatusBadRequest},
			{[]map[string]any{{"disabled": true}}, http.StatusBadRequest},
			{[]map[string]any{}, http.StatusBadRequest},
		}
		for _, c := range bad {
			err := l.Client.Do(context.Background(), http.MethodPatch, "/api/v1/agents", c.body, nil)
			if client.StatusOf(err) != c.want {
				t.Errorf("PATCH /agents %v: %v, want %d", c.body, err, c.want)
			}
		}
		if a := getAgent(t, l, "a4"); a.Disabled {
			t.Errorf("a failed batch changed a4: %+v", a)
		}
		list := func(q string) []string {
			var p lathe.Page[*lathe.Agent]
			l.Do(t, http.MethodGet, "/api/v1/agents?"+q, nil, &p)
			var names []string
			for _, a := range p.Items {
				names = append(names, a.Name)
			}
			return names
		}
		for q, want := range map[string][]string{
			"":                               {"a4", "a3", "gpu-1", "a1"},
			"disabled=true":                  {"a1"},
			"authorized=false":               {"a3"},
			"authorized=true&disabled=false": {"a4", "gpu-1"},
			"label=gpu":                      {"gpu-1"},
			"online=true":                    {"a4", "a3", "gpu-1", "a1"},
			"online=false":                   nil,
		} {
			if got := list(q); !slices.Equal(got, want) {
				t.Errorf("GET /agents?%s = %v, want %v", q, got, want)
			}
		}
		var names []string
		path := "/api/v1/agents?limit=3"
		for range 5 {
			var p lathe.Page[*lathe.Agent]
			l.Do(t, http.MethodGet, path, nil, &p)
			for _, a := range p.Items {
				names = append(names, a.Name)
			}
			if p.Next == nil {
				break
			}
			path = fmt.Sprintf("/api/v1/agents?limit=3&before=%d", *p.Next)
		}
		if want := []string{"a4", "a3", "gpu-1", "a1"}; !slices.Equal(names, want) {
			t.Errorf("paged agents = %v, want %v", names, want)
		}
		if err := l.Client.Do(context.Background(), http.MethodGet, "/api/v1/agents?online=maybe", nil, nil); client.StatusOf(err) != http.StatusBadRequest {
			t.Errorf("online=maybe: %v, want 400", err)
		}
		l.Do(t, http.MethodDelete, "/api/v1/agents/a4", nil, nil)
		if err := l.Client.Do(context.Background(), http.MethodGet, "/api/v1/agents/a4", nil, nil); client.StatusOf(err) != http.StatusNotFound {
			t.Errorf("get a deleted agent: %v, want 404", err)
		}
	})
}

// Groups are CRUD resources with members; a job with runs-on [group:NAME]
// runs only on the group's members.
func TestAgentGroupsRouteJobs(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	reg := l.RegistrationToken(t)
	l.StartAgent(t, reg, "outsider", "", "linux")
	l.StartAgent(t, reg, "member", "", "linux")

	var g lathe.AgentGroup
	l.Do(t, http.MethodPost, "/api/v1/agent-groups", map[string]string{"name": "gpu-pool", "description": "GPUs"}, &g)
	if err := l.Client.Do(context.Background(), http.MethodPost, "/api/v1/agent-groups", map[string]string{"name": "gpu-pool"}, nil); client.StatusOf(err) != http.StatusConflict {
		t.Errorf("create a taken group name: %v, want 409", err)
	}
	l.Do(t, http.MethodPost, "/api/v1/agent-groups/gpu-pool/agents", map[string]any{"agents": []string{"member"}}, &g)
	if g.AgentsCount != 1 {
		t.Errorf("group after adding = %+v", g)
	}
	var members lathe.Page[*lathe.Agent]
	l.Do(t, http.MethodGet, "/api/v1/agent-groups/gpu-pool/agents", nil, &members)
	if len(members.Items) != 1 || members.Items[0].Name != "member" || !slices.Equal(members.Items[0].Groups, []string{"gpu-pool"}) {
		t.Errorf("members = %+v", members.Items)
	}

	repo := lathetest.Repo(t, map[string]string{".lathe.yml": `jobs:
  a:
    runs-on: [group:gpu-pool]
    steps: [echo a]
  b:
    runs-on: [linux, group:gpu-pool]
    steps: [echo b]
  c:
    runs-on: group:gpu-pool
    steps: [echo c]
`})
	l.Project(t, "gpu", repo)
	r := l.Wait(t, l.Trigger(t, "gpu", "", "").ID, 60*time.Second)
	if r.Status != lathe.StatusSuccess {
		t.Fatalf("run: %s", r.Status)
	}
	for _, j := range r.Jobs {
		job := l.Job(t, j.ID)
		if len(job.Attempts) == 0 || job.Attempts[0].Agent != "member" {
			t.Errorf("job %s ran on %+v, want member", j.Name, job.Attempts)
		}
	}
	var outsiderRan lathe.Page[*lathe.Attempt]
	l.Do(t, http.MethodGet, "/api/v1/agents/outsider/attempts", nil, &outsiderRan)
	if len(outsiderRan.Items) != 0 {
		t.Errorf("outsider ran %d attempts", len(outsiderRan.Items))
	}

	// Rename, list, remove the member, delete.
	l.Do(t, http.MethodPatch, "/api/v1/agent-groups/gpu-pool", map[string]string{"name": "gpus"}, &g)
	var groups lathe.Page[*lathe.AgentGroup]
	l.Do(t, http.MethodGet, "/api/v1/agent-groups", nil, &groups)
	if len(groups.Items) != 1 || groups.Items[0].Name != "gpus" || groups.Items[0].Description != "GPUs" {
		t.Errorf("groups = %+v", groups.Items)
	}
	if a := getAgent(t, l, "member"); !slices.Equal(a.Groups, []string{"gpus"}) {
		t.Errorf("member's groups after rename = %v", a.Groups)
	}
	l.Do(t, http.MethodDelete, "/api/v1/agent-groups/gpus/agents/member", nil, nil)
	l.Do(t, http.MethodGet, "/api/v1/agent-groups/gpus", nil, &g)
	if g.AgentsCount != 0 {
		t.Errorf("group after removing = %+v", g)
	}
	l.Do(t, http.MethodDelete, "/api/v1/agent-groups/gpus", nil, nil)
	if err := l.Client.Do(context.Background(), http.MethodGet, "/api/v1/agent-groups/gpus", nil, nil); client.StatusOf(err) != http.StatusNotFound {
		t.Errorf("get a deleted group: %v, want 404", err)
	}
}

// A claim with nothing to do holds until its wait is over, however short:
// a one-second poll must not answer at once, or idle agents spin.
func TestShortClaimWaitsItsWholeWait(t *testing.T) {
	l := lathetest.Start(t, lathetest.Options{Agents: -1})
	_, _, cred := register(t, l, l.RegistrationToken(t), "patient")
	start := time.Now()
	resp, err := l.ClientAs(t, cred).Request(context.Background(), http.MethodPost, "/api/v1/agent/claim?wait=1", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("claim with no work = %d; want 204", resp.StatusCode)
	}
	if waited := time.Since(start); waited < 900*time.Millisecond {
		t.Errorf("a claim with wait=1 answered after %v; it must hold for its wait", waited)
	}
}
