package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/client"
	"github.com/lathe-ci/lathe/internal/lathetest"
)

// Kraken's sequences: a pipeline with `numbering: per-branch` numbers each
// branch's runs from 1, a pipeline without it numbers all its runs from
// one sequence; an owner sets where a sequence stands (only forward), a
// writer may read it but not set it; the step sees the number as
// LATHE_RUN_NUMBER.
func TestRunNumberSequences(t *testing.T) {
	lathetest.Engines(t, func(t *testing.T, o lathetest.Options) {
		l := lathetest.Start(t, o)
		step := "jobs:\n  j:\n    steps: ['echo \"number=$LATHE_RUN_NUMBER\"']\n"
		repo := lathetest.Repo(t, map[string]string{
			".lathe/branchy.yml": "numbering: per-branch\n" + step,
			".lathe/flat.yml":    step,
		})
		lathetest.Git(t, repo, "branch", "dev")
		l.Project(t, "seq", repo)
		// number runs a pipeline at ref to its end and returns its number
		// and the number its step saw.
		number := func(ref, pipeline string) (int64, string) {
			t.Helper()
			r := l.Wait(t, l.Trigger(t, "seq", ref, pipeline).ID, 60*time.Second)
			if r.Status != lathe.StatusSuccess {
				t.Fatalf("run %d of %s at %s: %s", r.ID, pipeline, ref, r.Status)
			}
			seen := "?"
			for _, line := range strings.Split(l.Log(t, r.Jobs[0].ID), "\n") {
				if n, ok := strings.CutPrefix(strings.TrimSpace(line), "number="); ok {
					seen = n
				}
			}
			return r.Number, seen
		}
		check := func(what string, got int64, seen string, want int64) {
			t.Helper()
			if got != want || seen != fmt.Sprint(want) {
				t.Errorf("%s: run number %d, LATHE_RUN_NUMBER %s; want %d", what, got, seen, want)
			}
		}
		n, seen := number("main", "branchy")
		check("first run of branchy on main", n, seen, 1)
		n, seen = number("dev", "branchy")
		check("first run of branchy on dev", n, seen, 1)
		n, seen = number("main", "branchy")
		check("second run of branchy on main", n, seen, 2)
		n, seen = number("dev", "flat")
		check("first run of flat", n, seen, 1)
		n, seen = number("main", "flat")
		check("second run of flat, on another branch", n, seen, 2)

		path := "/api/v1/projects/seq/pipelines/branchy/sequence"
		var got lathe.Sequence
		l.Do(t, http.MethodGet, path+"?branch=dev", nil, &got)
		if got.Next != 2 || got.Branch != "dev" || got.Pipeline != "branchy" {
			t.Errorf("branchy's sequence of dev = %+v; want next 2", got)
		}
		l.Do(t, http.MethodPut, path+"?branch=main", map[string]any{"next": 10}, &got)
		if got.Next != 10 {
			t.Errorf("PUT next 10 answered %+v", got)
		}
		n, seen = number("main", "branchy")
		check("run of branchy on main after PUT next 10", n, seen, 10)
		n, seen = number("dev", "branchy")
		check("run of branchy on dev, unmoved by main's PUT", n, seen, 2)
		l.Do(t, http.MethodPut, "/api/v1/projects/seq/pipelines/flat/sequence", map[string]any{"next": 100}, nil)
		n, seen = number("main", "flat")
		check("run of flat after PUT next 100", n, seen, 100)
		l.Do(t, http.MethodGet, "/api/v1/projects/seq/pipelines/never-ran/sequence", nil, &got)
		if got.Next != 1 {
			t.Errorf("sequence of a pipeline with no run = %+v; want next 1", got)
		}

		ctx := context.Background()
		for _, tc := range []struct {
			path string
			body any
			want int
		}{
			{path + "?branch=main", map[string]any{"next": 10}, http.StatusConflict}, // 10 is used
			{path + "?branch=main", map[string]any{"next": 5}, http.StatusConflict},
			{path + "?branch=main", map[string]any{"next": 0}, http.StatusBadRequest},
			{path + "?branch=main", map[string]any{}, http.StatusBadRequest},
			{path + "?branch=main", map[string]any{"next": 20, "extra": 1}, http.StatusBadRequest},
			{"/api/v1/projects/seq/pipelines/bad%20name/sequence", map[string]any{"next": 20}, http.StatusBadRequest},
		} {
			err := l.Client.Do(ctx, http.MethodPut, tc.path, tc.body, nil)
			if client.StatusOf(err) != tc.want {
				t.Errorf("PUT %s %v: %v; want %d", tc.path, tc.body, err, tc.want)
			}
		}
		if n, _ := number("main", "branchy"); n != 11 {
			t.Errorf("run of branchy on main after refused PUTs = %d; want 11", n)
		}

		l.Do(t, http.MethodPost, "/api/v1/users", map[string]any{"name": "wendy", "password": "pw-wendy-123"}, nil)
		l.Do(t, http.MethodPut, "/api/v1/projects/seq/members/users/wendy", map[string]any{"role": "write"}, nil)
		writer := l.ClientAs(t, login(t, l, "wendy", "pw-wendy-123"))
		if err := writer.Do(ctx, http.MethodGet, path, nil, &got); err != nil {
			t.Errorf("a writer reads a sequence: %v", err)
		}
		if err := writer.Do(ctx, http.MethodPut, path, map[string]any{"next": 50}, nil); client.StatusOf(err) != http.StatusForbidden {
			t.Errorf("a writer sets a sequence: %v; want 403", err)
		}
		if ev := auditOf(t, l, "seq", "sequence.set"); len(ev) != 2 {
			t.Errorf("sequence.set audit entries = %d; want 2", len(ev))
		}
	})
}
