package pipeline

import (
	"strings"
	"testing"
)

// errorCase is one file that must fail with exactly the listed errors.
type errorCase struct {
	name string
	file string // defaults to .lathe.yml
	src  string
	want []wantErr
}

// runErrorCases parses each case and checks its errors.
func runErrorCases(t *testing.T, tests []errorCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := tt.file
			if file == "" {
				file = ".lathe.yml"
			}
			p, err := ParseFile(file, []byte(tt.src))
			if p != nil {
				t.Errorf("ParseFile returned a pipeline alongside errors")
			}
			checkErrors(t, err, file, tt.want)
		})
	}
}

func TestParseFileErrorsKeys(t *testing.T) {
	runErrorCases(t, []errorCase{{
		name: "unknown top-level key with a suggestion",
		src:  "job:\n  a: {steps: [x]}\n",
		want: []wantErr{
			{line: 1, col: 1, field: "job", msg: `unknown key "job" (did you mean "jobs"?)`},
			{line: 1, col: 1, field: "jobs", msg: "missing; a pipeline needs a map of jobs"},
		},
	}, {
		name: "unknown top-level key without a suggestion",
		src:  "jobs: {a: {steps: [x]}}\nwhatever: 1\n",
		want: []wantErr{{line: 2, col: 1, field: "whatever", msg: `unknown key "whatever"; expected one of: name, on, parameters, env, stages, when, max-runs, auto_cancel, numbering, templates, jobs`}},
	}, {
		name: "unknown job key",
		src:  "jobs:\n  build:\n    step: [x]\n",
		want: []wantErr{
			{line: 2, col: 3, field: "jobs.build.steps", msg: "missing; every job needs a list of steps"},
			{line: 3, col: 5, field: "jobs.build.step", msg: `unknown key "step" (did you mean "steps"?)`},
		},
	}, {
		name: "unknown job key differing in case",
		src:  "jobs:\n  build:\n    Runs_On: linux\n    steps: [x]\n",
		want: []wantErr{{line: 3, col: 5, field: "jobs.build.Runs_On", msg: `unknown key "Runs_On" (did you mean "runs-on"?)`}},
	}, {
		name: "unknown step key",
		src:  "jobs:\n  a:\n    steps:\n      - nmae: x\n        run: y\n",
		want: []wantErr{{line: 4, col: 9, field: "jobs.a.steps[0].nmae", msg: `unknown key "nmae" (did you mean "name"?)`}},
	}, {
		name: "unquoted command with a colon",
		src:  "jobs:\n  a:\n    steps:\n      - echo result: ok\n",
		want: []wantErr{{line: 4, col: 9, field: "jobs.a.steps[0].echo result", msg: `put the whole command in quotes`}},
	}, {
		name: "duplicate top-level key",
		src:  "jobs: {a: {steps: [x]}}\nname: a\nname: b\n",
		want: []wantErr{{line: 3, col: 1, field: "name", msg: `duplicate key "name" (first defined on line 2)`}},
	}, {
		name: "duplicate job",
		src:  "jobs:\n  a: {steps: [x]}\n  a: {steps: [y]}\n",
		want: []wantErr{{line: 3, col: 3, field: "jobs.a", msg: `duplicate key "a" (first defined on line 2)`}},
	}, {
		name: "duplicate env name",
		src:  "env:\n  A: 1\n  A: 2\njobs: {a: {steps: [x]}}\n",
		want: []wantErr{{line: 3, col: 3, field: "env.A", msg: `duplicate key "A"`}},
	}, {
		name: "key that is not a plain name",
		src:  "jobs: {a: {steps: [x]}}\n? [a, b]\n: c\n",
		want: []wantErr{{line: 2, col: 3, msg: "keys must be plain names, not a list"}},
	}})
}

