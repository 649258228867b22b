package pipeline

import (
	"reflect"
	"testing"
)

func TestParseFileConcurrency(t *testing.T) {
	for _, tt := range []struct {
		name string
		src  string
		want *Concurrency
	}{
		{"absent", "jobs:\n  deploy: {steps: [x]}\n", nil},
		{"short form holds the group alone", "jobs:\n  deploy:\n    concurrency: deploy-prod\n    steps: [x]\n",
			&Concurrency{Group: "deploy-prod", Limit: 1}},
		{"long form with a limit", "jobs:\n  deploy:\n    concurrency: {group: deploy-prod, limit: 2}\n    steps: [x]\n",
			&Concurrency{Group: "deploy-prod", Limit: 2}},
		{"long form without a limit is limit 1", "jobs:\n  deploy:\n    concurrency:\n      group: db\n    steps: [x]\n",
			&Concurrency{Group: "db", Limit: 1}},
		{"quoted limit", "jobs:\n  deploy:\n    concurrency: {group: db, limit: \"3\"}\n    steps: [x]\n",
			&Concurrency{Group: "db", Limit: 3}},
		{"limit at the bound", "jobs:\n  deploy:\n    concurrency: {group: db, limit: 10000}\n    steps: [x]\n",
			&Concurrency{Group: "db", Limit: MaxConcurrencyLimit}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := mustParse(t, ".lathe.yml", tt.src)
			if got := p.Job("deploy").Concurrency; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Concurrency = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseFileErrorsConcurrency(t *testing.T) {
	runErrorCases(t, []errorCase{{
		name: "limit zero",
		src:  "jobs:\n  deploy:\n    concurrency: {group: prod, limit: 0}\n    steps: [x]\n",
		want: []wantErr{{line: 3, col: 39, field: "jobs.deploy.concurrency.limit", msg: "must be at least 1"}},
	}, {
		name: "negative limit",
		src:  "jobs:\n  deploy:\n    concurrency:\n      group: prod\n      limit: -2\n    steps: [x]\n",
		want: []wantErr{{line: 5, col: 14, field: "jobs.deploy.concurrency.limit", msg: "must be at least 1"}},
	}, {
		name: "limit too large",
		src:  "jobs:\n  deploy:\n    concurrency:\n      group: prod\n      limit: 99999999999999999999999\n    steps: [x]\n",
		want: []wantErr{{line: 5, col: 14, field: "jobs.deploy.concurrency.limit", msg: "must be at most 10000"}},
	}, {
		name: "fractional limit",
		src:  "jobs:\n  deploy:\n    concurrency:\n      group: prod\n      limit: 1.5\n    steps: [x]\n",
		want: []wantErr{{line: 5, col: 14, field: "jobs.deploy.concurrency.limit", msg: `must be a whole number of jobs, at least 1, not "1.5"`}},
	}, {
		name: "limit that is a list",
		src:  "jobs:\n  deploy:\n    concurrency:\n      group: prod\n      limit: [1]\n    steps: [x]\n",
		want: []wantErr{{line: 5, col: 14, field: "jobs.deploy.concurrency.limit", msg: "not a list"}},
	}, {
		name: "invalid group name in the short form",
		src:  "jobs:\n  deploy:\n    concurrency: deploy prod\n    steps: [x]\n",
		want: []wantErr{{line: 3, col: 18, field: "jobs.deploy.concurrency", msg: `"deploy prod" is not a valid group name`}},
	}, {
		name: "invalid group name in the long form",
		src:  "jobs:\n  deploy:\n    concurrency:\n      group: a/b\n    steps: [x]\n",
		want: []wantErr{{line: 4, col: 14, field: "jobs.deploy.concurrency.group", msg: `"a/b" is not a valid group name`}},
	}, {
		name: "group that is not a string",
		src:  "jobs:\n  deploy:\n    concurrency: {group: [a]}\n    steps: [x]\n",
		want: []wantErr{{line: 3, col: 26, field: "jobs.deploy.concurrency.group", msg: "must be a group name, not a list"}},
	}, {
		name: "missing group",
		src:  "jobs:\n  deploy:\n    concurrency:\n      limit: 2\n    steps: [x]\n",
		want: []wantErr{{line: 4, col: 7, field: "jobs.deploy.concurrency.group", msg: "missing; name the semaphore"}},
	}, {
		name: "a number alone",
		src:  "jobs:\n  deploy:\n    concurrency: 2\n    steps: [x]\n",
		want: []wantErr{{line: 3, col: 18, field: "jobs.deploy.concurrency", msg: "write {group: NAME, limit: 2}"}},
	}, {
		name: "empty",
		src:  "jobs:\n  deploy:\n    concurrency:\n    steps: [x]\n",
		want: []wantErr{{line: 3, col: 17, field: "jobs.deploy.concurrency", msg: "must be a group name, or a map like {group: deploy, limit: 2}, not empty"}},
	}, {
		name: "unknown key with a suggestion",
		src:  "jobs:\n  deploy:\n    concurrency: {group: prod, limt: 2}\n    steps: [x]\n",
		want: []wantErr{{line: 3, col: 32, field: "jobs.deploy.concurrency.limt", msg: `unknown key "limt" (did you mean "limit"?)`}},
	}, {
		name: "misspelt key suggests concurrency",
		src:  "jobs:\n  deploy:\n    concurency: prod\n    steps: [x]\n",
		want: []wantErr{{line: 3, col: 5, field: "jobs.deploy.concurency", msg: `unknown key "concurency" (did you mean "concurrency"?)`}},
	}})
}
