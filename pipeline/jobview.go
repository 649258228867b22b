package pipeline

import (
	"time"

	"github.com/lathe-ci/lathe"
)

// JobView is a job of a plan as the API serves it and the CLI prints it:
// what would be queued, in plain JSON.
type JobView struct {
	Name         string             `json:"name"`
	Base         string             `json:"base"`
	Stage        string             `json:"stage"`
	Deps         []string           `json:"deps"`
	RunsOn       []string           `json:"runs_on"`
	TimeoutSec   int64              `json:"timeout_sec"`
	Env          []lathe.EnvVar     `json:"env"`
	Steps        []lathe.StepDef    `json:"steps"`
	Matrix       []MatrixValue      `json:"matrix"`
	Secrets      []string           `json:"secrets"`
	AllowFailure bool               `json:"allow_failure"`
	RetryCount   int                `json:"retry_count"`
	Environment  string             `json:"environment,omitempty"`
	ApprovalFrom []string           `json:"approval_from,omitempty"`
	Concurrency  *lathe.Concurrency `json:"concurrency,omitempty"`
}

// View returns the job as a JobView, with empty lists rather than nil.
func (j *Job) View() JobView {
	v := JobView{Name: j.Name, Base: j.Base, Stage: j.Stage, Deps: nonNil(j.Deps), RunsOn: nonNil(j.RunsOn),
		TimeoutSec: j.TimeoutSec(), Env: nonNil(j.Env), Steps: nonNil(j.Steps), Matrix: nonNil(j.MatrixValues),
		Secrets: secretNames(j.Secrets), AllowFailure: j.AllowFailure, RetryCount: j.Retry.Count, Concurrency: j.Concurrency}
	if v.Base == "" {
		v.Base = j.Name
	}
	if j.Environment != nil {
		v.Environment = j.Environment.Name
	}
	if j.Approval != nil {
		v.ApprovalFrom = j.Approval.From
	}
	return v
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// TimeoutSec is the job's timeout in whole seconds, as the server stores
// it: rounded up, so no timeout is shortened, or lost as 0.
func (j *Job) TimeoutSec() int64 { return int64(roundTimeout(j.Timeout) / time.Second) }