func TestParseFileErrorsNames(t *testing.T) {
	runErrorCases(t, []errorCase{{
		name: "invalid pipeline name",
		src:  "name: my ci\njobs: {a: {steps: [x]}}\n",
		want: []wantErr{{line: 1, col: 7, field: "name", msg: `"my ci" is not a valid name`}},
	}, {
		name: "pipeline name too long",
		src:  "name: " + strings.Repeat("n", 101) + "\njobs: {a: {steps: [x]}}\n",
		want: []wantErr{{line: 1, col: 7, field: "name", msg: "use 1 to 100 ASCII letters"}},
	}, {
		// A URL or file path holding . or .. as a segment is cleaned: a
		// pipeline named .. would be out of reach of its routes.
		name: "dot names",
		src:  "name: \"..\"\nstages: [\".\"]\njobs:\n  \"..\": {stage: \".\", steps: [x]}\n  \"..x\": {stage: \".\", steps: [x], concurrency: \".\"}\n",
		want: []wantErr{
			{line: 1, col: 7, field: "name", msg: `".." is not a valid name: use 1 to 100 ASCII letters, digits, '.', '_' or '-', other than . and ..`},
			{line: 2, col: 10, field: "stages", msg: `"." is not a valid stage name`},
			{line: 4, col: 3, field: "jobs...", msg: `".." is not a valid job name`},
			{line: 5, col: 48, field: "jobs...x.concurrency", msg: `"." is not a valid group name`},
		},
	}, {
		name: "pipeline name not a string",
		src:  "name: [a]\njobs: {a: {steps: [x]}}\n",
		want: []wantErr{{line: 1, col: 7, field: "name", msg: "must be a name"}},
	}, {
		name: "invalid name derived from the file",
		file: ".lathe/my pipeline.yml",
		src:  "jobs: {a: {steps: [x]}}\n",
		want: []wantErr{{line: 1, col: 1, field: "name", msg: `the name "my pipeline" taken from the file name is not valid`}},
	}, {
		name: "invalid job name",
		src:  "jobs:\n  my job: {steps: [x]}\n",
		want: []wantErr{{line: 2, col: 3, field: "jobs.my job", msg: `"my job" is not a valid job name`}},
	}, {
		name: "invalid env names",
		src:  "env:\n  1X: a\n  A-B: b\njobs: {a: {steps: [x], env: {'': c}}}\n",
		want: []wantErr{
			{line: 2, col: 3, field: "env.1X", msg: `"1X" is not a valid variable name`},
			{line: 3, col: 3, field: "env.A-B", msg: `"A-B" is not a valid variable name`},
			{line: 4, col: 30, field: "jobs.a.env.", msg: `"" is not a valid variable name`},
		},
	}})
}

