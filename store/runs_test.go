package store_test

import (
	"fmt"
	"reflect"
	"testing"

	lathe "github.com/lathe-ci/lathe"
	"github.com/lathe-ci/lathe/store"
)

func TestRunsAreNumberedPerProjectAndPipeline(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		web, api := mustProject(t, s, "web"), mustProject(t, s, "api")
		for i, tc := range []struct {
			project  *lathe.Project
			pipeline string
			want     int64
		}{
			{web, "ci", 1},
			{web, "ci", 2},
			{web, "nightly", 1},
			{api, "ci", 1},
			{web, "ci", 3},
			{web, "nightly", 2},
			{api, "ci", 2},
		} {
			r := mustRun(t, s, tc.project.ID, tc.pipeline, []string{"build"}, job("compile", "build"))
			if r.Number != tc.want {
				t.Errorf("run %d (%s/%s) is #%d, want #%d", i, tc.project.Name, tc.pipeline, r.Number, tc.want)
			}
		}
	})
}

func TestCreateRunStoresStagesAndJobsAndQueuesWhatWaitsForNothing(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		p := mustProject(t, s, "web")
		unit := &lathe.Job{Name: "unit", Stage: "test", Needs: []string{"compile"}, Deps: []string{"compile"},
			RunsOn: []string{"linux", "amd64"}, TimeoutSec: 900,
			Env:   []lathe.EnvVar{{Name: "Z", Value: "last"}, {Name: "A", Value: "first"}},
			Steps: []lathe.StepDef{{Name: "deps", Run: "go mod download"}, {Name: "test", Run: "go test ./..."}}}
		r := mustCreateRun(t, s, &lathe.Run{ProjectID: p.ID, Pipeline: "ci", Ref: "refs/tags/v1.0.0", Branch: "",
			Commit: "cafe", Event: "tag"},
			[]string{"build", "test", "deploy", "notify"},
			job("compile", "build"),
			job("lint", "build"),
			unit,
			job("e2e", "test", "compile", "lint"),
			job("ship", "deploy", "unit", "e2e"),
		)

		got := mustGetRun(t, s, r.ID)
		if got.ID != r.ID || got.ProjectID != p.ID || got.Project != "web" || got.Pipeline != "ci" || got.Number != 1 ||
			got.Ref != "refs/tags/v1.0.0" || got.Branch != "" || got.Commit != "cafe" || got.Event != "tag" {
			t.Errorf("run = %+v", got)
		}
		if got.Status != lathe.StatusQueued || got.StartedAt != nil || got.FinishedAt != nil || got.DurationMS != nil {
			t.Errorf("new run: status %s started %v finished %v duration %v, want queued and no timings",
				got.Status, got.StartedAt, got.FinishedAt, got.DurationMS)
		}

		var stages []string
		for i, st := range got.Stages {
			stages = append(stages, fmt.Sprintf("%d:%s:%s", st.Position, st.Name, st.Status))
			if st.RunID != r.ID || st.Position != i {
				t.Errorf("stage %d = %+v", i, st)
			}
		}
		wantStages := []string{"0:build:queued", "1:test:pending", "2:deploy:pending", "3:notify:pending"}
		if fmt.Sprint(stages) != fmt.Sprint(wantStages) {
			t.Errorf("stages = %v, want %v", stages, wantStages)
		}

		wantJobs := map[string]lathe.Status{"compile": "queued", "lint": "queued", "unit": "pending", "e2e": "pending", "ship": "pending"}
		if js := jobStatuses(got); !reflect.DeepEqual(js, wantJobs) {
			t.Errorf("job statuses = %v, want %v", js, wantJobs)
		}
		gu := jobNamed(t, got, "unit")
		if gu.RunID != r.ID || gu.StageID != got.Stages[1].ID || gu.Stage != "test" || gu.Attempt != 0 || gu.TimeoutSec != 900 ||
			!reflect.DeepEqual(gu.Needs, unit.Needs) || !reflect.DeepEqual(gu.Deps, unit.Deps) ||
			!reflect.DeepEqual(gu.RunsOn, unit.RunsOn) || !reflect.DeepEqual(gu.Env, unit.Env) || !reflect.DeepEqual(gu.Steps, unit.Steps) {
			t.Errorf("unit read back as %+v, want %+v", gu, unit)
		}
		if e := jobNamed(t, got, "e2e"); e.Needs == nil || len(e.Needs) != 0 || e.RunsOn == nil || e.Env == nil {
			t.Errorf("unset lists of e2e should read back empty, not null: needs %#v runs_on %#v env %#v", e.Needs, e.RunsOn, e.Env)
		}

		// Stages and Stage read the same rows as Run.
		list, err := s.Stages(ctx, r.ID)
		if err != nil || !reflect.DeepEqual(list, got.Stages) {
			t.Errorf("Stages = %v, %v; want %v", list, err, got.Stages)
		}
		one, err := s.Stage(ctx, got.Stages[2].ID)
		if err != nil || !reflect.DeepEqual(one, got.Stages[2]) {
			t.Errorf("Stage = %+v, %v; want %+v", one, err, got.Stages[2])
		}
		j, err := s.Job(ctx, gu.ID)
		if err != nil || j.Name != "unit" || j.Attempts == nil || len(j.Attempts) != 0 {
			t.Errorf("Job(unit) = %+v, %v; want unit with no attempts", j, err)
		}
	})
}

