package pipeline

import (
	"strings"
	"testing"
)

func TestParseFileErrorsConditions(t *testing.T) {
	runErrorCases(t, []errorCase{{
		name: "expression syntax error points into the expression",
		src:  "jobs:\n  a:\n    steps: [x]\n    if: branch = \"main\"\n",
		want: []wantErr{{line: 4, col: 16, field: "jobs.a.if", msg: "'=' alone is not an operator; write == to compare or =~ to match a glob"}},
	}, {
		name: "quoted expression",
		src:  "jobs:\n  a:\n    steps: [x]\n    if: 'branch == main && tag ==='\n",
		want: []wantErr{{line: 4, col: 34, field: "jobs.a.if", msg: "'=' alone is not an operator"}},
	}, {
		name: "unknown variable with a suggestion",
		src:  "jobs:\n  a: {steps: [x], if: brnch == \"main\"}\n",
		want: []wantErr{{line: 2, col: 23, field: "jobs.a.if", msg: `unknown variable "brnch" (did you mean "branch"?)`}},
	}, {
		name: "unknown parameter",
		src:  "parameters: {target: {}}\njobs:\n  a: {steps: [x], if: params.traget == \"x\"}\n",
		want: []wantErr{{line: 3, col: 23, field: "jobs.a.if", msg: `unknown parameter "traget" (did you mean "target"?)`}},
	}, {
		name: "matrix variable without a matrix",
		src:  "jobs:\n  a: {steps: [x], when: {if: matrix.os == linux}}\n",
		want: []wantErr{
			{line: 2, col: 30, field: "jobs.a.when.if", msg: "matrix.os cannot be used in job a, which has no matrix"},
			{line: 2, col: 43, field: "jobs.a.when.if", msg: `unknown variable "linux"`},
		},
	}, {
		name: "unknown matrix axis",
		src:  "jobs:\n  a: {steps: [x], matrix: {os: [l]}, if: matrix.oss == \"l\"}\n",
		want: []wantErr{{line: 2, col: 42, field: "jobs.a.if", msg: `unknown matrix axis "oss" (did you mean "os"?)`}},
	}, {
		name: "needs naming one expansion of a matrix job",
		src:  "jobs:\n  m: {steps: [x], matrix: {x: [1, 2]}}\n  b: {steps: [x], needs: [\"m (x=1)\"]}\n",
		want: []wantErr{{line: 3, col: 27, field: "jobs.b.needs", msg: `unknown job "m (x=1)": needs names a job as written ("m"), and waits for every expansion of its matrix`}},
	}, {
		name: "family name alone",
		src:  "when: {if: params}\njobs: {a: {steps: [x]}}\n",
		want: []wantErr{{line: 1, col: 12, field: "when.if", msg: "params is a family of variables; name one, as in params.NAME"}},
	}, {
		name: "block scalar gives the column in the message",
		src:  "jobs:\n  a:\n    steps: [x]\n    if: >\n      branch == \"main\" &&\n      exec(\"x\")\n",
		want: []wantErr{{line: 4, col: 9, field: "jobs.a.if", msg: `in the expression at column 21: unknown function "exec"`}},
	}, {
		name: "if twice",
		src:  "jobs:\n  a: {steps: [x], if: \"true\", when: {if: \"false\"}}\n",
		want: []wantErr{{line: 2, col: 23, field: "jobs.a.if", msg: "the job also has when.if"}},
	}, {
		name: "when keys and values",
		src:  "jobs:\n  a:\n    steps: [x]\n    when:\n      branch: main\n      events: [push, merge]\n      paths: [\"src/[\"]\n",
		want: []wantErr{
			{line: 5, col: 7, field: "jobs.a.when.branch", msg: `unknown key "branch" (did you mean "branches"?)`},
			{line: 6, col: 22, field: "jobs.a.when.events", msg: `unknown event "merge"; events are push, pull_request, tag, schedule, manual, webhook, pipeline`},
			{line: 7, col: 15, field: "jobs.a.when.paths", msg: `"src/[" is not a valid glob`},
		},
	}, {
		name: "when not a map",
		src:  "jobs: {a: {steps: [x], when: main}}\n",
		want: []wantErr{{line: 1, col: 30, field: "jobs.a.when", msg: "must be a map with keys such as branches"}},
	}})
}