func TestParseFileErrorsTypes(t *testing.T) {
	runErrorCases(t, []errorCase{{
		name: "jobs is a list",
		src:  "jobs: [a, b]\n",
		want: []wantErr{{line: 1, col: 7, field: "jobs", msg: "must be a map of job names to jobs, not a list"}},
	}, {
		name: "job is a string",
		src:  "jobs:\n  a: make\n",
		want: []wantErr{{line: 2, col: 6, field: "jobs.a", msg: "must be a map with keys such as steps and stage, not a string"}},
	}, {
		name: "steps is a map",
		src:  "jobs:\n  a:\n    steps: {run: x}\n",
		want: []wantErr{{line: 3, col: 12, field: "jobs.a.steps", msg: "must be a list of steps, not a map"}},
	}, {
		name: "steps is a string",
		src:  "jobs:\n  a:\n    steps: make\n",
		want: []wantErr{{line: 3, col: 12, field: "jobs.a.steps", msg: "must be a list"}},
	}, {
		name: "steps is a number or a boolean",
		src:  "jobs:\n  a: {steps: 5}\n  b: {steps: true}\n",
		want: []wantErr{
			{line: 2, col: 14, field: "jobs.a.steps", msg: "must be a list of steps, not a number"},
			{line: 3, col: 14, field: "jobs.b.steps", msg: "must be a list of steps, not true/false"},
		},
	}, {
		name: "step is a list",
		src:  "jobs:\n  a:\n    steps:\n      - [make, test]\n",
		want: []wantErr{{line: 4, col: 9, field: "jobs.a.steps[0]", msg: "must be a command or a map with `run`"}},
	}, {
		name: "run is a list and name is a map",
		src:  "jobs:\n  a:\n    steps:\n      - name: {x: 1}\n        run: [make]\n",
		want: []wantErr{
			{line: 4, col: 15, field: "jobs.a.steps[0].name", msg: "must be a string, not a map"},
			{line: 5, col: 14, field: "jobs.a.steps[0].run", msg: "must be a command string, not a list"},
		},
	}, {
		name: "timeout not a duration",
		src:  "jobs:\n  a:\n    timeout: ten minutes\n    steps: [x]\n",
		want: []wantErr{{line: 3, col: 14, field: "jobs.a.timeout", msg: "must be a duration like 10m or 1h30m, or a number of seconds"}},
	}, {
		name: "timeout without a unit and with a fraction",
		src:  "jobs:\n  a:\n    timeout: 1.5\n    steps: [x]\n",
		want: []wantErr{{line: 3, col: 14, field: "jobs.a.timeout", msg: "must be a duration like 10m"}},
	}, {
		name: "timeout is a list",
		src:  "jobs:\n  a:\n    timeout: [10m]\n    steps: [x]\n",
		want: []wantErr{{line: 3, col: 14, field: "jobs.a.timeout", msg: "must be a duration like 10m or 1h30m, or a number of seconds, not a list"}},
	}, {
		name: "timeout is empty",
		src:  "jobs:\n  a:\n    timeout:\n    steps: [x]\n",
		want: []wantErr{{line: 3, col: 13, field: "jobs.a.timeout", msg: "not empty"}},
	}, {
		name: "timeout zero",
		src:  "jobs:\n  a:\n    timeout: 0s\n    steps: [x]\n",
		want: []wantErr{{line: 3, col: 14, field: "jobs.a.timeout", msg: "must be greater than zero"}},
	}, {
		name: "timeout negative seconds",
		src:  "jobs:\n  a:\n    timeout: -5\n    steps: [x]\n",
		want: []wantErr{{line: 3, col: 14, field: "jobs.a.timeout", msg: "must be greater than zero"}},
	}, {
		name: "timeout huge negative seconds",
		src:  "jobs:\n  a:\n    timeout: -99999999999999999999999\n    steps: [x]\n",
		want: []wantErr{{line: 3, col: 14, field: "jobs.a.timeout", msg: "must be greater than zero"}},
	}, {
		name: "timeout over 72h",
		src:  "jobs:\n  a:\n    timeout: 72h1s\n    steps: [x]\n",
		want: []wantErr{{line: 3, col: 14, field: "jobs.a.timeout", msg: "must be at most 72h"}},
	}, {
		name: "timeout seconds over 72h",
		src:  "jobs:\n  a:\n    timeout: 259201\n    steps: [x]\n",
		want: []wantErr{{line: 3, col: 14, field: "jobs.a.timeout", msg: "must be at most 72h"}},
	}, {
		name: "timeout seconds overflow",
		src:  "jobs:\n  a:\n    timeout: 99999999999999999999999\n    steps: [x]\n",
		want: []wantErr{{line: 3, col: 14, field: "jobs.a.timeout", msg: "must be at most 72h"}},
	}, {
		name: "env is a list",
		src:  "env: [A=1]\njobs: {a: {steps: [x]}}\n",
		want: []wantErr{{line: 1, col: 6, field: "env", msg: "must be a map of NAME: value, not a list"}},
	}, {
		name: "env values are maps or lists",
		src:  "jobs:\n  a:\n    env:\n      A: {b: c}\n      B: [1, 2]\n    steps: [x]\n",
		want: []wantErr{
			{line: 4, col: 10, field: "jobs.a.env.A", msg: "must be a single value (a string, number or true/false), not a map"},
			{line: 5, col: 10, field: "jobs.a.env.B", msg: "must be a single value (a string, number or true/false), not a list"},
		},
	}, {
		name: "runs-on is a map",
		src:  "jobs:\n  a:\n    runs-on: {os: linux}\n    steps: [x]\n",
		want: []wantErr{{line: 3, col: 14, field: "jobs.a.runs-on", msg: "must be an agent label or a list of them, not a map"}},
	}, {
		name: "runs-on entries are a map and an empty string",
		src:  "jobs:\n  a:\n    runs-on: [linux, {os: x}, '']\n    steps: [x]\n",
		want: []wantErr{
			{line: 3, col: 22, field: "jobs.a.runs-on", msg: "must be an agent label, not a map"},
			{line: 3, col: 31, field: "jobs.a.runs-on", msg: "must be an agent label, not an empty string"},
		},
	}, {
		name: "needs is a map",
		src:  "jobs:\n  a:\n    needs: {b: 1}\n    steps: [x]\n  b: {steps: [x]}\n",
		want: []wantErr{{line: 3, col: 12, field: "jobs.a.needs", msg: "must be a job name or a list of them, not a map"}},
	}, {
		name: "needs is empty",
		src:  "jobs:\n  a:\n    needs:\n    steps: [x]\n",
		want: []wantErr{{line: 3, col: 11, field: "jobs.a.needs", msg: "write [] to need nothing"}},
	}, {
		name: "needs entry is a list",
		src:  "jobs:\n  a:\n    needs: [[b]]\n    steps: [x]\n  b: {steps: [x]}\n",
		want: []wantErr{{line: 3, col: 13, field: "jobs.a.needs", msg: "must be a job name, not a list"}},
	}, {
		name: "stages is a string",
		src:  "stages: build\njobs: {a: {steps: [x], stage: build}}\n",
		want: []wantErr{{line: 1, col: 9, field: "stages", msg: "must be a list of stage names like [build, test], not a string"}},
	}, {
		name: "stages entry is a map",
		src:  "stages: [build, {x: 1}]\njobs: {a: {steps: [x], stage: build}}\n",
		want: []wantErr{{line: 1, col: 17, field: "stages", msg: "must be a stage name, not a map"}},
	}})
}

