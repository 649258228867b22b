package pipeline

import (
	"testing"
)

func TestParseFileErrorsStages(t *testing.T) {
	runErrorCases(t, []errorCase{{
		name: "stage not declared",
		src:  "stages: [build, test]\njobs:\n  x:\n    stage: tset\n    steps: [y]\n",
		want: []wantErr{{line: 4, col: 12, field: "jobs.x.stage", msg: `stage "tset" is not declared in stages [build test] (did you mean "test"?)`}},
	}, {
		name: "stage used without stages",
		src:  "jobs:\n  x:\n    stage: build\n    steps: [y]\n",
		want: []wantErr{{line: 3, col: 12, field: "jobs.x.stage", msg: "this pipeline declares no stages; add a top-level `stages:` list"}},
	}, {
		name: "stage missing when stages are declared",
		src:  "stages: [build]\njobs:\n  x:\n    steps: [y]\n",
		want: []wantErr{{line: 3, col: 3, field: "jobs.x.stage", msg: "missing; this pipeline declares stages [build]"}},
	}, {
		name: "stage is a list",
		src:  "stages: [build]\njobs:\n  x:\n    stage: [build]\n    steps: [y]\n",
		want: []wantErr{{line: 4, col: 12, field: "jobs.x.stage", msg: "must be a stage name, not a list"}},
	}, {
		name: "duplicate stage",
		src:  "stages: [build, test, build]\njobs: {x: {stage: build, steps: [y]}}\n",
		want: []wantErr{{line: 1, col: 23, field: "stages", msg: `duplicate stage "build"`}},
	}, {
		name: "invalid stage name",
		src:  "stages: [build, 'unit tests']\njobs: {x: {stage: build, steps: [y]}}\n",
		want: []wantErr{{line: 1, col: 17, field: "stages", msg: `"unit tests" is not a valid stage name`}},
	}, {
		name: "empty stages",
		src:  "stages: []\njobs: {x: {steps: [y]}}\n",
		want: []wantErr{{line: 1, col: 9, field: "stages", msg: "must list at least one stage"}},
	}, {
		// A broken stages list would make every job's stage look wrong;
		// only the list itself is reported.
		name: "broken stages do not cascade",
		src:  "stages: [build, {}]\njobs:\n  x: {stage: build, steps: [y]}\n  z: {stage: other, steps: [y]}\n  w: {steps: [y]}\n",
		want: []wantErr{{line: 1, col: 17, field: "stages", msg: "must be a stage name, not a map"}},
	}})
}

func TestParseFileErrorsNeeds(t *testing.T) {
	runErrorCases(t, []errorCase{{
		name: "unknown job",
		src:  "jobs:\n  build: {steps: [x]}\n  test:\n    needs: [biuld]\n    steps: [x]\n",
		want: []wantErr{{line: 4, col: 13, field: "jobs.test.needs", msg: `unknown job "biuld" (did you mean "build"?)`}},
	}, {
		name: "unknown job without a suggestion",
		src:  "jobs:\n  build: {steps: [x]}\n  test:\n    needs: zzz\n    steps: [x]\n",
		want: []wantErr{{line: 4, col: 12, field: "jobs.test.needs", msg: `unknown job "zzz"`}},
	}, {
		name: "needs itself",
		src:  "jobs:\n  test:\n    needs: [test]\n    steps: [x]\n",
		want: []wantErr{{line: 3, col: 13, field: "jobs.test.needs", msg: "a job cannot need itself"}},
	}, {
		name: "needs a job in a later stage",
		src: `stages: [test, deploy]
jobs:
  test:
    stage: test
    needs: [deploy]
    steps: [x]
  deploy:
    stage: deploy
    steps: [x]
`,
		want: []wantErr{{line: 5, col: 13, field: "jobs.test.needs", msg: `needs "deploy", which runs in a later stage`}},
	}, {
		name: "duplicate entry",
		src:  "jobs:\n  lint: {steps: [x]}\n  test:\n    needs: [lint, lint]\n    steps: [x]\n",
		want: []wantErr{{line: 4, col: 19, field: "jobs.test.needs", msg: `duplicate entry "lint"`}},
	}, {
		name: "cycle reported once at its first job",
		src: `jobs:
  c:
    needs: [a]
    steps: [x]
  a:
    needs: [b]
    steps: [x]
  b:
    needs: [c]
    steps: [x]
`,
		want: []wantErr{{line: 2, col: 3, field: "jobs.c.needs", msg: "cycle in needs: c -> a -> b -> c"}},
	}, {
		name: "two cycles and a job outside them",
		src: `jobs:
  free: {needs: [a], steps: [x]}
  a: {needs: [b], steps: [x]}
  b: {needs: [a], steps: [x]}
  p: {needs: [free, q], steps: [x]}
  q: {needs: [r], steps: [x]}
  r: {needs: [p], steps: [x]}
`,
		want: []wantErr{
			{line: 3, col: 3, field: "jobs.a.needs", msg: "cycle in needs: a -> b -> a"},
			{line: 5, col: 3, field: "jobs.p.needs", msg: "cycle in needs: p -> q -> r -> p"},
		},
	}, {
		name: "cycle inside one declared stage",
		src: `stages: [build, test]
jobs:
  a: {stage: build, steps: [x]}
  b: {stage: test, needs: [a, c], steps: [x]}
  c: {stage: test, needs: [b], steps: [x]}
`,
		want: []wantErr{{line: 4, col: 3, field: "jobs.b.needs", msg: "cycle in needs: b -> c -> b"}},
	}})
}

func TestCycles(t *testing.T) {
	tests := []struct {
		name  string
		edges [][]int
		want  [][]int
	}{
		{"no edges", [][]int{{}, {}}, nil},
		{"chain", [][]int{{1}, {2}, {}}, nil},
		{"self loop is ignored", [][]int{{0}}, nil},
		{"pair", [][]int{{1}, {0}}, [][]int{{0, 1}}},
		{"starts at the lowest node", [][]int{{}, {2}, {3}, {1}}, [][]int{{1, 2, 3}}},
		{"follows written order", [][]int{{2, 1}, {0}, {0}}, [][]int{{0, 2}}},
		{"two components", [][]int{{1}, {0}, {3}, {2}}, [][]int{{0, 1}, {2, 3}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := cycles(tt.edges)
			if len(got) != len(tt.want) {
				t.Fatalf("cycles = %v, want %v", got, tt.want)
			}
			for i := range got {
				if len(got[i]) != len(tt.want[i]) {
					t.Fatalf("cycles = %v, want %v", got, tt.want)
				}
				for k := range got[i] {
					if got[i][k] != tt.want[i][k] {
						t.Fatalf("cycles = %v, want %v", got, tt.want)
					}
				}
			}
		})
	}
}

func TestCyclesDeepChain(t *testing.T) {
	// A long chain closing on itself must not exhaust the stack.
	const n = 200_000
	edges := make([][]int, n)
	for i := range edges {
		edges[i] = []int{(i + 1) % n}
	}
	got := cycles(edges)
	if len(got) != 1 || len(got[0]) != n || got[0][0] != 0 {
		t.Fatalf("got %d cycles, first of length %d", len(got), len(got[0]))
	}
}