func TestParseFileErrorsMatrix(t *testing.T) {
	runErrorCases(t, []errorCase{{
		name: "axis errors",
		src:  "jobs:\n  a:\n    steps: [x]\n    matrix:\n      os: linux\n      go: []\n      1x: [a]\n      arch: [a, a, [b]]\n",
		want: []wantErr{
			{line: 5, col: 11, field: "jobs.a.matrix.os", msg: "must be a list of values such as [linux, darwin], not a string"},
			{line: 6, col: 11, field: "jobs.a.matrix.go", msg: "must list at least one value"},
			{line: 7, col: 7, field: "jobs.a.matrix.1x", msg: `"1x" is not a valid matrix axis name`},
			{line: 8, col: 17, field: "jobs.a.matrix.arch", msg: `duplicate value "a"`},
			{line: 8, col: 20, field: "jobs.a.matrix.arch", msg: "must be a single value"},
		},
	}, {
		name: "clashing env names",
		src:  "jobs:\n  a: {steps: [x], matrix: {go-ver: [a], go_ver: [b]}}\n",
		want: []wantErr{{line: 2, col: 41, field: "jobs.a.matrix.go_ver", msg: `axes "go-ver" and "go_ver" would both be the variable MATRIX_GO_VER`}},
	}, {
		name: "exclude and include",
		src:  "jobs:\n  a:\n    steps: [x]\n    matrix:\n      os: [linux]\n      exclude: [{oss: linux}, {os: windows}, x]\n      include: [{}, {os: [a]}]\n",
		want: []wantErr{
			{line: 6, col: 18, field: "jobs.a.matrix.exclude[0].oss", msg: `unknown axis "oss" (did you mean "os"?)`},
			{line: 6, col: 36, field: "jobs.a.matrix.exclude[1].os", msg: `"windows" is not a value of axis os [linux]`},
			{line: 6, col: 46, field: "jobs.a.matrix.exclude[2]", msg: "must be a map"},
			{line: 7, col: 17, field: "jobs.a.matrix.include[0]", msg: "is empty"},
			{line: 7, col: 26, field: "jobs.a.matrix.include[1].os", msg: "must be a single value"},
		},
	}, {
		name: "exclude everything",
		src:  "jobs:\n  a: {steps: [x], matrix: {os: [l], exclude: [{os: l}]}}\n",
		want: []wantErr{{line: 2, col: 27, field: "jobs.a.matrix", msg: "exclude leaves no combination"}},
	}, {
		name: "empty matrix",
		src:  "jobs:\n  a: {steps: [x], matrix: {}}\n",
		want: []wantErr{{line: 2, col: 27, field: "jobs.a.matrix", msg: "must have at least one axis"}},
	}, {
		name: "one matrix too large",
		src:  "jobs:\n  a: {steps: [x], matrix: {a: " + list(11) + ", b: " + list(11) + ", c: " + list(11) + "}}\n",
		want: []wantErr{{line: 2, col: 27, field: "jobs.a.matrix", msg: "matrix has more than 1000 combinations"}},
	}, {
		name: "matrices together too large",
		src:  "jobs:\n  a: {steps: [x], matrix: {a: " + list(30) + ", b: " + list(30) + "}}\n  b: {steps: [x], matrix: {a: " + list(30) + ", b: " + list(30) + "}}\n",
		want: []wantErr{{line: 2, col: 3, field: "jobs", msg: "the jobs expand to more than 1000 (matrices included)"}},
	}})
}

// list is a YAML flow list of n distinct values.
func list(n int) string {
	vals := make([]string, n)
	for i := range vals {
		vals[i] = string(rune('a'+i%26)) + strings.Repeat("x", i/26)
	}
	return "[" + strings.Join(vals, ", ") + "]"
}