func TestMissingRunsStagesAndJobsAreNotFound(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		const missing = 999999
		_, err := s.Run(ctx, missing)
		wantErr(t, "Run", err, lathe.ErrNotFound)
		_, err = s.Stages(ctx, missing)
		wantErr(t, "Stages", err, lathe.ErrNotFound)
		_, err = s.Stage(ctx, missing)
		wantErr(t, "Stage", err, lathe.ErrNotFound)
		_, err = s.Job(ctx, missing)
		wantErr(t, "Job", err, lathe.ErrNotFound)
		_, err = s.Attempt(ctx, missing)
		wantErr(t, "Attempt", err, lathe.ErrNotFound)
		wantErr(t, "CancelRun", s.CancelRun(ctx, missing), lathe.ErrNotFound)
		wantErr(t, "CancelJob", s.CancelJob(ctx, missing), lathe.ErrNotFound)
	})
}

// A run is created whole or not at all: a bad job leaves no run and uses no number.
func TestCreateRunWithAJobInAnUndeclaredStageStoresNothing(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		p := mustProject(t, s, "web")
		bad := &lathe.Run{ProjectID: p.ID, Pipeline: "ci", Ref: "refs/heads/main", Branch: "main", Commit: "c", Event: "push"}
		err := s.CreateRun(t.Context(), store.NewRun{Run: bad, Stages: []string{"build"}, Jobs: []*lathe.Job{job("ship", "deploy")}})
		wantErr(t, "job in undeclared stage", err, lathe.ErrInvalid)
		runs, err := s.Runs(t.Context(), store.RunFilter{ProjectID: p.ID, Limit: 10})
		if err != nil || len(runs.Items) != 0 {
			t.Errorf("runs after a refused create = %v, %v; want none", runs.Items, err)
		}
		if r := mustRun(t, s, p.ID, "ci", []string{"build"}, job("compile", "build")); r.Number != 1 {
			t.Errorf("first stored run is #%d, want #1", r.Number)
		}
	})
}

