package pipeline

import (
	"fmt"
	"testing"

	"github.com/lathe-ci/lathe"
)

func TestParseFileErrorsCaches(t *testing.T) {
	runErrorCases(t, []errorCase{{
		name: "cache without key or paths",
		src:  "jobs:\n  a:\n    cache: [{restore_keys: [go-]}]\n    steps: [x]\n",
		want: []wantErr{
			{line: 3, col: 13, field: "jobs.a.cache[0].key", msg: "missing; a cache is saved and found by its key"},
			{line: 3, col: 13, field: "jobs.a.cache[0].paths", msg: "missing; list the directories to cache"},
		},
	}, {
		name: "bad key templates, prefixes and paths, with their lines",
		src: `jobs:
  a:
    cache:
      - key: "go-{{ env.HOME }}"
        paths: [~/x]
      - key: "go-{{ hashFiles(go.sum) }}"
        paths: [/etc, ../up, "~/a/../b", "~", "~root/x", "dist/*"]
      - key: "has space"
        restore_keys: ["ok-", "bad key"]
        paths: [x]
        ttl: 3
    steps: [x]
`,
		want: []wantErr{
			{line: 4, col: 14, field: "jobs.a.cache[0].key", msg: "`{{ env.HOME }}`: only {{ hashFiles('glob', …) }} may appear in a key"},
			{line: 6, col: 14, field: "jobs.a.cache[1].key", msg: "only {{ hashFiles('glob', …) }} may appear in a key, with quoted globs"},
			{line: 7, col: 17, field: "jobs.a.cache[1].paths", msg: `"/etc" is absolute`},
			{line: 7, col: 23, field: "jobs.a.cache[1].paths", msg: `"../up" must be a clean path`},
			{line: 7, col: 30, field: "jobs.a.cache[1].paths", msg: `"~/a/../b" must be a clean path`},
			{line: 7, col: 42, field: "jobs.a.cache[1].paths", msg: `"~" is the whole home directory`},
			{line: 7, col: 47, field: "jobs.a.cache[1].paths", msg: `"~root/x" names another user's home`},
			{line: 7, col: 58, field: "jobs.a.cache[1].paths", msg: `"dist/*" is a pattern`},
			{line: 8, col: 14, field: "jobs.a.cache[2].key", msg: `' ' is not allowed`},
			{line: 9, col: 31, field: "jobs.a.cache[2].restore_keys", msg: `cache key "bad key"`},
			{line: 11, col: 9, field: "jobs.a.cache[2].ttl", msg: `unknown key "ttl"`},
		},
	}, {
		name: "matrix job uploading one name from every expansion",
		src:  "jobs:\n  b:\n    matrix: {os: [linux, mac]}\n    steps:\n      - upload: {name: bin, paths: [out]}\n      - download: {name: \"x-{{ matrix.arch }}\"}\n",
		want: []wantErr{
			{line: 5, col: 24, field: "jobs.b.steps[0].upload.name", msg: `every expansion of this matrix job would upload "bin"`},
			{line: 6, col: 26, field: "jobs.b.steps[1].download.name", msg: `names matrix.arch, which this job's matrix does not have`},
		},
	}})
}

// A plan puts the cache and artifacts actions around the job's steps, and
// gives each matrix expansion its own upload names.
func TestPlanAddsCacheAndArtifactStepsAndMatrixNames(t *testing.T) {
	p := mustParse(t, ".lathe.yml", `
jobs:
  build:
    matrix: {os: [linux, "mac os"]}
    cache:
      key: "go-{{ hashFiles('go.sum', \"**/*.go\") }}"
      restore_keys: [go-]
      paths: [~/.cache/go-build, vendor]
    steps:
      - go build ./...
      - upload: {name: "bin-{{ matrix.os }}", paths: [bin/**]}
    artifacts: {paths: [bin/**], when: always, expire_in: 2d}
`)
	plan, err := p.Plan(PlanInput{Event: Event{Kind: EventManual, Ref: "refs/heads/main", Branch: "main"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Jobs) != 2 {
		t.Fatalf("jobs = %d", len(plan.Jobs))
	}
	var got []string
	for _, st := range plan.Jobs[1].Steps {
		a := st.Action
		if a == nil {
			got = append(got, "run "+st.Run)
			continue
		}
		got = append(got, fmt.Sprintf("%s %s|%s|%v|%v|%s|%d", st.Name, a.Kind, a.Name+a.Key, a.RestoreKeys, a.Paths, a.When, a.ExpireInSec))
	}
	want := []string{
		`restore cache go-{{ hashFiles('go.sum', "**/*.go") }} cache_restore|go-{{ hashFiles('go.sum', "**/*.go") }}|[go-]|[~/.cache/go-build vendor]||0`,
		"run go build ./...",
		"upload bin-mac-os upload|bin-mac-os|[]|[bin/**]||0",
		"artifacts artifacts||[]|[bin/**]|always|172800",
		`save cache go-{{ hashFiles('go.sum', "**/*.go") }} cache_save|go-{{ hashFiles('go.sum', "**/*.go") }}|[]|[~/.cache/go-build vendor]||0`,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("steps of %s:\n%q\nwant\n%q", plan.Jobs[1].Name, got, want)
	}
	if n := plan.Jobs[0].Steps[2].Action.Name; n != "bin-linux" {
		t.Errorf("linux expansion uploads %q", n)
	}
	// The definition is untouched: plans share it.
	if n := p.Jobs[0].Steps[1].Action.Name; n != "bin-{{ matrix.os }}" {
		t.Errorf("the pipeline's own upload name became %q", n)
	}
	if !plan.Jobs[0].Steps[3].Action.RunsAfterFailure() || plan.Jobs[0].Steps[4].Action.RunsAfterFailure() {
		t.Errorf("artifacts (when: always) must run after a failure, the cache save must not")
	}
	var none *lathe.StepAction
	if none.RunsAfterFailure() || !none.RunsAfterSuccess() {
		t.Errorf("a command step runs only while nothing failed")
	}
}