func TestParseFileErrorsParams(t *testing.T) {
	runErrorCases(t, []errorCase{{
		name: "parameter errors",
		src: `parameters:
  1st: {}
  kind: {type: text}
  n: {type: number, default: many}
  b: {type: boolean, default: maybe}
  c: {type: choice, choices: [a, a], default: z}
  d: {type: choice}
  e: {choices: [a]}
  f: {required: true, default: x}
  g: {descripton: x}
  h: [x]
jobs: {a: {steps: [x]}}
`,
		want: []wantErr{
			{line: 2, col: 3, field: "parameters.1st", msg: `"1st" is not a valid parameter name`},
			{line: 3, col: 16, field: "parameters.kind.type", msg: `unknown type "text"; use one of string, number, boolean, choice`},
			{line: 4, col: 30, field: "parameters.n.default", msg: `"many" is not a number (the parameter's type is number)`},
			{line: 5, col: 31, field: "parameters.b.default", msg: `"maybe" is not true or false`},
			{line: 6, col: 34, field: "parameters.c.choices", msg: `duplicate choice "a"`},
			{line: 6, col: 47, field: "parameters.c.default", msg: `"z" is not one of a`},
			{line: 7, col: 13, field: "parameters.d.choices", msg: "missing; a choice parameter needs a list of choices"},
			{line: 8, col: 16, field: "parameters.e.choices", msg: "only a parameter of type choice has choices"},
			{line: 9, col: 32, field: "parameters.f.default", msg: "a required parameter has no default"},
			{line: 10, col: 7, field: "parameters.g.descripton", msg: `unknown key "descripton" (did you mean "description"?)`},
			{line: 11, col: 6, field: "parameters.h", msg: "must be a map such as {type: string, default: x}"},
		},
	}, {
		name: "clashing parameter env names",
		src:  "parameters: {dry-run: {}, dry_run: {}}\njobs: {a: {steps: [x]}}\n",
		want: []wantErr{{line: 1, col: 27, field: "parameters.dry_run", msg: "would both be the variable PARAM_DRY_RUN"}},
	}})
}

func TestParseFileErrorsTriggers(t *testing.T) {
	runErrorCases(t, []errorCase{{
		name: "trigger errors",
		src: `name: ci
on:
  push: {branch: [main], tags: ["[x"]}
  tag: {}
  schedule: [{cron: "0 3 * *"}, {cron: "61 * * * *"}, {branch: main}, {cron: "@daily", when: x}]
  pipeline: {after: [ci, "bad name"]}
  manual: {x: 1}
  webhook: false
jobs: {a: {steps: [x]}}
`,
		want: []wantErr{
			{line: 3, col: 10, field: "on.push.branch", msg: `unknown key "branch" (did you mean "branches"?)`},
			{line: 3, col: 33, field: "on.push.tags", msg: `"[x" is not a valid glob`},
			{line: 4, col: 3, field: "on.tag", msg: "tags are pushes: write `push: {tags: [\"v*\"]}`"},
			{line: 5, col: 21, field: "on.schedule[0].cron", msg: `"0 3 * *" is not a valid schedule (expected exactly 5 fields, found 4: [0 3 * *])`},
			{line: 5, col: 40, field: "on.schedule[1].cron", msg: `"61 * * * *" is not a valid schedule (end of range (61) above maximum (59): 61)`},
			{line: 5, col: 55, field: "on.schedule[2].cron", msg: "missing; a schedule needs a cron line"},
			{line: 5, col: 88, field: "on.schedule[3].when", msg: `unknown key "when"`},
			{line: 6, col: 22, field: "on.pipeline.after", msg: "a pipeline cannot start after itself"},
			{line: 6, col: 26, field: "on.pipeline.after", msg: `"bad name" is not a valid pipeline name`},
			{line: 7, col: 11, field: "on.manual", msg: "takes no settings: write `manual: {}`, or leave manual out of on: for no manual runs"},
			{line: 8, col: 12, field: "on.webhook", msg: "takes no settings: write `webhook: {}`, or leave webhook out of on: for no webhook runs"},
		},
	}, {
		name: "trigger list needing settings",
		src:  "on: [push, schedule, merge]\njobs: {a: {steps: [x]}}\n",
		want: []wantErr{
			{line: 1, col: 12, field: "on", msg: "schedule needs settings; write `on:` as a map"},
			{line: 1, col: 22, field: "on.merge", msg: `unknown key "merge"`},
		},
	}, {
		name: "pipeline trigger without after",
		src:  "on: {pipeline: {}}\njobs: {a: {steps: [x]}}\n",
		want: []wantErr{{line: 1, col: 16, field: "on.pipeline.after", msg: "missing; name the pipelines"}},
	}})
}