func TestRunsFilterAndPage(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		web, api := mustProject(t, s, "web"), mustProject(t, s, "api")
		a := mustAgent(t, s, "a1")
		create := func(p *lathe.Project, pipeline, branch string) int64 {
			return mustCreateRun(t, s, &lathe.Run{ProjectID: p.ID, Pipeline: pipeline, Branch: branch, Commit: "c-" + branch},
				[]string{"build"}, job("compile", "build")).ID
		}
		// Oldest first; r1 succeeds, r2 is canceled, the rest stay queued.
		r1 := create(web, "ci", "main")
		finish(t, s, a, mustClaim(t, s, a), lathe.StatusSuccess)
		r2 := create(web, "ci", "feature")
		if err := s.CancelRun(ctx, r2); err != nil {
			t.Fatal(err)
		}
		r3 := create(web, "nightly", "main")
		r4 := create(api, "ci", "main")
		r5 := create(web, "ci", "main")
		r6 := mustCreateRun(t, s, &lathe.Run{ProjectID: api.ID, Pipeline: "release", Ref: "refs/tags/v1", Commit: "c-v1", Event: "tag"},
			[]string{"build"}, job("compile", "build")).ID

		for _, tc := range []struct {
			name   string
			filter store.RunFilter
			want   []int64
		}{
			{"all", store.RunFilter{}, []int64{r6, r5, r4, r3, r2, r1}},
			{"project", store.RunFilter{ProjectID: web.ID}, []int64{r5, r3, r2, r1}},
			{"pipeline", store.RunFilter{ProjectID: web.ID, Pipeline: "ci"}, []int64{r5, r2, r1}},
			{"pipeline across projects", store.RunFilter{Pipeline: "ci"}, []int64{r5, r4, r2, r1}},
			{"branch", store.RunFilter{Branch: "main"}, []int64{r5, r4, r3, r1}},
			{"full ref", store.RunFilter{Ref: "refs/heads/feature"}, []int64{r2}},
			{"short branch ref", store.RunFilter{Ref: "feature"}, []int64{r2}},
			{"short tag ref", store.RunFilter{Ref: "v1"}, []int64{r6}},
			{"commit", store.RunFilter{Commit: "c-main"}, []int64{r5, r4, r3, r1}},
			{"status queued", store.RunFilter{Status: lathe.StatusQueued}, []int64{r6, r5, r4, r3}},
			{"status success", store.RunFilter{Status: lathe.StatusSuccess}, []int64{r1}},
			{"status canceled", store.RunFilter{ProjectID: web.ID, Status: lathe.StatusCanceled}, []int64{r2}},
			{"everything at once", store.RunFilter{ProjectID: web.ID, Pipeline: "ci", Branch: "main", Status: lathe.StatusQueued}, []int64{r5}},
			{"nothing matches", store.RunFilter{Branch: "gone"}, []int64{}},
		} {
			var got []int64
			pages := 0
			for before := int64(0); ; {
				f := tc.filter
				f.Before, f.Limit = before, 2
				pg, err := s.Runs(ctx, f)
				if err != nil {
					t.Fatalf("%s: %v", tc.name, err)
				}
				if len(pg.Items) > 2 {
					t.Fatalf("%s: page of %d items with limit 2", tc.name, len(pg.Items))
				}
				for _, r := range pg.Items {
					got = append(got, r.ID)
				}
				pages++
				if before = next(pg); before == 0 {
					break
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("%s: runs %v, want %v", tc.name, got, tc.want)
			}
			if wantPages := max(1, (len(tc.want)+1)/2); pages != wantPages {
				t.Errorf("%s: %d pages, want %d", tc.name, pages, wantPages)
			}
		}
	})
}

// A caller that forgets the limit (RunFilter's zero value) gets an error, not a panic.
func TestRunsRefusesALimitBelowOne(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		p := mustProject(t, s, "web")
		mustRun(t, s, p.ID, "ci", []string{"build"}, job("compile", "build"))
		for _, limit := range []int{0, -1} {
			_, err := noPanic(func() (lathe.Page[*lathe.Run], error) {
				return s.Runs(t.Context(), store.RunFilter{ProjectID: p.ID, Limit: limit})
			})
			wantErr(t, fmt.Sprintf("Runs limit %d", limit), err, lathe.ErrInvalid)
		}
	})
}
