package engine

import (
	"reflect"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
)

func TestProvisionStartsForWaitingJobsStopsIdleAndNeverPassesMax(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	ago := func(d time.Duration) *time.Time { t := now.Add(-d); return &t }
	inst := func(id int64, state string, idle *time.Time, ran int) *lathe.AgentInstance {
		return &lathe.AgentInstance{ID: id, State: state, IdleSince: idle, Ran: ran}
	}
	prov := lathe.AgentProvider{Kind: "process", Labels: []string{"linux"}, Min: 0, Max: 3, IdleTimeoutSec: 60}
	oneShot := prov
	oneShot.OneShot = true
	withMin := prov
	withMin.Min = 1
	job := []string{"linux"}
	cases := []struct {
		name      string
		p         lathe.AgentProvider
		queued    [][]string
		instances []*lathe.AgentInstance
		want      ProvisionDecision
	}{
		{"nothing waits, nothing runs", prov, nil, nil, ProvisionDecision{}},
		{"a waiting job starts one", prov, [][]string{job}, nil, ProvisionDecision{Start: 1, Waiting: 1}},
		{"a job needing group:pool starts one", prov, [][]string{{"group:pool"}}, nil, ProvisionDecision{Start: 1, Waiting: 1}},
		{"a job for other labels starts none", prov, [][]string{{"windows"}}, nil, ProvisionDecision{}},
		{"five jobs start max", prov, [][]string{job, job, job, job, job}, nil, ProvisionDecision{Start: 3, Waiting: 5}},
		{"a starting instance covers a job", prov, [][]string{job}, []*lathe.AgentInstance{inst(1, "starting", nil, 0)}, ProvisionDecision{Waiting: 1}},
		{"a busy one does not", prov, [][]string{job}, []*lathe.AgentInstance{inst(1, "busy", nil, 1)}, ProvisionDecision{Start: 1, Waiting: 1}},
		{"stopping ones count against max", prov, [][]string{job, job, job},
			[]*lathe.AgentInstance{inst(1, "stopping", nil, 0), inst(2, "stopping", nil, 0), inst(3, "busy", nil, 0)}, ProvisionDecision{Waiting: 3}},
		{"failed ones do not", prov, [][]string{job},
			[]*lathe.AgentInstance{inst(1, "failed", nil, 0), inst(2, "failed", nil, 0), inst(3, "failed", nil, 0)}, ProvisionDecision{Start: 1, Waiting: 1}},
		{"idle past the timeout stops", prov, nil, []*lathe.AgentInstance{inst(1, "ready", ago(61*time.Second), 1)}, ProvisionDecision{Stop: []int64{1}}},
		{"idle within the timeout stays", prov, nil, []*lathe.AgentInstance{inst(1, "ready", ago(59*time.Second), 1)}, ProvisionDecision{}},
		{"idle but a job waits for it stays", prov, [][]string{job}, []*lathe.AgentInstance{inst(1, "ready", ago(time.Hour), 1)}, ProvisionDecision{Waiting: 1}},
		{"min keeps one idle", withMin, nil, []*lathe.AgentInstance{inst(1, "ready", ago(time.Hour), 1)}, ProvisionDecision{}},
		{"min starts one", withMin, nil, nil, ProvisionDecision{Start: 1}},
		{"one-shot spent stops and a fresh one starts", oneShot, [][]string{job},
			[]*lathe.AgentInstance{inst(1, "ready", ago(0), 1)}, ProvisionDecision{Start: 1, Stop: []int64{1}, Waiting: 1}},
		{"one-shot spent at max starts none until it is gone", func() lathe.AgentProvider { p := oneShot; p.Max = 1; return p }(), [][]string{job},
			[]*lathe.AgentInstance{inst(1, "ready", ago(0), 1)}, ProvisionDecision{Stop: []int64{1}, Waiting: 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Provision(ProvisionInput{Group: "pool", Provider: c.p, Queued: c.queued, Instances: c.instances, Now: now})
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
			// Never more than max, whatever the input.
			live := 0
			for _, in := range c.instances {
				if in.State != "failed" {
					live++
				}
			}
			if live+got.Start > c.p.Max && got.Start > 0 {
				t.Errorf("starts %d with %d live: past max %d", got.Start, live, c.p.Max)
			}
		})
	}
}

func TestProvisionBacksOffAfterAFailure(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	p := lathe.AgentProvider{Kind: "process", Max: 3}
	failed := []*lathe.AgentInstance{{ID: 1, State: "failed", UpdatedAt: now.Add(-10 * time.Second)}}
	in := ProvisionInput{Group: "g", Provider: p, Queued: [][]string{{"group:g"}}, Instances: failed, Now: now, Backoff: 30 * time.Second}
	if d := Provision(in); d.Start != 0 {
		t.Fatalf("starts %d within the backoff", d.Start)
	}
	in.Now = now.Add(25 * time.Second)
	if d := Provision(in); d.Start != 1 {
		t.Fatalf("starts %d after the backoff, want 1", d.Start)
	}
}