func TestParseFileErrorsJobFields(t *testing.T) {
	runErrorCases(t, []errorCase{{
		name: "retry",
		src:  "jobs:\n  a: {steps: [x], retry: 11}\n  b: {steps: [x], retry: {on: [failure, oom, failure]}}\n  c: {steps: [x], retry: [1]}\n",
		want: []wantErr{
			{line: 2, col: 26, field: "jobs.a.retry", msg: "must be a whole number from 0 to 10"},
			{line: 3, col: 26, field: "jobs.b.retry.count", msg: "missing; say how many times to retry"},
			{line: 3, col: 41, field: "jobs.b.retry.on", msg: `unknown failure "oom"; use failure, infrastructure, timeout`},
			{line: 3, col: 46, field: "jobs.b.retry.on", msg: `duplicate entry "failure"`},
			{line: 4, col: 26, field: "jobs.c.retry", msg: "must be a number of retries or {count, on}"},
		},
	}, {
		name: "artifacts and reports",
		src:  "jobs:\n  a:\n    steps: [x]\n    artifacts: {paths: [\"../x\", /etc], expire_in: 400d, when: sometimes}\n    reports: {junit: [\"a\"], xunit: []}\n  b: {steps: [x], artifacts: {expire_in: soon}, allow_failure: yes}\n",
		want: []wantErr{
			{line: 4, col: 24, field: "jobs.a.artifacts.paths", msg: `"../x" leaves the workspace`},
			{line: 4, col: 24, field: "jobs.a.artifacts.paths", msg: `"/etc" leaves the workspace`},
			{line: 4, col: 51, field: "jobs.a.artifacts.expire_in", msg: "must be at most 365d"},
			{line: 4, col: 63, field: "jobs.a.artifacts.when", msg: `unknown value "sometimes"; use on_success, on_failure, always`},
			{line: 5, col: 29, field: "jobs.a.reports.xunit", msg: `unknown key "xunit" (did you mean "junit"?)`},
			{line: 6, col: 30, field: "jobs.b.artifacts.paths", msg: "missing; list the files to keep"},
			{line: 6, col: 42, field: "jobs.b.artifacts.expire_in", msg: `must be a duration such as 12h, 7d or 2w; "soon" is not one`},
			{line: 6, col: 64, field: "jobs.b.allow_failure", msg: "must be true or false, not a string"},
		},
	}, {
		name: "environment, approval and secrets",
		src:  "jobs:\n  a:\n    steps: [x]\n    environment: {name: prod env, url: \"ftp://x\"}\n    approval: {from: [\"two words\"], mesage: x}\n    secrets: [A, 1B, A]\n  b: {steps: [x], environment: {url: \"https://x\"}, approval: [x]}\n",
		want: []wantErr{
			{line: 4, col: 25, field: "jobs.a.environment.name", msg: "must be an environment name"},
			{line: 4, col: 40, field: "jobs.a.environment.url", msg: "must be an http:// or https:// URL"},
			{line: 5, col: 23, field: "jobs.a.approval.from", msg: `"two words" is not a user or team name`},
			{line: 5, col: 37, field: "jobs.a.approval.mesage", msg: `unknown key "mesage" (did you mean "message"?)`},
			{line: 6, col: 18, field: "jobs.a.secrets", msg: `"1B" is not a valid secret name`},
			{line: 6, col: 22, field: "jobs.a.secrets", msg: `duplicate secret "A"`},
			{line: 7, col: 32, field: "jobs.b.environment.name", msg: "missing; name the environment"},
			{line: 7, col: 62, field: "jobs.b.approval", msg: "must be true or a map"},
		},
	}, {
		name: "actions",
		src:  "jobs:\n  a:\n    steps:\n      - checkout: {depth: -1, ref: x}\n      - upload: {name: dist}\n      - download: x\n      - {run: make, checkout: {}}\n      - upload: {paths: [a]}\n      - download: {name: \"..\"}\n",
		want: []wantErr{
			{line: 4, col: 27, field: "jobs.a.steps[0].checkout.depth", msg: "must be a whole number of commits"},
			{line: 4, col: 31, field: "jobs.a.steps[0].checkout.ref", msg: `unknown key "ref"; expected one of: depth`},
			{line: 5, col: 17, field: "jobs.a.steps[1].upload.paths", msg: "missing; list the files to upload"},
			{line: 6, col: 19, field: "jobs.a.steps[2].download", msg: "must be a map of settings (name), not a string"},
			{line: 7, col: 21, field: "jobs.a.steps[3].checkout", msg: "a step does one thing"},
			{line: 8, col: 17, field: "jobs.a.steps[4].upload.name", msg: "missing; name the files so a later job can download them"},
			{line: 9, col: 26, field: "jobs.a.steps[5].download.name", msg: `must be a name for the files (use 1 to 100 ASCII letters, digits, '.', '_' or '-', other than . and ..): upload name "..": must not contain '..'`},
		},
	}})
}