func TestParseFileErrorsMissing(t *testing.T) {
	runErrorCases(t, []errorCase{{
		name: "no jobs key",
		src:  "name: ci\n",
		want: []wantErr{{line: 1, col: 1, field: "jobs", msg: "missing; a pipeline needs a map of jobs to run"}},
	}, {
		name: "empty jobs map",
		src:  "jobs: {}\n",
		want: []wantErr{{line: 1, col: 7, field: "jobs", msg: "must define at least one job"}},
	}, {
		name: "jobs with nothing under it",
		src:  "jobs:\n",
		want: []wantErr{{line: 1, col: 6, field: "jobs", msg: "must define at least one job"}},
	}, {
		name: "job with nothing under it",
		src:  "jobs:\n  a:\n",
		want: []wantErr{{line: 2, col: 3, field: "jobs.a.steps", msg: "missing; every job needs a list of steps"}},
	}, {
		name: "job without steps",
		src:  "jobs:\n  a:\n    runs-on: linux\n",
		want: []wantErr{{line: 2, col: 3, field: "jobs.a.steps", msg: "missing; every job needs a list of steps"}},
	}, {
		name: "empty steps list",
		src:  "jobs:\n  a:\n    steps: []\n",
		want: []wantErr{{line: 3, col: 12, field: "jobs.a.steps", msg: "must be a list with at least one step"}},
	}, {
		name: "steps with nothing under it",
		src:  "jobs:\n  a:\n    steps:\n",
		want: []wantErr{{line: 3, col: 11, field: "jobs.a.steps", msg: "must be a list with at least one step"}},
	}, {
		name: "empty step strings",
		src:  "jobs:\n  a:\n    steps:\n      - ''\n      -\n      - '  '\n",
		want: []wantErr{
			{line: 4, col: 9, field: "jobs.a.steps[0]", msg: "step is empty"},
			{line: 5, col: 8, field: "jobs.a.steps[1]", msg: "step is empty"},
			{line: 6, col: 9, field: "jobs.a.steps[2]", msg: "step is empty"},
		},
	}, {
		name: "step without run",
		src:  "jobs:\n  a:\n    steps:\n      - name: build\n",
		want: []wantErr{{line: 4, col: 9, field: "jobs.a.steps[0].run", msg: "missing; a step needs a command to run"}},
	}, {
		name: "step with empty run",
		src:  "jobs:\n  a:\n    steps:\n      - run: ''\n      - run:\n",
		want: []wantErr{
			{line: 4, col: 14, field: "jobs.a.steps[0].run", msg: "is empty; write the command to run"},
			{line: 5, col: 13, field: "jobs.a.steps[1].run", msg: "is empty; write the command to run"},
		},
	}})
}
