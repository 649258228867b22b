package trigger_test

import (
	"path/filepath"
	"testing"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/git"
	"github.com/lathe-ci/lathe/internal/lathetest"
	"github.com/lathe-ci/lathe/store"
	"github.com/lathe-ci/lathe/trigger"
)

// The run the server stores is the plan `lathe exec` runs: a timeout with
// a fraction of a second is rounded up to whole seconds, never truncated
// to none, and a number parameter keeps the digits it was given.
func TestTriggerStoresThePlanExecRuns(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := t.TempDir()
	st, err := store.Open(ctx, filepath.Join(dir, "lathe.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tr := &trigger.Service{Store: st, Mirrors: &git.Mirrors{Dir: filepath.Join(dir, "git")}, Policy: git.Policy{DataDir: dir}}
	repo := lathetest.Repo(t, map[string]string{".lathe.yml": `
parameters:
  f: {type: number}
  big: {type: number, default: 12345678901234567890}
jobs:
  half: {timeout: 500ms, steps: ['sleep 3; echo slept']}
  one-and-a-half: {timeout: 1500ms, steps: [x]}
  minute: {timeout: 60, steps: [x]}
  default: {steps: [x]}
  million: {if: 'params.f == "1000000"', steps: [x]}
`})
	p := &lathe.Project{Name: "p", URL: repo, DefaultBranch: "main", URLByAdmin: true}
	if err := st.CreateProject(ctx, p); err != nil {
		t.Fatal(err)
	}
	run, err := tr.Trigger(ctx, p, trigger.Request{Event: "manual", Params: map[string]string{"f": "1000000"}})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := st.Run(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	timeouts := map[string]int64{}
	for _, j := range stored.Jobs {
		timeouts[j.Name] = j.TimeoutSec
	}
	want := map[string]int64{"half": 1, "one-and-a-half": 2, "minute": 60, "default": 3600, "million": 3600}
	for name, sec := range want {
		if got, ok := timeouts[name]; !ok || got != sec {
			t.Errorf("job %s: timeout_sec = %d (stored: %v), want %d", name, got, ok, sec)
		}
	}
	params := map[string]string{}
	for _, v := range stored.Params {
		params[v.Name] = v.Value
	}
	if params["f"] != "1000000" || params["big"] != "12345678901234567890" {
		t.Errorf("stored params = %v", stored.Params)
	}
}