func TestParseFileErrorsExtends(t *testing.T) {
	runErrorCases(t, []errorCase{{
		name: "unknown parent and cycle",
		src:  "templates:\n  t: {extends: u, runs-on: x}\n  u: {extends: t}\njobs:\n  a: {extends: tt, steps: [x]}\n  b: {extends: b, steps: [x]}\n",
		want: []wantErr{
			{line: 3, col: 16, field: "templates.u.extends", msg: "cycle in extends: t -> u -> t"},
			{line: 5, col: 16, field: "jobs.a.extends", msg: `unknown job or template "tt" (did you mean "t"?)`},
			{line: 6, col: 16, field: "jobs.b.extends", msg: "a job cannot extend itself"},
		},
	}, {
		name: "errors in a template are reported once, where written",
		src:  "templates:\n  t: {timeout: soon, stepz: [x]}\njobs:\n  a: {extends: t, steps: [x]}\n  b: {extends: t, steps: [x]}\n",
		want: []wantErr{
			{line: 2, col: 16, field: "templates.t.timeout", msg: "must be a duration"},
			{line: 2, col: 22, field: "templates.t.stepz", msg: `unknown key "stepz" (did you mean "steps"?)`},
		},
	}, {
		name: "errors in inherited steps and stage are reported at the template",
		src:  "stages: [a]\ntemplates:\n  t: {stage: b, steps: [{}]}\njobs:\n  x: {extends: t}\n  y: {extends: t}\n",
		want: []wantErr{
			{line: 3, col: 14, field: "templates.t.stage", msg: `stage "b" is not declared in stages [a]`},
			{line: 3, col: 25, field: "templates.t.steps[0].run", msg: "missing; a step needs a command"},
		},
	}, {
		name: "inherited fields still need steps",
		src:  "templates:\n  t: {runs-on: x}\njobs:\n  a: {extends: t}\n",
		want: []wantErr{{line: 4, col: 3, field: "jobs.a.steps", msg: "missing; every job needs a list of steps"}},
	}, {
		name: "template extending a job",
		src:  "templates:\n  t: {extends: a}\njobs:\n  a: {steps: [x]}\n",
		want: []wantErr{{line: 2, col: 16, field: "templates.t.extends", msg: `a template can only extend other templates, and "a" is a job`}},
	}, {
		name: "template and job of the same name",
		src:  "templates:\n  a: {}\njobs:\n  a: {steps: [x]}\n",
		want: []wantErr{{line: 4, col: 3, field: "jobs.a", msg: `a template is also called "a" (line 2)`}},
	}})
}
