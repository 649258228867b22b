package pipeline

import (
	"time"

	"github.com/lathe-ci/lathe"
)

// DefaultStage is the stage every job belongs to when a pipeline declares no
// stages.
const DefaultStage = "default"

// DefaultTimeout bounds a job that sets no timeout.
const DefaultTimeout = 60 * time.Minute

// MaxTimeout is the longest timeout a job may ask for.
const MaxTimeout = 72 * time.Hour

// File is one pipeline file as read from a commit.
type File struct {
	// Path is the file's path in the repository, such as ".lathe.yml" or
	// ".lathe/deploy.yml".
	Path string
	// Data is the file's content.
	Data []byte
}

// Pipeline is one validated pipeline: a set of jobs grouped into ordered
// stages.
type Pipeline struct {
	// Name is the `name:` key, or derived from the file: ".lathe/deploy.yml"
	// is "deploy" and ".lathe.yml" is "main".
	Name string
	// File is the path the pipeline was read from.
	File string
	// Stages lists the stages in declared order; it is [DefaultStage] when
	// the file declares none.
	Stages []string
	// ExternalStages are the stages declared `external: true`, in order: an
	// outside tool sets their status through the API, and the jobs of later
	// stages wait for them (see ExternalDep).
	ExternalStages []string
	// Env is the pipeline-level environment, in file order.
	Env []lathe.EnvVar
	// Jobs lists the jobs in file order, each with the fields it inherits
	// through `extends` filled in, before matrix expansion and conditions;
	// [Pipeline.Plan] applies those.
	Jobs []*Job
	// Params are the declared parameters, in file order.
	Params []*Param
	// Triggers say which events start runs; never nil.
	Triggers *Triggers
	// When holds conditions for the whole pipeline; nil means always.
	When *When
	// MaxRuns is how many runs of the pipeline may be unfinished at once;
	// 0 means no limit.
	MaxRuns int
	// AutoCancel cancels the pipeline's older unfinished runs of a branch
	// (pushes) or of a pull request when a run of a newer commit of it is
	// created (`auto_cancel: true`).
	AutoCancel bool
	// NumberPerBranch numbers the runs of each branch from the branch's own
	// sequence (`numbering: per-branch`).
	NumberPerBranch bool
}

// Job is one job of a pipeline, with its dependencies worked out.
type Job struct {
	// Name is the job's key under `jobs:`.
	Name string
	// Stage is the stage the job runs in.
	Stage string
	// Needs is the `needs:` list as written: nil when the key is absent,
	// empty (not nil) for `needs: []`.
	Needs []string
	// Deps are the jobs this one waits for: Needs when `needs:` is given
	// (so `needs: []` means none), otherwise every job of all earlier
	// stages, in stage order and then file order. Never nil.
	Deps []string
	// RunsOn lists the agent labels the job requires.
	RunsOn []string
	// Timeout bounds one attempt of the job; DefaultTimeout when unset.
	// It is whole seconds, as the server stores it (TimeoutSec): parsing
	// rounds a fraction of a second up, so 500ms is 1s.
	Timeout time.Duration
	// Env is the job's own environment, in file order. The caller applies
	// the pipeline's Env first and lets these override it.
	Env []lathe.EnvVar
	// Steps are the commands to run, in order. A built-in action step has
	// an empty Run and its action in Action.
	Steps []lathe.StepDef
	// Extends names the jobs or templates the job inherits from, as
	// written; their fields are already merged into this one.
	Extends []string
	// Matrix expands the job into one job per combination; nil for none.
	Matrix *Matrix
	// When holds the conditions under which the job runs, including a
	// job-level `if:`; nil means always.
	When *When
	// Retry says when a failed attempt is retried.
	Retry Retry
	// AllowFailure lets the run succeed, and dependents run, when the job
	// fails.
	AllowFailure bool
	// Secrets are the secrets the job receives: stored on the server, or
	// encrypted in the file with the project's public key.
	Secrets []SecretRef
	// Environment marks a deploy job; nil for others.
	Environment *Environment
	// Approval is the gate the job waits at before it runs; nil for none.
	Approval *Approval
	// Artifacts and Reports declare the files the job keeps; nil for none.
	Artifacts *Artifacts
	Reports   *Reports
	// Caches are the job's `cache:` entries; nil for none.
	Caches []Cache
	// Base is the job's name in the file. It differs from Name only in a
	// plan, where a matrix job's expansions are named after their values.
	Base string
	// MatrixValues is the combination of a matrix expansion in a plan; nil
	// elsewhere.
	MatrixValues []MatrixValue
	// Concurrency is the semaphore the job holds while it runs, or nil.
	Concurrency *Concurrency
	// Container runs the job in a container of an image, with services
	// beside it; nil for a job run on the agent's machine.
	Container *lathe.JobContainer
	// Line is the line of the job's key in the file.
	Line int
}

// Job returns the job called name, or nil when there is none.
func (p *Pipeline) Job(name string) *Job {
	for _, j := range p.Jobs {
		if j.Name == name {
			return j
		}
	}
	return nil
}
